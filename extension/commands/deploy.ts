/** Deploy…, Roll Back Deployment, Set Endpoint Token, Check Drift. */
import * as vscode from 'vscode';
import { deploy as rpc, endpoint, registry, workspace } from '../../server/protocol';
import type { EndpointStatus, MonitorResult } from '../../server/protocol/deploy';
import type { TargetInfo } from '../../server/protocol/workspace';
import type { VersionRecord } from '../../server/engine/registry/types';
import { findConfigUri } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { alertsShown } from '../services/alerts';
import { allowTokenFor, deleteToken, readToken, storeToken } from '../services/endpointTokens';
import { summariseAlerts } from '../text/alerts';
import { curlCommand, predictionText } from '../text/testRequest';
import { gateSummary, ref } from '../text/version';
import type { EndpointItem } from '../tree/source';
import { gateNeedsReason } from '../../shared/gateState';
import { estimateCaveat, estimateTitle } from '../../shared/format';
import { estimateChartToShow } from '../../shared/spc/points';
import { offerApproval } from '../ui/approval';
import { askOverrideReason } from '../ui/gates';
import { resolveVersion } from '../ui/pick';
import type { CommandFactory } from './command';

async function targets(ctx: Ctx): Promise<TargetInfo[]> {
  const uri = await findConfigUri();
  return ctx.request(workspace.targets, uri ? { configUri: uri } : {});
}

function targetFromArg(arg: unknown): string | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg) {
    if (arg.kind === 'endpoint' && 'endpoint' in arg) return (arg.endpoint as EndpointItem).target;
    if (arg.kind === 'serving' && 'target' in arg && typeof arg.target === 'string') return arg.target;
  }
  return undefined;
}

function servingFromArg(arg: unknown): { target: string; model: string } | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'serving' && 'target' in arg && 'model' in arg) {
    return { target: String(arg.target), model: String(arg.model) };
  }
  return undefined;
}

async function pickTarget(ctx: Ctx, title: string, preset?: string): Promise<TargetInfo | undefined> {
  const ts = await targets(ctx);
  if (!ts.length)
    throw new UserError(
      'modelops.yaml has no deploy targets — add one under deploy.targets (e.g. local: { type: local, port: 8765 }).',
    );
  if (preset) {
    const t = ts.find((x) => x.name === preset);
    if (!t) throw new UserError(`No deploy target '${preset}' in modelops.yaml.`);
    return t;
  }
  if (ts.length === 1) return ts[0];
  const status = await ctx.request(rpc.listEndpoints, {}).catch(() => [] as EndpointStatus[]);
  const picked = await vscode.window.showQuickPick(
    ts.map((t) => {
      const s = status.find((e) => e.target === t.name);
      const serving = s?.deployments.map((d) => `${d.model}@${d.version}`).join(', ');
      return {
        label: t.name,
        description: `${t.type}${t.url ? ` · ${t.url}` : ''}${t.requireApproval ? ' · needs approval' : ''}`,
        detail: s
          ? `${s.ready ? 'ready' : s.live ? 'live' : 'not running'}${serving ? ` · serving ${serving}` : ''}`
          : undefined,
        target: t,
      };
    }),
    { title },
  );
  return picked?.target;
}

export const setEndpointToken: CommandFactory = (ctx) => async (arg?: unknown) => {
  const t = await pickTarget(ctx, 'Set the token of which endpoint?', targetFromArg(arg));
  if (!t) return;
  const had = await readToken(ctx, t.secret);
  const token = await vscode.window.showInputBox({
    title: `Token for '${t.name}'${t.tokenSecret ? ` (secret '${t.tokenSecret}')` : ''}${t.origin ? ` at ${t.origin}` : ''}`,
    prompt: `Kept in VS Code's secret storage and sent only to ${t.origin ?? 'this target'} — never written to modelops.yaml, the registry or logs.${had ? ' Leave empty to remove the stored token.' : ''}`,
    password: true,
    ignoreFocusOut: true,
  });
  if (token === undefined) return;
  if (token === '') {
    await deleteToken(ctx, t.secret);
    void vscode.window.showInformationMessage(`ModelOps: removed the token of '${t.name}'.`);
    return;
  }
  // Typed for this target: bound to its origin (the other origins it was allowed for are kept).
  const origins = t.origin ? [...(had?.token === token ? had.origins : []), t.origin] : [];
  await storeToken(ctx, t.secret, { token, origins });
  void vscode.window.showInformationMessage(
    `ModelOps: token of '${t.name}' stored${t.origin ? ` for ${t.origin}` : ''}.`,
  );
};

export const deploy: CommandFactory = (ctx) => async (arg?: unknown) => {
  const presetTarget = targetFromArg(arg);
  const v: VersionRecord | undefined = await resolveVersion(ctx, presetTarget ? undefined : arg, {
    title: 'Deploy which version?',
    detail: gateSummary,
  });
  if (!v) return;
  const t = await pickTarget(ctx, `Deploy ${ref(v)} to…`, presetTarget);
  if (!t) return;
  if (t.type === 'http' && !(await readToken(ctx, t.secret))) {
    const set = 'Set Endpoint Token';
    const choice = await vscode.window.showWarningMessage(
      `'${t.name}' needs a token and none is stored.`,
      { modal: true },
      set,
    );
    if (choice !== set) return;
    await vscode.commands.executeCommand('modelops.setEndpointToken', {
      kind: 'endpoint',
      endpoint: { target: t.name },
    });
    if (!(await readToken(ctx, t.secret))) return;
  }
  if (!(await allowTokenFor(ctx, t))) return;
  let overrideReason: string | undefined;
  if (gateNeedsReason(v.gates)) {
    overrideReason = await askOverrideReason(v, `be deployed to '${t.name}'`);
    if (!overrideReason) return;
  }
  const cfg = await findConfigUri();
  const steps = ctx.onNotification(rpc.deployStep, (p) => {
    if (p.target === t.name)
      ctx.output.info(
        `deploy ${p.ref} → ${p.target}: ${p.event.step} ${p.event.status}${p.event.detail ? ` — ${p.event.detail}` : ''} (${p.event.ms} ms)`,
      );
  });
  try {
    const go = () =>
      runJob(
        ctx,
        `ModelOps: deploying ${ref(v)} to ${t.name}`,
        (workDoneToken) =>
          ctx.request(rpc.deploy, {
            ref: ref(v),
            target: t.name,
            workDoneToken,
            ...(overrideReason ? { overrideReason } : {}),
            ...(cfg ? { configUri: cfg } : {}),
          }),
        { cancellable: false },
      );
    let outcome: Awaited<ReturnType<typeof go>>;
    try {
      outcome = await go();
    } catch (e) {
      // requireApproval: the engine refuses before any network call; offer Approve / Request Approval, then try again.
      if (!(await offerApproval(ctx, e, v, t.name))) return;
      outcome = await go();
    }
    const r = outcome.result;
    if (!r) return;
    const smoke = r.deployment.steps.find((s) => s.step.startsWith('smoke'));
    void vscode.window
      .showInformationMessage(
        `ModelOps: ${ref(v)} is live on '${t.name}' (${r.url})${smoke ? ` — smoke test: ${smoke.detail}` : ''}.${r.deployment.previousVersion ? ` Previous: ${r.deployment.previousVersion}.` : ''}`,
        COPY_CURL,
        SEND_TEST,
      )
      .then((pick) => (pick ? tryOnDeployed(ctx, pick, ref(v), t.name, cfg) : undefined));
  } finally {
    steps.dispose();
  }
};

const COPY_CURL = 'Copy curl';
const SEND_TEST = 'Send Test Request';

/** The deploy toast's actions: copy a curl of one row, or send that row through the sidecar. */
async function tryOnDeployed(
  ctx: Ctx,
  action: string,
  versionRef: string,
  target: string,
  configUri: string | undefined,
): Promise<void> {
  try {
    const send = action === SEND_TEST;
    const res = await ctx.request(endpoint.testRequest, {
      ref: versionRef,
      target,
      send,
      ...(configUri ? { configUri } : {}),
    });
    if (!send) {
      await vscode.env.clipboard.writeText(curlCommand(res));
      void vscode.window.showInformationMessage(
        `ModelOps: copied a curl of one row (${res.rowSource}) to ${versionRef} on '${target}'. Set MODELOPS_TOKEN to the endpoint's token first.`,
      );
      return;
    }
    const inputs = res.body.inputs.map((i) => `${i.name}=${JSON.stringify(i.data[0])}`).join(', ');
    ctx.output.info(`test request to ${res.url}: ${inputs} → ${JSON.stringify(res.prediction)}`);
    void vscode.window
      .showInformationMessage(
        `ModelOps: ${versionRef} on '${target}' predicted ${predictionText(res)} for one row of ${res.rowSource}.`,
        COPY_CURL,
      )
      .then((pick) => {
        if (pick === COPY_CURL) void vscode.env.clipboard.writeText(curlCommand(res));
      });
  } catch (e) {
    void vscode.window.showErrorMessage(
      `ModelOps: the test request to '${target}' failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

export const rollbackDeployment: CommandFactory = (ctx) => async (arg?: unknown) => {
  const serving = servingFromArg(arg);
  const t = await pickTarget(ctx, 'Roll back the deployment on which endpoint?', serving?.target ?? targetFromArg(arg));
  if (!t) return;
  let model = serving?.model;
  if (!model) {
    const deployments = (await ctx.request(registry.listDeployments, { target: t.name })).filter(
      (d) => d.status === 'active',
    );
    const models = [...new Set(deployments.map((d) => d.model))];
    if (!models.length) throw new UserError(`Nothing is deployed on '${t.name}'.`);
    model =
      models.length === 1
        ? models[0]
        : await vscode.window.showQuickPick(models, { title: `Roll back which model on '${t.name}'?` });
    if (!model) return;
  }
  if (!(await allowTokenFor(ctx, t))) return;
  const active = (await ctx.request(registry.listDeployments, { target: t.name, model, limit: 1 }))[0];
  const ok = 'Roll Back';
  const choice = await vscode.window.showWarningMessage(
    `Switch '${t.name}' back from ${model}@${active?.version ?? '?'} to ${active?.previousVersion ?? 'the previous version'}?`,
    { modal: true },
    ok,
  );
  if (choice !== ok) return;
  const cfg = await findConfigUri();
  const record = await ctx.request(rpc.rollback, { target: t.name, model, ...(cfg ? { configUri: cfg } : {}) });
  void vscode.window.showInformationMessage(`ModelOps: '${t.name}' serves ${record.model}@${record.version} again.`);
};

/** Monitoring of an endpoint: control chart and drift panels, and a one-line summary. */
export async function showMonitoring(ctx: Ctx, r: MonitorResult): Promise<void> {
  alertsShown(r.alerts.map((a) => a.id));
  if (r.chart) {
    await ctx.charts.open({ kind: 'control', title: `${r.model} on ${r.target} · control chart`, data: r.chart });
  }
  // Windows without labels yet are on the estimate's own chart only (CBPE, DLE): shown at once
  // when there is no realised chart, else offered; in a panel of its own either way.
  const estimate = estimateChartToShow(r.chart, r.estimated?.chart);
  const estimateTitleText = r.estimated ? estimateTitle(r.estimated) : '';
  const showEstimate = async (): Promise<void> => {
    if (estimate)
      await ctx.charts.open({
        kind: 'control',
        title: `${r.model} on ${r.target} · ${estimateTitleText}`,
        data: estimate,
        // Its own panel: the realised control chart stays open beside it.
        slot: 'estimate',
      });
  };
  if (!r.chart) await showEstimate();
  if (r.drift) {
    await ctx.charts.open({
      kind: 'drift',
      title: `${r.model} on ${r.target} · drift`,
      data: {
        method: r.drift.method,
        threshold: r.drift.threshold,
        features: [...r.drift.features, { ...r.drift.predictions, name: '(predictions)' }].map((f) => ({
          feature: f.name,
          score: f.score,
          threshold: f.threshold,
          test: f.test,
          pValue: f.pValue,
          drifted: f.drifted,
        })),
        window: { size: r.window },
      },
    });
  }
  const drifted = r.drift ? r.drift.features.filter((f) => f.drifted).map((f) => f.name) : [];
  // monitor.since: the run started at a time (the earlier predictions are counted, not charted).
  const since = r.since
    ? ` since ${r.since.slice(0, 16).replace('T', ' ')} UTC (${r.beforeSince} earlier left out)`
    : '';
  const summary = `ModelOps: ${r.model} on '${r.target}': ${r.windowTable?.length ?? r.windows.length} windows of ${r.window} from ${r.totalPredictions} predictions${since} (${r.labelled} labelled)${
    drifted.length ? `; drift in ${drifted.join(', ')}` : r.drift ? '; no drift' : ''
  }${r.alerts.length ? `; ${summariseAlerts(r.alerts)}` : ''}.`;
  // An estimate on drifted inputs is an assumption: say so where the estimate is shown or offered.
  const caveat = estimate && r.estimated ? estimateCaveat(r.estimated, drifted) : '';
  const caveatText = caveat ? ` ${caveat[0].toUpperCase()}${caveat.slice(1)}.` : '';
  if (r.chart && estimate) {
    const unlabelled = estimate.values.length - r.chart.values.length;
    const SHOW = 'Show Estimate';
    void vscode.window
      .showInformationMessage(
        `${summary} ${unlabelled} window${unlabelled === 1 ? ' has' : 's have'} no labels yet: see the ${estimateTitleText}.${caveatText}`,
        SHOW,
      )
      .then((pick) => (pick === SHOW ? showEstimate() : undefined))
      .then(undefined, (e: unknown) => {
        void vscode.window.showErrorMessage(`ModelOps: ${e instanceof Error ? e.message : String(e)}`);
      });
  } else if (!r.chart && !r.drift && !estimate)
    void vscode.window.showInformationMessage(`${summary} ${r.chartNote ?? ''}`.trim());
  else void vscode.window.showInformationMessage(`${summary}${caveatText}`);
}

export const checkDrift: CommandFactory = (ctx) => async (arg?: unknown) => {
  const serving = servingFromArg(arg);
  const target = serving?.target ?? targetFromArg(arg);
  const cfg = await findConfigUri();
  const named = (await targets(ctx)).find((t) => t.name === target);
  if (named && !(await allowTokenFor(ctx, named))) return;
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'ModelOps: checking drift…' },
    () =>
      ctx.request(rpc.monitor, {
        ...(target ? { target } : {}),
        ...(serving ? { model: serving.model } : {}),
        ...(cfg ? { configUri: cfg } : {}),
      }),
  );
  await showMonitoring(ctx, r);
};
