/**
 * The versions a model server holds. Each model name has loaded versions, an active one
 * (what `/v2/models/{m}/infer` serves) and the previous active one. Switching is a pointer
 * swap; both versions stay loaded, so a switch and a switch back never drop a request. The
 * state is saved to `<storeDir>/state.json` and restored on start.
 *
 * Every load records the bundle's digest (the one the workspace store names it by, see
 * digest.ts) and a reload checks the files still hash to it: state.json holds paths, and a
 * path can point at something else by the time the server restarts (a copied workspace, a
 * cache rebuilt by another workspace). A version that fails the check is not loaded; it is
 * listed as UNAVAILABLE with the reason until it is loaded again or unloaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { Batcher, type BatcherOptions } from './batcher';
import { bundleDigest, DIGEST } from './digest';
import type { Prediction } from '../model/types';
import type { Predictor, PredictorLoader, RepositoryEntry } from './types';

/**
 * One infer request's work for the batcher: its rows and, when the model has the numeric path,
 * the matrix its encode step made of them (encoding on arrival checks each request alone, and a
 * batch is then one concatenation and one model call).
 */
export interface InferJob {
  readonly length: number;
  rows: Array<Record<string, unknown>>;
  x: Float32Array | null;
}

/** Makes a request's job; the model's refusal of a value (a ModelOpsError naming row and column) is thrown here. */
export function inferJob(predictor: Predictor, rows: Array<Record<string, unknown>>): InferJob {
  const x =
    predictor.encode && predictor.predictBatch && predictor.decode
      ? predictor.encode(rows, { source: 'request' })
      : null;
  return { length: rows.length, rows, x };
}

function mergeJobs(jobs: InferJob[]): InferJob {
  let length = 0;
  for (const j of jobs) length += j.length;
  if (jobs.every((j) => j.x !== null)) {
    let size = 0;
    for (const j of jobs) size += j.x!.length;
    const x = new Float32Array(size);
    let o = 0;
    for (const j of jobs) {
      x.set(j.x!, o);
      o += j.x!.length;
    }
    return { length, rows: [], x };
  }
  return { length, rows: jobs.flatMap((j) => j.rows), x: null };
}

function runJob(predictor: Predictor): (job: InferJob) => Promise<Prediction[]> {
  const { predictBatch, decode } = predictor;
  return async (job) => {
    if (job.x && predictBatch && decode) return decode(await predictBatch(job.x, job.length), job.length);
    return predictor.predict(job.rows);
  };
}

export interface LoadedVersion {
  model: string;
  version: string;
  bundleDir: string;
  /** What the bundle's files hashed to when it was loaded (`sha256:<hex>`). */
  digest: string;
  predictor: Predictor;
  batcher: Batcher<InferJob>;
  loadedAt: string;
  inflight: number;
  unloading: boolean;
}

interface ModelSlot {
  versions: Map<string, LoadedVersion>;
  loading: Map<string, Promise<LoadedVersion>>;
  active: string | null;
  previous: string | null;
}

interface SavedVersion {
  bundleDir: string;
  /** Absent in state files written before digests were recorded: such a version is not reloaded. */
  digest?: string;
}

interface SavedState {
  models: Record<string, { active: string | null; previous: string | null; versions: Record<string, SavedVersion> }>;
}

interface Unavailable {
  bundleDir: string;
  digest: string | null;
  reason: string;
  /** It served its model before the restart: then no other version silently takes its place. */
  wasActive: boolean;
}

export class ModelRepository {
  private models = new Map<string, ModelSlot>();
  /** Versions a restart could not reload, model → version → why. */
  private unavailable = new Map<string, Map<string, Unavailable>>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly storeDir: string,
    private readonly loader: PredictorLoader,
    private readonly batching: BatcherOptions,
  ) {}

  private slot(model: string): ModelSlot {
    let s = this.models.get(model);
    if (!s) {
      s = { versions: new Map(), loading: new Map(), active: null, previous: null };
      this.models.set(model, s);
    }
    return s;
  }

  /**
   * Loads a version from a bundle directory (or file), checking that it hashes to `expectedDigest`
   * when one is given. Loading the same version again is a no-op.
   */
  async load(
    model: string,
    version: string,
    bundleDir: string,
    expectedDigest?: string | null,
  ): Promise<LoadedVersion> {
    if (expectedDigest != null && !DIGEST.test(expectedDigest)) {
      throw new ModelOpsError(
        'bundle-digest',
        `The digest '${expectedDigest.slice(0, 80)}' given for ${model}@${version} is not of the form sha256:<64 hex digits>.`,
        "Pass the version's artifact digest from the registry.",
      );
    }
    const slot = this.slot(model);
    const existing = slot.versions.get(version);
    if (existing && !existing.unloading) {
      if (expectedDigest != null && existing.digest !== expectedDigest) {
        throw new ModelOpsError(
          'bundle-digest',
          `${model}@${version} is already loaded from ${existing.bundleDir} with digest ${existing.digest}, not ${expectedDigest}.`,
          'Unload that version first, then load it again.',
        );
      }
      return existing;
    }
    const pending = slot.loading.get(version);
    if (pending) return pending;
    const p = (async () => {
      let digest: string;
      try {
        digest = await bundleDigest(bundleDir);
      } catch (e) {
        throw new ModelOpsError(
          'bundle-unreadable',
          `The bundle of ${model}@${version} at ${bundleDir} cannot be read: ${e instanceof Error ? e.message : String(e)}.`,
          'Deploy the version again so the server gets its files.',
        );
      }
      if (expectedDigest != null && digest !== expectedDigest) {
        throw new ModelOpsError(
          'bundle-digest',
          `The bundle of ${model}@${version} at ${bundleDir} hashes to ${digest}, not the expected ${expectedDigest}.`,
          'Its files changed or the path points at another bundle; deploy the version again.',
        );
      }
      const predictor = await this.loader(bundleDir);
      const lv: LoadedVersion = {
        model,
        version,
        bundleDir,
        digest,
        predictor,
        batcher: new Batcher<InferJob>(runJob(predictor), this.batching, mergeJobs),
        loadedAt: new Date().toISOString(),
        inflight: 0,
        unloading: false,
      };
      slot.versions.set(version, lv);
      // The first version of a model serves at once; later ones wait for a switch.
      if (slot.active === null) slot.active = version;
      return lv;
    })();
    slot.loading.set(version, p);
    try {
      const lv = await p;
      this.unavailable.get(model)?.delete(version);
      await this.save();
      return lv;
    } finally {
      slot.loading.delete(version);
      if (slot.versions.size === 0 && slot.loading.size === 0) this.models.delete(model);
    }
  }

  /** Why a version the server held before a restart is not loaded, if it is one. */
  unavailableReason(model: string, version?: string): string | null {
    const m = this.unavailable.get(model);
    if (!m) return null;
    if (version !== undefined) return m.get(version)?.reason ?? null;
    return m.size > 0 ? [...m.entries()].map(([v, u]) => `${v}: ${u.reason}`).join('; ') : null;
  }

  /** The version that serves `model`, or the named one. */
  resolve(model: string, version?: string): LoadedVersion | null {
    const slot = this.models.get(model);
    if (!slot) return null;
    const v = version ?? slot.active;
    if (v === null) return null;
    const lv = slot.versions.get(v);
    return lv && !lv.unloading ? lv : null;
  }

  /** Makes `version` the one `model` serves; returns the version it replaced. */
  async switchTo(model: string, version: string): Promise<{ previous: string | null; active: string }> {
    const slot = this.models.get(model);
    if (!slot || !slot.versions.has(version) || slot.versions.get(version)!.unloading) {
      throw new ModelOpsError(
        'not-loaded',
        `Version ${version} of model '${model}' is not loaded on this server.`,
        'Load it first.',
      );
    }
    const before = slot.active;
    if (before !== version) {
      slot.previous = before;
      slot.active = version;
    }
    await this.save();
    return { previous: before === version ? slot.previous : before, active: version };
  }

  /** Unloads a version that does not serve; it is disposed when its in-flight requests finish. */
  async unload(model: string, version: string): Promise<void> {
    const slot = this.models.get(model);
    const lv = slot?.versions.get(version);
    const gone = this.unavailable.get(model);
    if (gone?.has(version) && !lv) {
      gone.delete(version);
      if (gone.size === 0) this.unavailable.delete(model);
      await this.save();
      return;
    }
    if (!slot || !lv)
      throw new ModelOpsError(
        'not-loaded',
        `Version ${version} of model '${model}' is not loaded.`,
        'List loaded versions with GET /v2/repository/index.',
      );
    if (slot.active === version && slot.versions.size > 1) {
      throw new ModelOpsError(
        'version-serving',
        `Version ${version} serves model '${model}'; switch to another version before unloading it.`,
        'POST /v2/repository/models/{m}/switch first.',
      );
    }
    lv.unloading = true;
    lv.batcher.drain();
    slot.versions.delete(version);
    if (slot.active === version) slot.active = null;
    if (slot.previous === version) slot.previous = null;
    if (slot.versions.size === 0) this.models.delete(model);
    this.release(lv, 0);
    await this.save();
  }

  /** Counts a request in or out; disposes an unloaded version when it drains. */
  release(lv: LoadedVersion, delta: number): void {
    lv.inflight += delta;
    if (lv.unloading && lv.inflight <= 0) {
      // Give the batcher's last call time to settle before the weights go.
      setTimeout(() => lv.predictor.dispose(), 50).unref();
    }
  }

  index(): RepositoryEntry[] {
    const out: RepositoryEntry[] = [];
    for (const [name, slot] of this.models) {
      for (const version of slot.versions.keys())
        out.push({
          name,
          version,
          state: 'READY',
          active: slot.active === version,
          previous: slot.previous === version,
        });
      for (const version of slot.loading.keys())
        if (!slot.versions.has(version)) out.push({ name, version, state: 'LOADING', active: false, previous: false });
    }
    for (const [name, versions] of this.unavailable) {
      for (const [version, u] of versions) {
        if (!this.models.get(name)?.versions.has(version))
          out.push({ name, version, state: 'UNAVAILABLE', active: false, previous: false, reason: u.reason });
      }
    }
    return out.sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name)));
  }

  modelInfo(
    model: string,
  ): { name: string; active: string | null; previous: string | null; versions: string[] } | null {
    const slot = this.models.get(model);
    if (!slot) return null;
    return { name: model, active: slot.active, previous: slot.previous, versions: [...slot.versions.keys()] };
  }

  private activeUnavailable(model: string): string | null {
    for (const [v, u] of this.unavailable.get(model) ?? []) if (u.wasActive) return v;
    return null;
  }

  private statePath(): string {
    return join(this.storeDir, 'state.json');
  }

  private save(): Promise<void> {
    const state: SavedState = { models: {} };
    for (const [name, slot] of this.models) {
      const versions: Record<string, SavedVersion> = {};
      for (const [v, lv] of slot.versions) versions[v] = { bundleDir: lv.bundleDir, digest: lv.digest };
      state.models[name] = { active: slot.active ?? this.activeUnavailable(name), previous: slot.previous, versions };
    }
    // Versions that failed to reload stay in the state, so the next restart reports them again.
    for (const [name, gone] of this.unavailable) {
      const entry = (state.models[name] ??= { active: this.activeUnavailable(name), previous: null, versions: {} });
      for (const [v, u] of gone)
        entry.versions[v] ??= { bundleDir: u.bundleDir, ...(u.digest ? { digest: u.digest } : {}) };
    }
    const text = JSON.stringify(state, null, 1);
    this.saving = this.saving.then(async () => {
      await mkdir(this.storeDir, { recursive: true, mode: 0o700 });
      const tmp = `${this.statePath()}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.statePath());
    });
    return this.saving;
  }

  /** Reloads what a previous run of the server held. Versions that fail to load are reported, not fatal. */
  async restore(log: (m: string) => void): Promise<void> {
    if (!existsSync(this.statePath())) return;
    let state: SavedState;
    try {
      state = JSON.parse(readFileSync(this.statePath(), 'utf8')) as SavedState;
    } catch {
      log(`ignoring unreadable ${this.statePath()}`);
      return;
    }
    for (const [name, saved] of Object.entries(state.models ?? {})) {
      for (const [version, { bundleDir, digest }] of Object.entries(saved.versions ?? {})) {
        const fail = (reason: string) => {
          log(`not reloading ${name}@${version} from ${bundleDir}: ${reason}`);
          let m = this.unavailable.get(name);
          if (!m) this.unavailable.set(name, (m = new Map()));
          m.set(version, {
            bundleDir,
            digest: typeof digest === 'string' ? digest : null,
            reason,
            wasActive: saved.active === version,
          });
        };
        if (typeof bundleDir !== 'string') continue;
        if (typeof digest !== 'string' || !DIGEST.test(digest)) {
          fail(`${this.statePath()} records no digest for it, so its files cannot be checked; deploy it again`);
          continue;
        }
        try {
          await this.load(name, version, bundleDir, digest);
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e));
        }
      }
      const slot = this.models.get(name);
      if (!slot) continue;
      // An active version that failed its check leaves the model without one (not ready), rather
      // than letting whichever version loaded first serve in its place.
      slot.active =
        saved.active && slot.versions.has(saved.active)
          ? saved.active
          : this.activeUnavailable(name)
            ? null
            : slot.active;
      if (saved.previous && slot.versions.has(saved.previous)) slot.previous = saved.previous;
    }
    await this.save();
  }

  disposeAll(): void {
    for (const slot of this.models.values()) for (const lv of slot.versions.values()) lv.predictor.dispose();
    this.models.clear();
  }
}
