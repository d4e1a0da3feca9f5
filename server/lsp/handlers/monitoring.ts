/**
 * Live monitoring on the sidecar: while the workspace is trusted, follow the monitor stream
 * (engine/monitoring/live/client.ts `followMonitor`) of every model active on every running
 * target, run the `monitor.on` policy of each alert (engine/monitoring/policy.ts `runPolicy`) and
 * send it to the extension as a `modelops/monitoring/alert` notification.
 *
 * Which streams to follow is worked out again when anything that decides it changes: trust,
 * modelops.yaml, the active deployments, a local server's record (started, stopped, moved port);
 * a cheap fingerprint is checked every CHECK_MS, and `resubscribe` checks at once. A failed
 * look or a refused stream is retried with backoff. Nothing here may throw out of a timer: the
 * sidecar keeps running whatever a target does.
 *
 * Also: the data versions for the tree's Datasets node, their checkout, and alert counts per
 * serving version.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import { core, monitoring as rpc, type ParamsOf } from '../../protocol';
import type { AlertCount, SubscriptionInfo, SubscriptionsResult } from '../../protocol/monitoring';
import { describeError, ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import { configSchema, withDefaults } from '../../engine/config/schema';
import type { ModelOpsConfig, MonitorConfig } from '../../engine/config/types';
import { connectTarget, readLocalToken, tokenResolver, type TargetAccess, type TokenFor } from '../../engine/deploy';
import { followMonitor } from '../../engine/monitoring/live/client';
import { liveConfigFromMonitor, type LiveAlert } from '../../engine/monitoring/live/window';
import { runPolicy } from '../../engine/monitoring/policy';
import { notStoredError } from '../../engine/registry/datasets';
import { trainFromTraffic } from '../../engine/training/fromTraffic';
import { checkoutData } from '../../engine/data/store/checkout';
import { DataStore } from '../../engine/data/store/store';
import type { WorkspaceRegistry } from '../../engine/registry/registry';

/** How often the fingerprint of what decides the subscriptions is checked. */
const CHECK_MS = 2000;
/** Backoff for a failed look at the targets or a refused stream: 2 s doubling to 60 s. */
const BACKOFF_MIN_MS = 2000;
const BACKOFF_MAX_MS = 60_000;

interface Subscription {
  info: SubscriptionInfo;
  token: string | null;
  controller: AbortController;
}

interface Backoff {
  failures: number;
  retryAt: number;
  reason: string;
}

export function registerMonitoring(ctx: ServerContext): void {
  const tokenFor: TokenFor = tokenResolver({
    trusted: () => ctx.trusted(),
    stored: (secret) => ctx.tokens.get(secret),
    env: process.env,
    consentHint:
      'Run "ModelOps: Set Endpoint Token" for this target (or deploy again and allow it) to follow its monitor or retrain from its traffic.',
  });
  const subs = new Map<string, Subscription>();
  /** Per target+model+url: the last event id seen, so a re-subscription resumes instead of starting over. */
  const lastIds = new Map<string, string>();
  const backoff = new Map<string, Backoff>();
  let skipped: SubscriptionsResult['skipped'] = [];
  let fingerprint = '';
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let lookFailure: Backoff | null = null;

  const result = (): SubscriptionsResult => ({
    trusted: ctx.trusted(),
    subscriptions: [...subs.values()].map((s) => ({ ...s.info })),
    skipped: [...skipped],
  });
  const announce = (): void => ctx.notify(rpc.subscriptionsChanged, result());

  const stop = (key: string): void => {
    const s = subs.get(key);
    if (!s) return;
    s.controller.abort();
    subs.delete(key);
  };
  const stopAll = (): void => {
    const had = subs.size > 0;
    for (const key of [...subs.keys()]) stop(key);
    if (had) announce();
  };

  const failed = (key: string, reason: string): void => {
    const b = backoff.get(key) ?? { failures: 0, retryAt: 0, reason };
    b.failures++;
    b.reason = reason;
    b.retryAt = Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (b.failures - 1));
    backoff.set(key, b);
  };

  /** The config and the registry when there is anything to follow; null otherwise. */
  const workspace = async (): Promise<{ config: ModelOpsConfig; dir: string; registry: WorkspaceRegistry } | null> => {
    const root = ctx.workspaceRoot();
    if (!root || !ctx.trusted()) return null;
    const path = resolve(root, 'modelops.yaml');
    if (!existsSync(path) || !existsSync(join(root, '.modelops', 'registry.db'))) return null;
    return { config: (await loadConfig(path)).config, dir: dirname(path), registry: ctx.registry() };
  };

  /** What decides the subscriptions, cheaply: trust, the config file, active deployments, local server records. */
  const currentFingerprint = (): string => {
    const root = ctx.workspaceRoot();
    if (!root || !ctx.trusted()) return `off:${root ?? ''}`;
    const parts: string[] = [root];
    const stamp = (p: string): string => {
      try {
        const st = statSync(p);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    };
    parts.push(stamp(join(root, 'modelops.yaml')));
    const serving = join(root, '.modelops', 'serving');
    try {
      for (const f of readdirSync(serving).sort())
        if (f.endsWith('.json')) parts.push(`${f}=${stamp(join(serving, f))}`);
    } catch {
      /* no server started yet */
    }
    if (existsSync(join(root, '.modelops', 'registry.db'))) {
      try {
        parts.push(
          ctx
            .readRegistry()
            .listDeployments({})
            .filter((d) => d.status === 'active')
            .map((d) => `${d.target}/${d.model}@${d.version}#${d.id}`)
            .sort()
            .join(','),
        );
      } catch (e) {
        parts.push(`registry:${describeError(e)}`);
      }
    }
    // Tokens decide whether http targets can be followed (their values are never kept here).
    parts.push(
      [...ctx.tokens.entries()]
        .map(([k, v]) => `${k}:${v.origins.join(' ')}:${v.token.length}`)
        .sort()
        .join(','),
    );
    return parts.join('|');
  };

  /** Sends modelops.yaml's monitor settings to the server, as `modelops monitor --follow` does (it restarts windows only when they differ). */
  const configureServer = async (
    url: string,
    token: string | null,
    model: string,
    mc: MonitorConfig,
    registry: WorkspaceRegistry,
    target: string,
  ): Promise<void> => {
    const active = registry.activeDeployment(target, model);
    let evaluation: number | undefined;
    if (active) {
      const m = registry.getVersion(`${model}@${active.version}`).metrics[
        mc.controlChart.metric === 'error_rate' ? 'accuracy' : mc.controlChart.metric
      ];
      if (typeof m === 'number') evaluation = m;
    }
    const wanted = liveConfigFromMonitor(mc, evaluation);
    const headers = { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/json' };
    const route = `${url}/v2/repository/models/${encodeURIComponent(model)}/monitor`;
    const now = (await (await fetch(route, { headers, signal: AbortSignal.timeout(5000) })).json()) as {
      config?: unknown;
    };
    if (JSON.stringify(now.config) === JSON.stringify(wanted)) return;
    const res = await fetch(route, {
      method: 'PUT',
      headers,
      body: JSON.stringify(wanted),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 200)
      ctx.log(
        `monitor: '${target}' kept its own monitor settings (${res.status}: ${(await res.text()).slice(0, 200)})`,
      );
  };

  const follow = (
    key: string,
    sub: Subscription,
    access: TargetAccess & { configDir: string },
    on: MonitorConfig['on'],
  ): void => {
    const { target, model, url } = sub.info;
    const resumeKey = `${key}\u0000${url}`;
    const seen = new Set(
      access.registry
        .listAlerts({ target, limit: 100_000 })
        .filter((a) => a.model === model)
        .map((a) => `${a.rule}\u0000${a.message}`),
    );
    const set = (state: SubscriptionInfo['state'], detail: string | null): void => {
      if (sub.info.state === state && sub.info.detail === detail) return;
      sub.info.state = state;
      sub.info.detail = detail;
      if (subs.get(key) === sub) announce();
    };
    const handleAlert = async (alert: LiveAlert): Promise<void> => {
      // Trust withdrawn while this alert was on its way: no record, no rollback.
      if (!ctx.trusted()) return;
      const outcome = await runPolicy({ ...access, target, on, alert, seen });
      sub.info.alerts++;
      ctx.log(
        `monitor: alert on '${target}' [${alert.rule}] ${alert.message} → ${outcome.action} (monitor.on.${outcome.because}): ${outcome.detail}`,
      );
      ctx.notify(rpc.alert, {
        target,
        model,
        alert,
        outcome: {
          action: outcome.action,
          because: outcome.because,
          detail: outcome.detail,
          ok: outcome.ok,
          alertId: outcome.alert?.id ?? null,
          deployment: outcome.deployment,
        },
        at: new Date().toISOString(),
      });
      ctx.notify(core.changed, { kind: 'alerts', model });
      if (outcome.deployment) {
        ctx.notify(core.changed, { kind: 'deployments', model });
        ctx.notify(core.changed, { kind: 'endpoints' });
      }
    };
    void (async () => {
      try {
        for await (const e of followMonitor({
          url,
          model,
          token: sub.token,
          lastEventId: lastIds.get(resumeKey) ?? null,
          signal: sub.controller.signal,
        })) {
          if (e.id !== null) lastIds.set(resumeKey, e.id);
          if (e.event === 'disconnected') {
            set('retrying', e.data.reason);
            continue;
          }
          set('following', null);
          if (e.event === 'window') sub.info.windows++;
          else if (e.event === 'alert') await handleAlert(e.data);
          backoff.delete(key);
        }
      } catch (e) {
        if (sub.controller.signal.aborted) return;
        // A refusal (wrong token, monitoring off, unknown model): looked at again after a backoff.
        const reason = describeError(e);
        ctx.log(`monitor: stopped following '${model}' on '${target}': ${reason}`);
        failed(key, reason);
        set('refused', reason);
        if (subs.get(key) === sub) {
          subs.delete(key);
          announce();
        }
      }
    })();
  };

  /** Looks at every target once and starts, keeps or stops streams to match. */
  const reconcile = async (): Promise<void> => {
    const ws = await workspace();
    if (!ws) {
      skipped = [];
      stopAll();
      return;
    }
    const { config, dir, registry } = ws;
    const access = { registry, config, configDir: dir, tokenFor };
    const mc =
      config.monitor ?? (withDefaults(configSchema.properties.monitor, undefined, config.model.task) as MonitorConfig);
    const wanted = new Set<string>();
    const nextSkipped: SubscriptionsResult['skipped'] = [];
    let changed = false;
    const active = registry.listDeployments({}).filter((d) => d.status === 'active');
    for (const target of Object.keys(config.deploy?.targets ?? {})) {
      const models = [...new Set(active.filter((d) => d.target === target).map((d) => d.model))];
      if (models.length === 0) {
        nextSkipped.push({ target, reason: 'nothing deployed' });
        continue;
      }
      const t = config.deploy?.targets?.[target];
      if (!t) continue;
      let client;
      let token: string | null;
      try {
        // Restricted Mode never gets here; an http target needs a token bound to its origin.
        client = await connectTarget(access, target, { start: false });
        token = (await tokenFor(target, t)) ?? (t.type === 'local' ? readLocalToken(registry.storeDir, target) : null);
      } catch (e) {
        nextSkipped.push({ target, reason: describeError(e) });
        continue;
      }
      if (!client) {
        nextSkipped.push({ target, reason: 'not running' });
        continue;
      }
      for (const model of models) {
        const key = `${target}\u0000${model}`;
        wanted.add(key);
        const existing = subs.get(key);
        if (existing && existing.info.url === client.url && existing.token === token) continue;
        const b = backoff.get(key);
        if (!existing && b && b.retryAt > Date.now()) {
          nextSkipped.push({
            target,
            reason: `${model}: ${b.reason} (retrying in ${Math.ceil((b.retryAt - Date.now()) / 1000)} s)`,
          });
          continue;
        }
        if (existing) stop(key);
        try {
          await configureServer(client.url, token, model, mc, registry, target);
        } catch (e) {
          ctx.log(`monitor: could not send the monitor settings to '${target}' (${describeError(e)}); it uses its own`);
        }
        const sub: Subscription = {
          info: { target, model, url: client.url, state: 'started', detail: null, windows: 0, alerts: 0 },
          token,
          controller: new AbortController(),
        };
        subs.set(key, sub);
        changed = true;
        ctx.log(`monitor: following '${model}' on '${target}' (${client.url})`);
        follow(key, sub, access, mc.on);
      }
    }
    for (const key of [...subs.keys()]) {
      if (!wanted.has(key)) {
        ctx.log(`monitor: no longer following '${key.replace('\u0000', "' on '")}'`);
        stop(key);
        changed = true;
      }
    }
    // A stream no longer wanted starts afresh if it is wanted again.
    for (const key of [...backoff.keys()]) if (!wanted.has(key)) backoff.delete(key);
    const skippedChanged = JSON.stringify(nextSkipped) !== JSON.stringify(skipped);
    skipped = nextSkipped;
    if (changed || skippedChanged) announce();
  };

  /** Runs reconcile one at a time; a request while one runs makes it run once more after. */
  const check = (force: boolean): void => {
    if (stopped) return;
    if (running) {
      if (force) again = true;
      return;
    }
    let fp: string;
    try {
      fp = currentFingerprint();
    } catch (e) {
      fp = `error:${describeError(e)}`;
    }
    const retryDue =
      [...backoff.entries()].some(([key, b]) => !subs.has(key) && b.retryAt <= Date.now()) ||
      (lookFailure !== null && lookFailure.retryAt <= Date.now());
    if (!force && fp === fingerprint && !retryDue) return;
    fingerprint = fp;
    running = reconcile()
      .then(() => {
        lookFailure = null;
      })
      .catch((e: unknown) => {
        // A config being edited, a store being created: keep the streams there are, look again later.
        const reason = describeError(e);
        const failures = (lookFailure?.failures ?? 0) + 1;
        if (lookFailure?.reason !== reason) ctx.log(`monitor: could not look at the targets: ${reason}`);
        lookFailure = {
          failures,
          reason,
          retryAt: Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1)),
        };
      })
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          check(true);
        }
      });
  };

  const timer = setInterval(() => check(false), CHECK_MS);
  timer.unref();
  ctx.onShutdown(() => {
    stopped = true;
    clearInterval(timer);
    stopAll();
  });
  ctx.onNotification(rpc.resubscribe, () => check(true));

  ctx.handle(rpc.subscriptions, () => result());

  ctx.handle(rpc.datasets, () => {
    const root = ctx.workspaceRoot();
    if (!root || !existsSync(join(root, '.modelops', 'registry.db'))) return [];
    return ctx
      .readRegistry()
      .datasets.withVersions()
      .map(({ profile: _profile, ...rest }) => rest);
  });

  ctx.handle(rpc.checkoutDataset, async (p: ParamsOf<typeof rpc.checkoutDataset>) => {
    if (typeof p?.digest !== 'string' || typeof p.out !== 'string' || !isAbsolute(p.out)) {
      throw new ModelOpsError(
        'bad-input',
        'checkoutDataset needs a data digest and an absolute output path.',
        'Pick the dataset in the Datasets view and choose where to save it.',
      );
    }
    const registry = ctx.readRegistry();
    const digest = registry.datasets.resolveDigest(p.digest);
    const rec = registry.datasets.get(digest);
    const m = rec?.stored ? registry.datasets.manifest(digest) : null;
    if (!rec || !m) throw notStoredError(rec ?? { digest, path: p.digest, freedAt: null });
    const r = await checkoutData(new DataStore(registry.storeDir), m, p.out, { force: p.force === true });
    ctx.log(`data: restored ${rec.path} (${m.digest}) to ${r.path}`);
    return { path: r.path, size: r.size, digest: m.digest };
  });

  let retraining: string | null = null;
  ctx.handle(rpc.retrainFromTraffic, async (p, token) => {
    if (typeof p?.target !== 'string')
      throw new ModelOpsError(
        'bad-input',
        'retrainFromTraffic needs the target whose traffic to train on.',
        'Run it from an alert or an endpoint.',
      );
    if (retraining)
      throw new ModelOpsError(
        'training-busy',
        `Retraining from traffic is already running (${retraining}).`,
        'Wait for it to finish or cancel it.',
      );
    const path = ctx.configPath(p.configUri);
    const loaded = await loadConfig(path);
    retraining = p.target;
    try {
      const r = await withWorkDone(
        ctx,
        {
          title: `ModelOps: retraining on traffic of '${p.target}'`,
          workDoneToken: p.workDoneToken,
          cancel: token,
          message: 'building the dataset from labelled predictions',
        },
        (work) =>
          trainFromTraffic(loaded, {
            registry: ctx.registry(),
            target: p.target,
            tokenFor,
            ...(p.model ? { model: p.model } : {}),
            ...(p.since ? { since: p.since } : {}),
            ...(typeof p.mix === 'number' ? { mix: p.mix } : {}),
            backend: p.backend,
            // The request needs trust (requiresTrust); asked again here, since trust can be withdrawn
            // while it waits, and it decides whether an http target's log is downloaded.
            trusted: ctx.trusted(),
            signal: work.signal,
            onProgress: (x) => work.report(x.fraction, x.message),
            onLog: (line) => ctx.log(`[trainer] ${line}`),
          }),
      );
      const src = r.dataset.source;
      if (src.kind === 'http')
        ctx.log(
          `retrain: log of '${p.target}' read from ${src.url} (${src.bytes ?? 0} bytes, ${src.fetched ?? 0} fetched now, ${src.flushed ? 'flushed first' : (src.note ?? 'not flushed first')})`,
        );
      ctx.log(
        `retrain: ${r.train.version.model}@${r.train.version.version} from ${r.dataset.rows} rows of traffic on '${p.target}' (${r.dataset.digest})`,
      );
      return {
        dataset: {
          path: r.dataset.displayPath,
          digest: r.dataset.digest,
          rows: r.dataset.rows,
          labelled: r.dataset.traffic.labelled,
          unlabelled: r.dataset.traffic.unlabelled,
          originalRows: r.dataset.original?.rows ?? 0,
        },
        version: r.train.version,
        metrics: r.train.metrics,
        gates: r.train.gates,
        next: r.next,
      };
    } finally {
      retraining = null;
    }
  });

  ctx.handle(rpc.alertCounts, (p) => {
    const root = ctx.workspaceRoot();
    if (!root || !existsSync(join(root, '.modelops', 'registry.db'))) return [];
    return alertCounts(ctx.readRegistry(), p?.target);
  });
}

/** Alert counts of what each target serves; see AlertCount. Exported for the tests. */
export function alertCounts(
  registry: Pick<WorkspaceRegistry, 'listDeployments' | 'listAlerts'>,
  target?: string,
): AlertCount[] {
  const active = registry.listDeployments(target ? { target } : {}).filter((d) => d.status === 'active');
  const alerts = registry.listAlerts({ ...(target ? { target } : {}), unacknowledgedOnly: true, limit: 100_000 });
  return active.map((d) => {
    const mine = alerts.filter((a) => a.target === d.target && a.model === d.model);
    const byVersion: Record<string, number> = {};
    for (const a of mine) byVersion[a.version] = (byVersion[a.version] ?? 0) + 1;
    // The active deployment's time: a rollback is a new deployment, so the restored version starts at 0.
    const since = Date.parse(d.at);
    const sinceDeploy = mine.filter((a) => a.version === d.version && Date.parse(a.at) >= since).length;
    return { target: d.target, model: d.model, version: d.version, since: d.at, sinceDeploy, byVersion };
  });
}
