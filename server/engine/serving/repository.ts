/**
 * The versions a model server holds. Each model name has loaded versions, an active one
 * (what `/v2/models/{m}/infer` serves) and the previous active one. Switching is a pointer
 * swap; both versions stay loaded, so a switch and a switch back never drop a request. The
 * state is saved to `<storeDir>/state.json` and restored on start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { Batcher, type BatcherOptions } from './batcher';
import type { Predictor, PredictorLoader, RepositoryEntry } from './types';

export interface LoadedVersion {
  model: string;
  version: string;
  bundleDir: string;
  predictor: Predictor;
  batcher: Batcher;
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

interface SavedState {
  models: Record<string, { active: string | null; previous: string | null; versions: Record<string, { bundleDir: string }> }>;
}

export class ModelRepository {
  private models = new Map<string, ModelSlot>();
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

  /** Loads a version from a bundle directory. Loading the same version again is a no-op. */
  async load(model: string, version: string, bundleDir: string): Promise<LoadedVersion> {
    const slot = this.slot(model);
    const existing = slot.versions.get(version);
    if (existing && !existing.unloading) return existing;
    const pending = slot.loading.get(version);
    if (pending) return pending;
    const p = (async () => {
      const predictor = await this.loader(bundleDir);
      const lv: LoadedVersion = {
        model,
        version,
        bundleDir,
        predictor,
        batcher: new Batcher((rows) => predictor.predict(rows), this.batching),
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
      await this.save();
      return lv;
    } finally {
      slot.loading.delete(version);
    }
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
      throw new ModelOpsError('not-loaded', `Version ${version} of model '${model}' is not loaded on this server.`, 'Load it first.');
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
    if (!slot || !lv) throw new ModelOpsError('not-loaded', `Version ${version} of model '${model}' is not loaded.`, 'List loaded versions with GET /v2/repository/index.');
    if (slot.active === version && slot.versions.size > 1) {
      throw new ModelOpsError('version-serving', `Version ${version} serves model '${model}'; switch to another version before unloading it.`, 'POST /v2/repository/models/{m}/switch first.');
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
      for (const version of slot.versions.keys()) out.push({ name, version, state: 'READY', active: slot.active === version, previous: slot.previous === version });
      for (const version of slot.loading.keys()) if (!slot.versions.has(version)) out.push({ name, version, state: 'LOADING', active: false, previous: false });
    }
    return out.sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name)));
  }

  modelInfo(model: string): { name: string; active: string | null; previous: string | null; versions: string[] } | null {
    const slot = this.models.get(model);
    if (!slot) return null;
    return { name: model, active: slot.active, previous: slot.previous, versions: [...slot.versions.keys()] };
  }

  private statePath(): string {
    return join(this.storeDir, 'state.json');
  }

  private save(): Promise<void> {
    const state: SavedState = { models: {} };
    for (const [name, slot] of this.models) {
      const versions: Record<string, { bundleDir: string }> = {};
      for (const [v, lv] of slot.versions) versions[v] = { bundleDir: lv.bundleDir };
      state.models[name] = { active: slot.active, previous: slot.previous, versions };
    }
    const text = JSON.stringify(state, null, 1);
    this.saving = this.saving.then(async () => {
      await mkdir(this.storeDir, { recursive: true });
      const tmp = `${this.statePath()}.${process.pid}.tmp`;
      await writeFile(tmp, text);
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
      for (const [version, { bundleDir }] of Object.entries(saved.versions ?? {})) {
        try {
          await this.load(name, version, bundleDir);
        } catch (e) {
          log(`could not reload ${name}@${version} from ${bundleDir}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const slot = this.models.get(name);
      if (!slot) continue;
      if (saved.active && slot.versions.has(saved.active)) slot.active = saved.active;
      if (saved.previous && slot.versions.has(saved.previous)) slot.previous = saved.previous;
    }
    await this.save();
  }

  disposeAll(): void {
    for (const slot of this.models.values()) for (const lv of slot.versions.values()) lv.predictor.dispose();
    this.models.clear();
  }
}
