/**
 * Runs (training, evaluation, registration jobs) and their per-step metrics: tables `runs` and
 * `run_metrics`. A run records the process that started it, so one left "running" by a process
 * that is gone is marked failed on the next writable open.
 */
import { randomBytes } from 'node:crypto';
import { ModelOpsError } from '../errors';
import { finiteMetrics, json, now, type StoreHandle } from './handle';
import { currentProcess, processAlive } from './processes';
import { validateModelName } from './refs';
import type { ChangeEvent, RunMetricPoint, RunRecord, RunStatus } from './types';

export interface RunRow {
  id: string;
  kind: RunRecord['kind'];
  model: string | null;
  status: RunRecord['status'];
  params: string;
  backend: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  error: string | null;
  version: string | null;
  metrics: string;
  pid?: number | null;
  pid_start?: string | null;
  host?: string | null;
}

type RunOutcome = {
  status: Exclude<RunRecord['status'], 'running'>;
  error?: string | null;
  version?: string | null;
  metrics?: Record<string, number>;
};

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    kind: r.kind,
    model: r.model,
    status: r.status,
    params: json<Record<string, unknown>>(r.params, {}),
    backend: r.backend,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    error: r.error,
    version: r.version,
    metrics: json<Record<string, number>>(r.metrics, {}),
  };
}

export class RunStore {
  constructor(private readonly h: StoreHandle) {}

  createRun(input: {
    kind: RunRecord['kind'];
    model: string | null;
    params: Record<string, unknown>;
    backend?: string | null;
  }): RunRecord {
    if (input.model !== null) validateModelName(input.model);
    const startedAt = now();
    const id = `${startedAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    const proc = currentProcess();
    this.h.write(() => {
      this.h
        .stmt<[string, RunRecord['kind'], string | null, string, string | null, string, number, string | null, string]>(
          `INSERT INTO runs (id, kind, model, status, params, backend, started_at, metrics, pid, pid_start, host) VALUES (?, ?, ?, 'running', ?, ?, ?, '{}', ?, ?, ?)`,
        )
        .run(
          id,
          input.kind,
          input.model,
          JSON.stringify(input.params ?? {}),
          input.backend ?? null,
          startedAt,
          proc.pid,
          proc.start,
          proc.host,
        );
    });
    this.h.emit({ kind: 'runs', ...(input.model ? { model: input.model } : {}) });
    return this.getRun(id);
  }

  appendRunMetrics(runId: string, step: number, metrics: Record<string, number>): void {
    this.h.write(() => {
      this.requireRun(runId);
      this.h
        .stmt<[string, number, string, string]>(
          `INSERT OR REPLACE INTO run_metrics (run_id, step, metrics, at) VALUES (?, ?, ?, ?)`,
        )
        .run(runId, Math.floor(step), JSON.stringify(finiteMetrics(metrics)), now());
    });
  }

  finishRun(runId: string, outcome: RunOutcome): RunRecord {
    const model = this.h.write(() => {
      const run = this.requireRun(runId);
      const finishedAt = now();
      const duration = Date.parse(finishedAt) - Date.parse(run.started_at);
      this.h
        .stmt<[string, string, number, string | null, string | null, string, string]>(
          `UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ?, version = coalesce(?, version), metrics = ? WHERE id = ?`,
        )
        .run(
          outcome.status,
          finishedAt,
          duration,
          outcome.error ?? null,
          outcome.version ?? null,
          JSON.stringify(finiteMetrics(outcome.metrics ?? json(run.metrics, {}))),
          runId,
        );
      return run.model;
    });
    this.h.emit({ kind: 'runs', ...(model ? { model } : {}) });
    return this.getRun(runId);
  }

  /**
   * Records a finished run made in another workspace (a version archive's), with its metric
   * series, in one transaction, naming the version it registered here. A run already here under
   * the same id is left as it is. Returns whether it was added.
   */
  importRun(run: RunRecord, series: readonly RunMetricPoint[], model: string, version: string): boolean {
    validateModelName(model);
    const added = this.h.write(() => {
      if (this.h.stmt<[string]>(`SELECT 1 FROM runs WHERE id = ?`).get(run.id)) return false;
      this.h
        .stmt<
          [
            string,
            RunRecord['kind'],
            string,
            RunStatus,
            string,
            string | null,
            string,
            string | null,
            number | null,
            string | null,
            string,
            string,
          ]
        >(
          `INSERT INTO runs (id, kind, model, status, params, backend, started_at, finished_at, duration_ms, error, version, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          run.id,
          run.kind,
          model,
          run.status,
          JSON.stringify(run.params ?? {}),
          run.backend,
          run.startedAt,
          run.finishedAt,
          run.durationMs,
          run.error,
          version,
          JSON.stringify(finiteMetrics(run.metrics)),
        );
      const insert = this.h.stmt<[string, number, string, string]>(
        `INSERT OR REPLACE INTO run_metrics (run_id, step, metrics, at) VALUES (?, ?, ?, ?)`,
      );
      for (const p of series) insert.run(run.id, Math.floor(p.step), JSON.stringify(finiteMetrics(p.metrics)), p.at);
      return true;
    });
    if (added) this.h.emit({ kind: 'runs', model });
    return added;
  }

  /** Names the version a run registered, unless it already names one (inside the registration's write). */
  linkVersion(runId: string, version: string): void {
    this.h.stmt<[string, string]>(`UPDATE runs SET version = ? WHERE id = ? AND version IS NULL`).run(version, runId);
  }

  /**
   * Runs left "running" by a process that is gone (killed, crashed, or its pid reused by
   * another process) are marked failed. Runs started on another host, or before runs recorded
   * their process, are left alone: there is no telling. Runs on open; the sidecar may call it again.
   */
  markInterruptedRuns(): number {
    if (this.h.readonly || this.h.lostDatabase || this.h.isClosed) return 0;
    const host = currentProcess().host;
    const candidates = this.h.read(() =>
      this.h
        .stmt<[], Pick<RunRow, 'id' | 'pid' | 'pid_start' | 'host'>>(
          `SELECT id, pid, pid_start, host FROM runs WHERE status = 'running' AND pid IS NOT NULL`,
        )
        .all(),
    );
    const gone = candidates.filter(
      (r) =>
        (r.host === null || r.host === undefined || r.host === host) &&
        !processAlive(Number(r.pid), r.pid_start ?? null),
    );
    if (gone.length === 0) return 0;
    let marked = 0;
    const models = this.h.write(() => {
      const finishedAt = now();
      const touched = new Set<string | null>();
      marked = 0;
      const update = this.h.stmt<[string, number, string, string, number | null | undefined, string | null]>(
        `UPDATE runs SET status = 'failed', finished_at = ?, duration_ms = ?, error = ? WHERE id = ? AND status = 'running' AND pid = ? AND pid_start IS ?`,
      );
      const select = this.h.stmt<[string], { started_at: string; model: string | null }>(
        `SELECT started_at, model FROM runs WHERE id = ?`,
      );
      for (const r of gone) {
        const run = select.get(r.id);
        if (!run) continue;
        const info = update.run(
          finishedAt,
          Math.max(0, Date.parse(finishedAt) - Date.parse(run.started_at)),
          `interrupted (process ${r.pid} no longer running)`,
          r.id,
          r.pid,
          r.pid_start ?? null,
        );
        if (info.changes) {
          marked++;
          touched.add(run.model);
        }
      }
      return touched;
    });
    if (models.size)
      this.h.emit(...[...models].map((model): ChangeEvent => ({ kind: 'runs', ...(model ? { model } : {}) })));
    return marked;
  }

  private requireRun(runId: string): RunRow {
    const row = this.h.stmt<[string], RunRow>(`SELECT * FROM runs WHERE id = ?`).get(runId);
    if (!row)
      throw new ModelOpsError(
        'run-not-found',
        `No run '${runId}' in the registry.`,
        'List runs with: modelops runs list.',
      );
    return row;
  }

  getRun(runId: string): RunRecord {
    return this.h.read(() => toRun(this.requireRun(runId)));
  }

  listRuns(query: { model?: string; limit?: number; offset?: number } = {}): RunRecord[] {
    return this.h.read(() => {
      const limit = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 100)));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const rows = query.model
        ? this.h
            .stmt<[string, number, number], RunRow>(
              `SELECT * FROM runs WHERE model = ? ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?`,
            )
            .all(query.model, limit, offset)
        : this.h
            .stmt<[number, number], RunRow>(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?`)
            .all(limit, offset);
      return rows.map(toRun);
    });
  }

  runMetrics(runId: string): RunMetricPoint[] {
    return this.h.read(() => {
      this.requireRun(runId);
      const rows = this.h
        .stmt<[string], { step: number; metrics: string; at: string }>(
          `SELECT step, metrics, at FROM run_metrics WHERE run_id = ? ORDER BY step`,
        )
        .all(runId);
      return rows.map((r) => ({ step: r.step, metrics: json<Record<string, number>>(r.metrics, {}), at: r.at }));
    });
  }
}
