/**
 * Long requests as the editor shows them: a work-done progress (the notification with a bar) and,
 * for those that can stop part way, the request's cancellation turned into an AbortSignal the
 * engine checks. One place, so every long request begins, reports and ends its progress the same way.
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import { formatBytes } from '../../shared/format';
import type { ServerContext } from './context';

export interface WorkDone {
  /** Aborted when the client cancels the request (never, for a job that cannot be cancelled). */
  readonly signal: AbortSignal;
  /** `fraction` of the work done (0–1; clamped; NaN counts as 0), with what is happening now. */
  report(fraction: number, message: string): void;
  /** The same, for work measured in bytes: "1.2 MiB of 4.0 MiB". */
  bytes(done: number, total: number): void;
}

export interface WorkDoneOptions {
  title: string;
  /** The request's work-done token (the client's progress notification). */
  workDoneToken: string | number | undefined;
  /** The request's cancellation; null: the job cannot be cancelled (no Cancel button). */
  cancel: CancellationToken | null;
  /** The first message. */
  message?: string;
  /** Whether the job reports how far it is; false shows a bar without a percentage. */
  measured?: boolean;
}

const ratio = (done: number, total: number): number => (total > 0 ? done / total : 0);

export async function withWorkDone<T>(
  ctx: ServerContext,
  options: WorkDoneOptions,
  job: (work: WorkDone) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const sub = options.cancel?.onCancellationRequested(() => controller.abort());
  const progress = ctx.connection.window.attachWorkDoneProgress(options.workDoneToken);
  progress.begin(options.title, options.measured === false ? undefined : 0, options.message, options.cancel !== null);
  const report = (fraction: number, message: string): void =>
    progress.report(Math.round(Math.min(1, Math.max(0, fraction || 0)) * 100), message);
  try {
    return await job({
      signal: controller.signal,
      report,
      bytes: (done, total) => report(ratio(done, total), `${formatBytes(done)} of ${formatBytes(total)}`),
    });
  } finally {
    sub?.dispose();
    progress.done();
  }
}
