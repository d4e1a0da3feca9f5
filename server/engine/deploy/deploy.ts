/**
 * Deploy a registered version to a target with named steps — package → load → ready →
 * smoke test → switch → record — and roll back by itself when a step fails: the version
 * that served before keeps serving throughout. `rollback` switches back on demand.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelOpsConfig, TargetConfig } from '../config/types';
import { describeError, ModelOpsError } from '../errors';
import type { DeploymentRecord, Registry } from '../registry/types';
import type { Prediction } from '../model/types';
import { predictionsFromResponse, rowsToInferRequest } from '../serving/v2';
import type { Predictor, RepositoryEntry } from '../serving/types';
import { envName, ModelServerClient } from './client';
import { ensureLocalServer, localToken, readServerRecord, type ServeCommand } from './localServer';
import { comparePredictions, smokeRows } from './smoke';

export const DEPLOY_STEPS = ['package', 'load', 'ready', 'smoke test', 'switch', 'record'] as const;
export type DeployStepName = (typeof DEPLOY_STEPS)[number] | 'rollback';

export interface StepEvent {
  step: DeployStepName;
  /** 0-based position in DEPLOY_STEPS (rollback: after the failed step). */
  index: number;
  total: number;
  status: 'running' | 'ok' | 'failed';
  detail: string;
  ms: number;
}

export type TokenFor = (target: string, config: TargetConfig) => string | null | undefined | Promise<string | null | undefined>;

export interface TargetAccess {
  registry: Registry;
  config: ModelOpsConfig;
  /** The endpoint token of a target: SecretStorage in the editor, MODELOPS_TOKEN_<NAME> in the CLI. */
  tokenFor: TokenFor;
  /** How to start `modelops serve` for local targets (default: dist/cli.js with this Node). */
  serveCommand?: ServeCommand;
  /** Per-call HTTP timeout (default 15 s). */
  timeoutMs?: number;
}

export interface DeployOptions extends TargetAccess {
  /** "model@1.2.0" or "model@production". */
  ref: string;
  target: string;
  /** Ship despite failing gates to a protected target; recorded with the deployment. */
  overrideReason?: string;
  onStep?: (e: StepEvent) => void;
  /** Directory that data paths in the config are relative to (default: the workspace root). */
  configDir?: string;
  /** How a bundle is loaded for local predictions (default: loadModelBundle). */
  loader?: (dir: string) => Promise<Predictor>;
  /** How long to wait for the version to report ready (default 30 s). */
  readyTimeoutMs?: number;
}

export interface DeployResult {
  deployment: DeploymentRecord;
  url: string;
}

export function targetConfig(config: ModelOpsConfig, target: string): TargetConfig {
  const t = config.deploy?.targets?.[target];
  if (!t) {
    const known = Object.keys(config.deploy?.targets ?? {});
    throw new ModelOpsError(
      'unknown-target',
      `Target '${target}' is not in deploy.targets of modelops.yaml${known.length ? ` (configured: ${known.join(', ')})` : ''}.`,
      'Add it under deploy.targets, e.g. local: { type: local, port: 8765 }.',
    );
  }
  return t;
}

/** Connects to a target; for `local`, finds or starts the server process. */
export async function connectTarget(access: TargetAccess, target: string, opts: { start: boolean } = { start: true }): Promise<ModelServerClient | null> {
  const t = targetConfig(access.config, target);
  const token = (await access.tokenFor(target, t)) ?? null;
  if (t.type === 'local') {
    const tok = token ?? localToken(access.registry.storeDir, target);
    if (!opts.start) {
      const rec = readServerRecord(access.registry.storeDir, target);
      return rec ? new ModelServerClient({ target, url: rec.url, token: tok, timeoutMs: access.timeoutMs }) : null;
    }
    const { url } = await ensureLocalServer({ storeDir: access.registry.storeDir, target, host: t.host, port: t.port, token: tok, command: access.serveCommand });
    return new ModelServerClient({ target, url, token: tok, timeoutMs: access.timeoutMs });
  }
  if (!t.url) throw new ModelOpsError('target-url', `Target '${target}' has type http but no url.`, `Set deploy.targets.${target}.url.`);
  if (!token) {
    throw new ModelOpsError(
      'no-token',
      `No token for target '${target}'.`,
      `Run "ModelOps: Set Endpoint Token" in the editor, or set MODELOPS_TOKEN_${envName(t.tokenSecret ?? target)} for the CLI.`,
    );
  }
  return new ModelServerClient({ target, url: t.url, token, timeoutMs: access.timeoutMs });
}

const defaultLoader = async (dir: string): Promise<Predictor> => (await import('../model/bundle')).loadModelBundle(dir);

async function bundleFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const f of ['model.json', 'weights.bin', 'modelops.json']) files[f] = (await readFile(join(dir, f))).toString('base64');
  return files;
}

export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const { registry, config, target } = options;
  const t = targetConfig(config, target);
  const version = registry.getVersion(options.ref);
  const model = version.model;
  const ref = `${model}@${version.version}`;

  // Gates block protected targets unless a reason to override is given.
  const gatesPassed = version.gates?.passed === true;
  if (t.requireApproval && !gatesPassed && !options.overrideReason?.trim()) {
    const failing = version.gates?.results.filter((r) => !r.passed).map((r) => r.message) ?? [];
    throw new ModelOpsError(
      'gates-failed',
      version.gates ? `${ref} fails its gates (${failing.join('; ')}); target '${target}' requires approval.` : `${ref} has no gate results; target '${target}' requires approval.`,
      'Evaluate the version and fix the gates, or deploy with an override reason (--override-reason "…"), which is recorded.',
    );
  }

  const steps: DeploymentRecord['steps'] = [];
  const emit = options.onStep ?? (() => undefined);
  let current: DeployStepName = 'package';
  let stepStart = Date.now();
  const begin = (step: DeployStepName) => {
    current = step;
    stepStart = Date.now();
    emit({ step, index: DEPLOY_STEPS.indexOf(step as (typeof DEPLOY_STEPS)[number]), total: DEPLOY_STEPS.length, status: 'running', detail: '', ms: 0 });
  };
  const done = (detail: string) => {
    const ms = Date.now() - stepStart;
    steps.push({ step: current, ok: true, detail, ms });
    emit({ step: current, index: DEPLOY_STEPS.indexOf(current as (typeof DEPLOY_STEPS)[number]), total: DEPLOY_STEPS.length, status: 'ok', detail, ms });
  };

  let client: ModelServerClient | null = null;
  let local: Predictor | null = null;
  let previous: string | null = null;
  let wasLoaded = false;
  let loaded = false;
  let switched = false;
  try {
    begin('package');
    const bundleDir = await registry.artifactPath(ref);
    local = await (options.loader ?? defaultLoader)(bundleDir);
    const source = t.type === 'local' ? { path: bundleDir } : { files: await bundleFiles(bundleDir) };
    done(`${ref} (${local.manifest.task}, ${local.manifest.features.length} features)${version.gates && !gatesPassed ? `; gates overridden: ${options.overrideReason}` : ''}`);

    begin('load');
    client = await connectTarget(options, target);
    if (!client) throw new ModelOpsError('target-down', `Target '${target}' is not running.`, 'Start it and try again.');
    const info = await client.modelInfo(model);
    previous = info?.active ?? null;
    wasLoaded = info?.versions.includes(version.version) ?? false;
    await client.load(model, version.version, source);
    loaded = true;
    done(`${wasLoaded ? 'already loaded on' : 'loaded on'} ${client.url}${previous ? `; ${previous} serves until the switch` : ''}`);

    begin('ready');
    const readyBy = Date.now() + (options.readyTimeoutMs ?? 30_000);
    while (!(await client.versionReady(model, version.version))) {
      if (Date.now() > readyBy) throw new ModelOpsError('not-ready', `${ref} did not become ready on target '${target}' at ${client.url}.`, 'See the endpoint log.');
      await sleep(100);
    }
    done('ready');

    begin('smoke test');
    const rows = await smokeRows(config, options.configDir ?? registry.root, local.manifest, t.smokeTest?.rows ?? 50);
    if (rows.length === 0) throw new ModelOpsError('smoke-no-rows', `No usable validation rows for the smoke test of ${ref}.`, 'Check data.validation / data.train in modelops.yaml.');
    const expected: Prediction[] = await local.predict(rows);
    const response = await client.infer(model, version.version, { ...rowsToInferRequest(local.manifest, rows), parameters: { modelops_log: false } });
    const cmp = comparePredictions(expected, predictionsFromResponse(response), t.smokeTest?.tolerance ?? 1e-6);
    if (cmp.matched !== cmp.total) {
      throw new ModelOpsError('smoke-mismatch', `Smoke test: ${cmp.matched}/${cmp.total} endpoint predictions matched local ones (tolerance ${t.smokeTest?.tolerance ?? 1e-6}); ${cmp.firstMismatch}.`, 'The endpoint does not serve what was registered; check its version and preprocessing.');
    }
    done(`${cmp.matched}/${cmp.total} matched (max |Δ| ${cmp.maxDelta.toExponential(1)})`);

    begin('switch');
    const sw = await client.switchTo(model, version.version);
    switched = true;
    previous = sw.previous ?? previous;
    done(previous && previous !== version.version ? `${previous} → ${version.version} (${previous} stays loaded)` : `${version.version} serves`);

    begin('record');
    steps.push({ step: 'record', ok: true, detail: 'recorded', ms: 0 });
    const deployment = registry.recordDeployment({
      target,
      model,
      version: version.version,
      status: 'active',
      previousVersion: previous === version.version ? null : previous,
      steps,
      reason: options.overrideReason?.trim() || null,
    });
    if (version.gates && !gatesPassed && options.overrideReason?.trim()) {
      // The override travels with the version's gate report too, where promotion looks.
      try {
        registry.recordGates(ref, { ...version.gates, override: { reason: options.overrideReason.trim(), at: new Date().toISOString() } });
      } catch {
        /* the deployment record already holds the reason */
      }
    }
    emit({ step: 'record', index: 5, total: DEPLOY_STEPS.length, status: 'ok', detail: `deployment #${deployment.id}`, ms: Date.now() - stepStart });
    return { deployment, url: client.url };
  } catch (e) {
    const failedStep = current;
    const detail = describeError(e);
    steps.push({ step: failedStep, ok: false, detail, ms: Date.now() - stepStart });
    emit({ step: failedStep, index: DEPLOY_STEPS.indexOf(failedStep as (typeof DEPLOY_STEPS)[number]), total: DEPLOY_STEPS.length, status: 'failed', detail, ms: Date.now() - stepStart });
    const rollbackNotes = await undo(client, model, version.version, { previous, switched, loaded, wasLoaded });
    if (rollbackNotes) {
      steps.push({ step: 'rollback', ok: !rollbackNotes.startsWith('could not'), detail: rollbackNotes, ms: 0 });
      emit({ step: 'rollback', index: DEPLOY_STEPS.length, total: DEPLOY_STEPS.length, status: rollbackNotes.startsWith('could not') ? 'failed' : 'ok', detail: rollbackNotes, ms: 0 });
    }
    try {
      registry.recordDeployment({ target, model, version: version.version, status: 'failed', previousVersion: previous, steps, reason: options.overrideReason?.trim() || null });
    } catch {
      /* the error below matters more than the record */
    }
    const serving = previous && previous !== version.version ? `${model}@${previous} keeps serving` : 'nothing was switched';
    throw new ModelOpsError(
      e instanceof ModelOpsError ? e.code : 'deploy-failed',
      `Deploy of ${ref} to target '${target}' failed at step '${failedStep}': ${e instanceof ModelOpsError ? e.message : detail}${rollbackNotes ? ` Rolled back: ${rollbackNotes}.` : ''} (${serving}.)`,
      e instanceof ModelOpsError ? e.hint : undefined,
    );
  } finally {
    local?.dispose();
  }
}

async function undo(
  client: ModelServerClient | null,
  model: string,
  version: string,
  s: { previous: string | null; switched: boolean; loaded: boolean; wasLoaded: boolean },
): Promise<string> {
  if (!client || !s.loaded) return '';
  const notes: string[] = [];
  try {
    if (s.switched && s.previous && s.previous !== version) {
      await client.switchTo(model, s.previous);
      notes.push(`switched back to ${s.previous}`);
    }
    if (!s.wasLoaded) {
      await client.unload(model, version);
      notes.push(`unloaded ${version}`);
    }
    return notes.join(', ');
  } catch (e) {
    return `could not finish the rollback (${describeError(e)})`;
  }
}

export interface RollbackOptions extends TargetAccess {
  target: string;
  model: string;
  onStep?: (e: StepEvent) => void;
}

/** Switches a model on a target back to the version that served before the last deploy. */
export async function rollback(options: RollbackOptions): Promise<DeploymentRecord> {
  const { registry, target, model } = options;
  const started = Date.now();
  const client = await connectTarget(options, target);
  if (!client) throw new ModelOpsError('target-down', `Target '${target}' is not running.`, 'Start it and try again.');
  const info = await client.modelInfo(model);
  const active = registry.activeDeployment(target, model);
  const current = info?.active ?? active?.version ?? null;
  const back = active?.version === current && active?.previousVersion ? active.previousVersion : (info?.previous ?? null);
  if (!current || !back || back === current) {
    throw new ModelOpsError('nothing-to-roll-back', `Model '${model}' on target '${target}' has no previous version to roll back to.`, 'Deploy a version first; rollback returns to the one that served before it.');
  }
  const steps: DeploymentRecord['steps'] = [];
  if (!info?.versions.includes(back)) {
    const t0 = Date.now();
    const t = targetConfig(options.config, target);
    const dir = await registry.artifactPath(`${model}@${back}`);
    await client.load(model, back, t.type === 'local' ? { path: dir } : { files: await bundleFiles(dir) });
    steps.push({ step: 'load', ok: true, detail: `reloaded ${back}`, ms: Date.now() - t0 });
  }
  const t1 = Date.now();
  await client.switchTo(model, back);
  steps.push({ step: 'switch', ok: true, detail: `${current} → ${back}`, ms: Date.now() - t1 });
  options.onStep?.({ step: 'switch', index: 0, total: 1, status: 'ok', detail: `${current} → ${back}`, ms: Date.now() - started });
  return registry.recordDeployment({ target, model, version: back, status: 'active', previousVersion: current, steps, reason: `rollback from ${current}` });
}

export interface EndpointStatus {
  target: string;
  type: TargetConfig['type'];
  url: string | null;
  live: boolean;
  ready: boolean;
  /** What the server holds (null when it cannot be asked). */
  models: RepositoryEntry[] | null;
  /** Active deployments recorded in the registry. */
  deployments: DeploymentRecord[];
  unacknowledgedAlerts: number;
  error: string | null;
}

/** Every configured target with its health and what it serves; never starts a server. */
export async function listEndpoints(access: TargetAccess): Promise<EndpointStatus[]> {
  const targets = Object.keys(access.config.deploy?.targets ?? {});
  return Promise.all(
    targets.map(async (target): Promise<EndpointStatus> => {
      const t = targetConfig(access.config, target);
      const deployments = access.registry.listDeployments({ target }).filter((d) => d.status === 'active');
      const latest = new Map<string, DeploymentRecord>();
      for (const d of deployments) if (!latest.has(d.model)) latest.set(d.model, d);
      const alerts = access.registry.listAlerts({ target, unacknowledgedOnly: true }).length;
      const base = { target, type: t.type, deployments: [...latest.values()], unacknowledgedAlerts: alerts };
      let client: ModelServerClient | null = null;
      try {
        client = await connectTarget({ ...access, timeoutMs: access.timeoutMs ?? 3000 }, target, { start: false });
      } catch (e) {
        return { ...base, url: t.url ?? null, live: false, ready: false, models: null, error: describeError(e) };
      }
      if (!client) return { ...base, url: null, live: false, ready: false, models: null, error: 'not running' };
      const live = await client.live(3000);
      const ready = live && (await client.ready(3000));
      let models: RepositoryEntry[] | null = null;
      let error: string | null = live ? null : `no answer from ${client.url}`;
      if (live) {
        try {
          models = await client.index();
        } catch (e) {
          error = describeError(e);
        }
      }
      return { ...base, url: client.url, live, ready, models, error };
    }),
  );
}
