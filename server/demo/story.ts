/**
 * How the demo tells its story on a terminal: one line per stage with its outcome and time,
 * progress bars for long steps (redrawn in place on a TTY, throttled lines otherwise), and a
 * summary table at the end.
 */
import { paint, progressBar, table } from '../cli/output';

export interface StageResult {
  stage: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export class Story {
  private readonly results: StageResult[] = [];
  private readonly c: ReturnType<typeof paint>;
  private lastBarAt = 0;
  private barOpen = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly isTTY = Boolean(process.stdout.isTTY),
  ) {
    this.c = paint(isTTY);
  }

  title(text: string): void {
    this.line(this.c.bold(text));
  }

  /** Runs one stage; a thrown error fails the stage and stops the demo. */
  async stage<T>(name: string, run: () => Promise<{ value: T; detail: string }>): Promise<T> {
    const n = this.results.length + 1;
    this.line(`\n${this.c.cyan(`[${n}]`)} ${this.c.bold(name)}`);
    const t0 = performance.now();
    try {
      const { value, detail } = await run();
      const ms = performance.now() - t0;
      this.endBar();
      this.results.push({ stage: name, ok: true, detail, ms });
      this.line(`    ${this.c.green('✔')} ${detail} ${this.c.dim(`(${formatMs(ms)})`)}`);
      return value;
    } catch (e) {
      const ms = performance.now() - t0;
      this.endBar();
      const detail = e instanceof Error ? e.message : String(e);
      this.results.push({ stage: name, ok: false, detail, ms });
      this.line(`    ${this.c.red('✘')} ${detail}`);
      throw new DemoStageFailed(name, detail);
    }
  }

  /** An indented line inside the current stage. */
  say(text: string): void {
    this.endBar();
    this.line(`    ${text}`);
  }

  warn(text: string): void {
    this.say(this.c.yellow(text));
  }

  /** A progress bar inside the current stage. */
  progress(fraction: number, label: string): void {
    const text = `    ${progressBar(fraction)} ${label}`;
    if (this.isTTY) {
      this.out.write(`\r\x1b[2K${text}`);
      this.barOpen = true;
      return;
    }
    const now = Date.now();
    if (fraction >= 1 || now - this.lastBarAt > 2000) {
      this.lastBarAt = now;
      this.line(text);
    }
  }

  summary(): StageResult[] {
    this.endBar();
    const rows = this.results.map((r, i) => [
      String(i + 1),
      r.stage,
      r.ok ? this.c.green('ok') : this.c.red('FAILED'),
      formatMs(r.ms),
      r.detail.length > 90 ? r.detail.slice(0, 87) + '…' : r.detail,
    ]);
    this.line('\n' + table(['#', 'stage', 'result', 'time', 'detail'], rows));
    return this.results;
  }

  private endBar(): void {
    if (this.barOpen) {
      this.out.write('\n');
      this.barOpen = false;
    }
  }

  private line(text: string): void {
    this.out.write(text + '\n');
  }
}

export class DemoStageFailed extends Error {
  constructor(
    readonly stage: string,
    detail: string,
  ) {
    super(`${stage}: ${detail}`);
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
