/**
 * Deploy a registered version to a target with named steps — package → load → ready →
 * smoke test → switch → record — and roll back by itself when a step fails: the version
 * that served before keeps serving throughout. `rollback` switches back on demand.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelOpsConfig, TargetConfig } from '../config/types';
import { describeError, ModelOpsError } from '../errors';
import { gateProblem, gateState, isNotEvaluated } from '../../../shared/gateState';
import type { DeploymentRecord, Registry } from '../registry/types';
import type { Prediction } from '../model/types';
import { predictionsFromResponse, rowsToInferRequest } from '../serving/v2';
import type { Predictor, RepositoryEntry } from '../serving/types';
import { ModelServerClient } from './client';
import { checkTargetName, isValidTargetName } from './names';
import { envName, secretName, type TokenFor } from './tokens';
import {
  checkedRecord,
  ensureLocalServer,
  localToken,
  localUrl,
  readLocalToken,
  verifyLocalServer,
  type ServeCommand,
} from './localServer';
import { comparePredictions, smokeRows } from './smoke';
import { runnableBundle } from '../evaluation/evaluate';

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

export interface TargetAccess {
  registry: Registry;
  config: ModelOpsConfig;
  /** The endpoint token of a target: SecretStorage in the editor, MODELOPS_TOKEN_<NAME> in the CLI. */
  tokenFor: TokenFor;
  /** How to start `modelops serve` for local targets (default: dist/cli.js with this Node). */
  serveCommand?: ServeCommand;
  /** Per-call HTTP timeout (default 15 s). */
  timeoutMs?: number;
  /**
   * False in an untrusted workspace: listing then makes no authenticated call and no call at all
   * to a URL the workspace names (default true).
   */
  trusted?: boolean;
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
  /** How a bundle is loaded for local predictions (default: the model runtime layer, as the server loads it). */
  loader?: (dir: string) => Promise<Predictor>;
  /** How long to wait for the version to report ready (default 30 s). */
  readyTimeoutMs?: number;
}

export interface DeployResult {
  deployment: DeploymentRecord;
  url: string;
}

export function targetConfig(config: ModelOpsConfig, target: string): TargetConfig {
  checkTargetName(target);
  if (
    config.deploy?.targets?.[target]?.tokenSecret !== undefined &&
    !isValidTargetName(config.deploy.targets[target].tokenSecret ?? '')
  ) {
    throw new ModelOpsError(
      'invalid-secret-name',
      `deploy.targets.${target}.tokenSecret is not a valid secret name.`,
      'Use letters, digits, "_" or "-" only.',
    );
  }
  const t = Object.hasOwn(config.deploy?.targets ?? {}, target) ? config.deploy?.targets?.[target] : undefined;
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

/**
 * Connects to a target; for `local`, finds (and proves) or starts the server process. With
 * `start: false` nothing is started or created, and a local server that cannot prove it is ours
 * is not talked to.
 */
export async function connectTarget(
  access: TargetAccess,
  target: string,
  opts: { start: boolean } = { start: true },
): Promise<ModelServerClient | null> {
  const t = targetConfig(access.config, target);
  const token = (await access.tokenFor(target, t)) ?? null;
  if (t.type === 'local') {
    const storeDir = access.registry.storeDir;
    const url = localUrl(target, t.host, t.port);
    if (!opts.start) {
      const tok = token ?? readLocalToken(storeDir, target);
      const rec = checkedRecord(storeDir, target, url);
      if (!rec || !tok || !(await verifyLocalServer(rec.url, tok))) return null;
      return new ModelServerClient({ target, url: rec.url, token: tok, timeoutMs: access.timeoutMs });
    }
    const tok = token ?? localToken(storeDir, target);
    const started = await ensureLocalServer({
      storeDir,
      target,
      host: t.host,
      port: t.port,
      token: tok,
      command: access.serveCommand,
    });
    return new ModelServerClient({ target, url: started.url, token: tok, timeoutMs: access.timeoutMs });
  }
  if (!t.url)
    throw new ModelOpsError(
      'target-url',
      `Target '${target}' has type http but no url.`,
      `Set deploy.targets.${target}.url.`,
    );
  if (!token) {
    throw new ModelOpsError(
      'no-token',
      `No token for target '${target}'.`,
      `Run "ModelOps: Set Endpoint Token" in the editor, or set MODELOPS_TOKEN_${envName(secretName(target, t))} (and MODELOPS_TOKEN_${envName(secretName(target, t))}_ORIGIN) for the CLI.`,
    );
  }
  return new ModelServerClient({ target, url: t.url, token, timeoutMs: access.timeoutMs });
}

/**
 * Predicts validation rows locally and through the endpoint (the version addressed explicitly,
 * not logged) and requires them to match within the target's tolerance. Returns the step detail.
 */
async function smokeTest(
  client: ModelServerClient,
  local: Predictor,
  s: { config: ModelOpsConfig; configDir: string; ref: string; model: string; version: string; target: TargetConfig },
): Promise<string> {
  const rows = await smokeRows(s.config, s.configDir, local.manifest, s.target.smokeTest?.rows ?? 50);
  if (rows.length === 0)
    throw new ModelOpsError(
      'smoke-no-rows',
      `No usable validation rows for the smoke test of ${s.ref}.`,
      'Check data.validation / data.train in modelops.yaml.',
    );
  const expected: Prediction[] = await local.predict(rows);
  const response = await client.infer(s.model, s.version, {
    ...rowsToInferRequest(local.manifest, rows),
    parameters: { modelops_log: false },
  });
  const tolerance = s.target.smokeTest?.tolerance ?? 1e-6;
  let remote: Prediction[];
  try {
    remote = predictionsFromResponse(response);
  } catch (e) {
    throw new ModelOpsError(
      'smoke-bad-response',
      `Smoke test: the endpoint's answer for ${s.ref} is not a usable inference response (${describeError(e)}).`,
      'The endpoint does not speak the Open Inference Protocol as ModelOps serves it; see docs/serving-api.md.',
    );
  }
  const cmp = comparePredictions(expected, remote, tolerance);
  if (cmp.matched !== cmp.total) {
    throw new ModelOpsError(
      'smoke-mismatch',
      `Smoke test: ${cmp.matched}/${cmp.total} endpoint predictions matched local ones (tolerance ${tolerance}); ${cmp.firstMismatch}.`,
      'The endpoint does not serve what was registered; check its version and preprocessing.',
    );
  }
  return `${cmp.matched}/${cmp.total} matched (max |Δ| ${cmp.maxDelta.toExponential(1)})`;
}

/** Local predictions for the smoke test go through the model runtime layer, as the server's do. */
const defaultLoader = async (dir: string): Promise<Predictor> =>
  (await import('../serving/predictor')).loadPredictor(dir);

/** The bundle's files (whatever its format) for an upload; the server accepts only whole bundle layouts. */
async function bundleFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile())
      throw new ModelOpsError(
        'bundle-layout',
        `The bundle ${dir} holds '${e.name}', which is not a file; a bundle is a flat folder of files.`,
        'Register the version again from its model files.',
      );
    files[e.name] = (await readFile(join(dir, e.name))).toString('base64');
  }
  return files;
}

export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const { registry, config, target } = options;
  const t = targetConfig(config, target);
  const version = registry.getVersion(options.ref);
  const model = version.model;
  const ref = `${model}@${version.version}`;

  // Gates block protected targets unless a reason to override is given.
  // Not evaluated (no evaluation ran, or it failed) is never a pass.
  const gatesPassed = gateState(version.gates) === 'passed';
  if (t.requireApproval && !gatesPassed && !options.overrideReason?.trim()) {
    const why = !version.gates
      ? 'has no gate results'
      : isNotEvaluated(version.gates)
        ? `has gates that were not evaluated (${version.gates.notEvaluated})`
        : `fails its gates (${gateProblem(version.gates)})`;
    throw new ModelOpsError(
      'gates-failed',
      `${ref} ${why}; target '${target}' requires approval.`,
      'Evaluate the version and fix the gates, or deploy with an override reason (--override-reason "…"), which is recorded.',
    );
  }
  // A target with requireApproval takes only a version someone approved for it (the engine
  // refuses, so the CLI and the editor alike); the approval must name this artifact digest.
  const approval = t.requireApproval
    ? registry.requireApproval(ref, {
        scope: 'target',
        name: target,
        separationOfDuties: t.separationOfDuties === true,
      })
    : null;

  const steps: DeploymentRecord['steps'] = [];
  const emit = options.onStep ?? (() => undefined);
  let current: DeployStepName = 'package';
  let stepStart = Date.now();
  const begin = (step: DeployStepName) => {
    current = step;
    stepStart = Date.now();
    emit({
      step,
      index: DEPLOY_STEPS.indexOf(step as (typeof DEPLOY_STEPS)[number]),
      total: DEPLOY_STEPS.length,
      status: 'running',
      detail: '',
      ms: 0,
    });
  };
  const done = (detail: string) => {
    const ms = Date.now() - stepStart;
    steps.push({ step: current, ok: true, detail, ms });
    emit({
      step: current,
      index: DEPLOY_STEPS.indexOf(current as (typeof DEPLOY_STEPS)[number]),
      total: DEPLOY_STEPS.length,
      status: 'ok',
      detail,
      ms,
    });
  };

  let client: ModelServerClient | null = null;
  let local: Predictor | null = null;
  let previous: string | null = null;
  let wasLoaded = false;
  let loaded = false;
  let switched = false;
  try {
    begin('package');
    // A format no runtime here runs (a PyTorch file, say) is refused as such, not as a broken bundle.
    const bundleDir = await runnableBundle(registry, ref, version, 'deployed');
    local = await (options.loader ?? defaultLoader)(bundleDir);
    const source = {
      ...(t.type === 'local' ? { path: bundleDir } : { files: await bundleFiles(bundleDir) }),
      digest: version.artifactDigest,
    };
    done(
      `${ref} (${local.manifest.task}, ${local.manifest.features.length} features)${version.gates && !gatesPassed ? `; gates overridden: ${options.overrideReason}` : ''}`,
    );

    begin('load');
    client = await connectTarget(options, target);
    if (!client)
      throw new ModelOpsError('target-down', `Target '${target}' is not running.`, 'Start it and try again.');
    const info = await client.modelInfo(model);
    previous = info?.active ?? null;
    wasLoaded = info?.versions.includes(version.version) ?? false;
    await client.load(model, version.version, source);
    loaded = true;
    done(
      `${wasLoaded ? 'already loaded on' : 'loaded on'} ${client.url}${previous ? `; ${previous} serves until the switch` : ''}`,
    );

    begin('ready');
    const readyBy = Date.now() + (options.readyTimeoutMs ?? 30_000);
    while (!(await client.versionReady(model, version.version))) {
      if (Date.now() > readyBy)
        throw new ModelOpsError(
          'not-ready',
          `${ref} did not become ready on target '${target}' at ${client.url}.`,
          'See the endpoint log.',
        );
      await sleep(100);
    }
    done('ready');

    begin('smoke test');
    done(
      await smokeTest(client, local, {
        config,
        configDir: options.configDir ?? registry.root,
        ref,
        model,
        version: version.version,
        target: t,
      }),
    );

    begin('switch');
    const sw = await client.switchTo(model, version.version);
    switched = true;
    previous = sw.previous ?? previous;
    done(
      previous && previous !== version.version
        ? `${previous} → ${version.version} (${previous} stays loaded)`
        : `${version.version} serves`,
    );

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
      approvalId: approval?.id ?? null,
    });
    if (version.gates && !gatesPassed && options.overrideReason?.trim()) {
      // The override travels with the version's gate report too, where promotion looks.
      try {
        registry.recordGates(ref, {
          ...version.gates,
          override: { reason: options.overrideReason.trim(), at: new Date().toISOString() },
        });
      } catch {
        /* the deployment record already holds the reason */
      }
    }
    emit({
      step: 'record',
      index: 5,
      total: DEPLOY_STEPS.length,
      status: 'ok',
      detail: `deployment #${deployment.id}`,
      ms: Date.now() - stepStart,
    });
    return { deployment, url: client.url };
  } catch (e) {
    const failedStep = current;
    const detail = describeError(e);
    steps.push({ step: failedStep, ok: false, detail, ms: Date.now() - stepStart });
    emit({
      step: failedStep,
      index: DEPLOY_STEPS.indexOf(failedStep as (typeof DEPLOY_STEPS)[number]),
      total: DEPLOY_STEPS.length,
      status: 'failed',
      detail,
      ms: Date.now() - stepStart,
    });
    const rollbackNotes = await undo(client, model, version.version, { previous, switched, loaded, wasLoaded });
    if (rollbackNotes) {
      steps.push({ step: 'rollback', ok: !rollbackNotes.startsWith('could not'), detail: rollbackNotes, ms: 0 });
      emit({
        step: 'rollback',
        index: DEPLOY_STEPS.length,
        total: DEPLOY_STEPS.length,
        status: rollbackNotes.startsWith('could not') ? 'failed' : 'ok',
        detail: rollbackNotes,
        ms: 0,
      });
    }
    try {
      registry.recordDeployment({
        target,
        model,
        version: version.version,
        status: 'failed',
        previousVersion: previous,
        steps,
        reason: options.overrideReason?.trim() || null,
        approvalId: approval?.id ?? null,
      });
    } catch {
      /* the error below matters more than the record */
    }
    const serving =
      previous && previous !== version.version ? `${model}@${previous} keeps serving` : 'nothing was switched';
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
  /** Directory that data paths in the config are relative to (default: the workspace root). */
  configDir?: string;
  /** How a bundle is loaded for the smoke test (default: the model runtime layer, as the server loads it). */
  loader?: (dir: string) => Promise<Predictor>;
  /** Why, recorded before "rollback from <version>" (an automatic rollback names its alert). */
  reason?: string;
}

/**
 * Switches a model on a target back to the version that served before the last deploy, after a
 * smoke test of that version on the endpoint: a version that no longer answers as registered
 * (its bundle changed, the server's cache is stale) is not switched to.
 */
export async function rollback(options: RollbackOptions): Promise<DeploymentRecord> {
  const { registry, target, model } = options;
  const t = targetConfig(options.config, target);
  const client = await connectTarget(options, target);
  if (!client) throw new ModelOpsError('target-down', `Target '${target}' is not running.`, 'Start it and try again.');
  const info = await client.modelInfo(model);
  const active = registry.activeDeployment(target, model);
  const current = info?.active ?? active?.version ?? null;
  const back =
    active?.version === current && active?.previousVersion ? active.previousVersion : (info?.previous ?? null);
  if (!current || !back || back === current) {
    throw new ModelOpsError(
      'nothing-to-roll-back',
      `Model '${model}' on target '${target}' has no previous version to roll back to.`,
      'Deploy a version first; rollback returns to the one that served before it.',
    );
  }
  const steps: DeploymentRecord['steps'] = [];
  const step = (name: DeployStepName, detail: string, t0: number) => {
    steps.push({ step: name, ok: true, detail, ms: Date.now() - t0 });
    options.onStep?.({ step: name, index: steps.length - 1, total: 3, status: 'ok', detail, ms: Date.now() - t0 });
  };
  const ref = `${model}@${back}`;
  const dir = await registry.artifactPath(ref);
  if (!info?.versions.includes(back)) {
    const t0 = Date.now();
    const digest = registry.getVersion(ref).artifactDigest;
    await client.load(model, back, {
      ...(t.type === 'local' ? { path: dir } : { files: await bundleFiles(dir) }),
      digest,
    });
    step('load', `reloaded ${back}`, t0);
  }
  const t1 = Date.now();
  const local = await (options.loader ?? defaultLoader)(dir);
  try {
    step(
      'smoke test',
      await smokeTest(client, local, {
        config: options.config,
        configDir: options.configDir ?? registry.root,
        ref,
        model,
        version: back,
        target: t,
      }),
      t1,
    );
  } catch (e) {
    throw new ModelOpsError(
      e instanceof ModelOpsError ? e.code : 'rollback-failed',
      `Rollback of ${model} on '${target}' to ${back} stopped before the switch: ${describeError(e)} (${model}@${current} keeps serving.)`,
      e instanceof ModelOpsError ? e.hint : undefined,
    );
  } finally {
    local.dispose();
  }
  const t2 = Date.now();
  await client.switchTo(model, back);
  step('switch', `${current} → ${back}`, t2);
  return registry.recordDeployment({
    target,
    model,
    version: back,
    status: 'active',
    previousVersion: current,
    steps,
    reason: options.reason ? `${options.reason}; rollback from ${current}` : `rollback from ${current}`,
  });
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
  /** Prediction log lines the server could not write (full disk), when it says; 0 or null otherwise. */
  predictionLogDropped?: number | null;
  /** The server's last prediction-log write error, when it has one. */
  predictionLogError?: string | null;
}

/** Every configured target with its health and what it serves; never starts a server. */
export async function listEndpoints(access: TargetAccess): Promise<EndpointStatus[]> {
  const targets = Object.keys(access.config.deploy?.targets ?? {});
  return Promise.all(
    targets.map(async (target): Promise<EndpointStatus> => {
      let t: TargetConfig;
      try {
        t = targetConfig(access.config, target);
      } catch (e) {
        const type = access.config.deploy?.targets?.[target]?.type ?? 'local';
        return {
          target,
          type,
          url: null,
          live: false,
          ready: false,
          models: null,
          deployments: [],
          unacknowledgedAlerts: 0,
          error: describeError(e),
        };
      }
      const deployments = access.registry.listDeployments({ target }).filter((d) => d.status === 'active');
      const latest = new Map<string, DeploymentRecord>();
      for (const d of deployments) if (!latest.has(d.model)) latest.set(d.model, d);
      const alerts = access.registry.listAlerts({ target, unacknowledgedOnly: true }).length;
      const base = { target, type: t.type, deployments: [...latest.values()], unacknowledgedAlerts: alerts };
      if (access.trusted === false) return untrustedStatus(access, target, t, base);
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
      let log: { dropped: number; lastError: string | null } | null = null;
      if (live) {
        try {
          models = await client.index();
          log = await client.predictionLogHealth();
        } catch (e) {
          error = describeError(e);
        }
      }
      return {
        ...base,
        url: client.url,
        live,
        ready,
        models,
        error,
        predictionLogDropped: log?.dropped ?? null,
        predictionLogError: log?.lastError ?? null,
      };
    }),
  );
}

/**
 * Restricted Mode: no token is sent and no URL the workspace names is called. A local target's
 * health is read from its loopback server without credentials; an http target is not contacted.
 */
async function untrustedStatus(
  access: TargetAccess,
  target: string,
  t: TargetConfig,
  base: Pick<EndpointStatus, 'target' | 'type' | 'deployments' | 'unacknowledgedAlerts'>,
): Promise<EndpointStatus> {
  if (t.type !== 'local')
    return {
      ...base,
      url: t.url ?? null,
      live: false,
      ready: false,
      models: null,
      error: 'not contacted in Restricted Mode',
    };
  let rec: ReturnType<typeof checkedRecord> = null;
  try {
    rec = checkedRecord(access.registry.storeDir, target, localUrl(target, t.host, t.port));
  } catch (e) {
    return { ...base, url: null, live: false, ready: false, models: null, error: describeError(e) };
  }
  if (!rec) return { ...base, url: null, live: false, ready: false, models: null, error: 'not running' };
  const client = new ModelServerClient({ target, url: rec.url, token: null, timeoutMs: 3000 });
  const live = await client.live(3000);
  const ready = live && (await client.ready(3000));
  return { ...base, url: rec.url, live, ready, models: null, error: live ? null : `no answer from ${rec.url}` };
}
