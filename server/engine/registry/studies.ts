/**
 * Hyperparameter studies and their trials in the registry (tables `studies`, `study_trials`,
 * migration 6): the registry's part `registry.studies`, on the registry's own connection, so
 * its writes take the registry's write lock and checks. `new StudyStore(storeDir)` still opens
 * a connection of its own, for when no registry is open (tests, tools).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ModelOpsError } from '../errors';
import type { TuneDirection } from '../config/types';
import { plainAccess, type StoreAccess } from './handle';

export type StudyStatus = 'running' | 'completed' | 'cancelled' | 'failed';
export type TrialStatus = 'running' | 'completed' | 'pruned' | 'failed' | 'cancelled';

export interface StudyRecord {
  id: string;
  model: string | null;
  status: StudyStatus;
  sampler: string;
  metric: string;
  direction: TuneDirection;
  /** Canonical JSON of the search space. */
  space: string;
  /** The rest of the tune block (seed, pruner, budget, parallel, tpe), as JSON. */
  settings: Record<string, unknown>;
  configPath: string | null;
  configDigest: string | null;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  registeredVersion: string | null;
}

export interface TrialRecord {
  studyId: string;
  number: number;
  status: TrialStatus;
  params: Record<string, number | string>;
  value: number | null;
  /** The objective per epoch (index 0 = epoch 1). */
  intermediate: Array<number | null>;
  epochs: number;
  runId: string | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface StudyRow {
  id: string;
  model: string | null;
  status: StudyStatus;
  sampler: string;
  metric: string;
  direction: TuneDirection;
  space: string;
  settings: string;
  config_path: string | null;
  config_digest: string | null;
  created_at: string;
  finished_at: string | null;
  error: string | null;
  registered_version: string | null;
}

interface TrialRow {
  study_id: string;
  number: number;
  status: TrialStatus;
  params: string;
  value: number | null;
  intermediate: string;
  epochs: number;
  run_id: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

const now = () => new Date().toISOString();

function toStudy(r: StudyRow): StudyRecord {
  return {
    id: r.id,
    model: r.model,
    status: r.status,
    sampler: r.sampler,
    metric: r.metric,
    direction: r.direction,
    space: r.space,
    settings: JSON.parse(r.settings) as Record<string, unknown>,
    configPath: r.config_path,
    configDigest: r.config_digest,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    error: r.error,
    registeredVersion: r.registered_version,
  };
}

function toTrial(r: TrialRow): TrialRecord {
  return {
    studyId: r.study_id,
    number: r.number,
    status: r.status,
    params: JSON.parse(r.params) as Record<string, number | string>,
    value: r.value,
    intermediate: JSON.parse(r.intermediate) as Array<number | null>,
    epochs: r.epochs,
    runId: r.run_id,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

const finite = (v: number | null | undefined): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;

/** What a study needs of a registry: its studies part (an opened `WorkspaceRegistry` has one). */
export interface WithStudies {
  readonly studies: StudyStore;
}

export class StudyStore {
  private readonly store: StoreAccess;
  /** Set when this store opened its own connection (and so closes it). */
  private readonly own: Database.Database | null;

  /**
   * `source`: the registry's handle (what `registry.studies` is built on), or the workspace's
   * `.modelops` folder, already opened and migrated by `openRegistry`, to open a connection of
   * its own while no registry is open.
   */
  constructor(source: StoreAccess | string, options: { readonly?: boolean } = {}) {
    if (typeof source !== 'string') {
      this.store = source;
      this.own = null;
      return;
    }
    const path = join(source, 'registry.db');
    if (!existsSync(path))
      throw new ModelOpsError(
        'study-not-found',
        `No registry at ${path}.`,
        'Run modelops tune (or modelops train) in the workspace first.',
      );
    const db = new Database(path, { readonly: options.readonly === true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'studies'`).get();
    if (!has) {
      db.close();
      throw new ModelOpsError(
        'registry-outdated',
        `${path} has no studies table (an older schema).`,
        'Open the workspace once for writing (e.g. modelops tune) to upgrade it.',
      );
    }
    this.own = db;
    this.store = plainAccess(db, path, options.readonly === true);
  }

  /** Closes the connection this store opened itself; on the registry's handle, nothing (the registry closes it). */
  close(): void {
    if (this.own?.open) this.own.close();
  }

  createStudy(
    input: Omit<StudyRecord, 'id' | 'status' | 'createdAt' | 'finishedAt' | 'error' | 'registeredVersion'>,
  ): StudyRecord {
    const createdAt = now();
    const id = `study-${createdAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    this.store.write(() =>
      this.store
        .stmt<
          [string, string | null, string, string, TuneDirection, string, string, string | null, string | null, string]
        >(
          `INSERT INTO studies (id, model, status, sampler, metric, direction, space, settings, config_path, config_digest, created_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.model,
          input.sampler,
          input.metric,
          input.direction,
          input.space,
          JSON.stringify(input.settings),
          input.configPath,
          input.configDigest,
          createdAt,
        ),
    );
    return this.getStudy(id);
  }

  /** A study by id, or `latest` (the newest). */
  getStudy(ref: string): StudyRecord {
    const row = this.store.read(() =>
      ref === 'latest'
        ? this.store.stmt<[], StudyRow>(`SELECT * FROM studies ORDER BY created_at DESC, rowid DESC LIMIT 1`).get()
        : this.store.stmt<[string], StudyRow>(`SELECT * FROM studies WHERE id = ?`).get(ref),
    );
    if (!row)
      throw new ModelOpsError(
        'study-not-found',
        `No study '${ref}' in the registry.`,
        'List studies with: modelops tune list.',
      );
    return toStudy(row);
  }

  listStudies(): StudyRecord[] {
    return this.store
      .read(() => this.store.stmt<[], StudyRow>(`SELECT * FROM studies ORDER BY created_at DESC, rowid DESC`).all())
      .map(toStudy);
  }

  setStudyStatus(id: string, status: StudyStatus, error: string | null = null): void {
    this.store.write(() =>
      this.store
        .stmt<[StudyStatus, string | null, string | null, string]>(
          `UPDATE studies SET status = ?, error = ?, finished_at = ? WHERE id = ?`,
        )
        .run(status, error, status === 'running' ? null : now(), id),
    );
  }

  setRegistered(id: string, version: string): void {
    this.store.write(() =>
      this.store.stmt<[string, string]>(`UPDATE studies SET registered_version = ? WHERE id = ?`).run(version, id),
    );
  }

  startTrial(studyId: string, number: number, params: Record<string, number | string>): TrialRecord {
    this.store.write(() =>
      this.store
        .stmt<[string, number, string, string]>(
          `INSERT INTO study_trials (study_id, number, status, params, started_at) VALUES (?, ?, 'running', ?, ?)`,
        )
        .run(studyId, number, JSON.stringify(params), now()),
    );
    return this.getTrial(studyId, number);
  }

  setTrialRun(studyId: string, number: number, runId: string): void {
    this.store.write(() =>
      this.store
        .stmt<[string, string, number]>(`UPDATE study_trials SET run_id = ? WHERE study_id = ? AND number = ?`)
        .run(runId, studyId, number),
    );
  }

  /** Records the objective at an epoch (1-based). */
  reportEpoch(studyId: string, number: number, epoch: number, value: number | null): void {
    // Read and written under one write lock, so two epochs reported at once do not lose one.
    this.store.write(() => {
      const t = this.getTrial(studyId, number);
      const curve = [...t.intermediate];
      while (curve.length < epoch) curve.push(null);
      curve[epoch - 1] = finite(value);
      this.store
        .stmt<[string, number, string, number]>(
          `UPDATE study_trials SET intermediate = ?, epochs = ? WHERE study_id = ? AND number = ?`,
        )
        .run(JSON.stringify(curve), Math.max(t.epochs, epoch), studyId, number);
    });
  }

  finishTrial(
    studyId: string,
    number: number,
    outcome: { status: Exclude<TrialStatus, 'running'>; value?: number | null; error?: string | null },
  ): TrialRecord {
    this.store.write(() =>
      this.store
        .stmt<[TrialStatus, number | null, string | null, string, string, number]>(
          `UPDATE study_trials SET status = ?, value = ?, error = ?, finished_at = ? WHERE study_id = ? AND number = ?`,
        )
        .run(outcome.status, finite(outcome.value), outcome.error ?? null, now(), studyId, number),
    );
    return this.getTrial(studyId, number);
  }

  /** Trials left "running" by a process that stopped (resume): marked cancelled. */
  cancelRunningTrials(studyId: string): number {
    return this.store.write(
      () =>
        this.store
          .stmt<[string, string]>(
            `UPDATE study_trials SET status = 'cancelled', finished_at = ?, error = coalesce(error, 'the study stopped while it ran') WHERE study_id = ? AND status = 'running'`,
          )
          .run(now(), studyId).changes,
    );
  }

  getTrial(studyId: string, number: number): TrialRecord {
    const row = this.store.read(() =>
      this.store
        .stmt<[string, number], TrialRow>(`SELECT * FROM study_trials WHERE study_id = ? AND number = ?`)
        .get(studyId, number),
    );
    if (!row)
      throw new ModelOpsError(
        'study-not-found',
        `Study '${studyId}' has no trial ${number}.`,
        `See its trials with: modelops tune show ${studyId}.`,
      );
    return toTrial(row);
  }

  trials(studyId: string): TrialRecord[] {
    return this.store
      .read(() =>
        this.store
          .stmt<[string], TrialRow>(`SELECT * FROM study_trials WHERE study_id = ? ORDER BY number`)
          .all(studyId),
      )
      .map(toTrial);
  }

  /**
   * Names the study and trial in the params of the run that trained a registered version, so
   * the version's lineage (version → run → params) leads back to them.
   */
  linkRun(runId: string, studyId: string, trial: number): void {
    this.store.write(() =>
      this.store
        .stmt<[string, number, string]>(
          `UPDATE runs SET params = json_set(params, '$.study', ?, '$.trial', ?) WHERE id = ?`,
        )
        .run(studyId, trial, runId),
    );
  }
}
