/**
 * Policies for live alerts (`monitor.on` in modelops.yaml), run by the follower
 * (`modelops monitor --follow`, and the editor's sidecar), never by the model server:
 *   monitor:
 *     on: { alert: notify, we1: rollback }
 * A rule's own key (`we1` … `we4`, `drift`, `cbpe`) wins over `alert`; nothing configured means notify.
 * `cbpe` covers every alert on an estimate: CBPE's (`cbpe:we<n>`) and DLE's (`dle:we<n>`).
 * - notify: the alert is recorded in the registry (once per rule and message) and shown;
 * - retrain: the same, and the outcome names the retrain command (it is not started here);
 * - rollback: the target switches back to the version that served before, through the deploy
 *   engine's `rollback` (smoke test, switch, deployment record), with the reason — rule, window,
 *   value — in the deployment record and so in the audit trail's `deploy` entry. Only the version
 *   the alert is about is rolled back: an alert about a version that no longer serves does nothing.
 */
import type { MonitorAction, MonitorPolicyConfig } from '../config/types';
import { rollback, type TargetAccess } from '../deploy/deploy';
import { describeError } from '../errors';
import type { AlertRecord, DeploymentRecord } from '../registry/types';
import type { LiveAlert } from './live/window';

export interface PolicyOutcome {
  action: MonitorAction;
  /** The policy key that chose the action ('default' when none matched). */
  because: string;
  /** The registry's record of the alert (null when the same alert was recorded before). */
  alert: AlertRecord | null;
  /** rollback: the new deployment; null when skipped or failed. */
  deployment: DeploymentRecord | null;
  /** What was done or why nothing was, for people. */
  detail: string;
  ok: boolean;
}

/** The action for a rule: its own key, then `drift` / `cbpe` (CBPE and DLE) for their alerts, then `alert`, else notify. */
export function actionFor(
  on: MonitorPolicyConfig | undefined,
  rule: string,
): { action: MonitorAction; because: string } {
  const own = on?.[rule as keyof MonitorPolicyConfig];
  if (own) return { action: own, because: rule };
  if (rule.startsWith('drift:') && on?.drift) return { action: on.drift, because: 'drift' };
  // An estimate's rule (cbpe:we1, dle:we1) is not the realised metric's: `we1` does not cover it.
  if ((rule.startsWith('cbpe:') || rule.startsWith('dle:')) && on?.cbpe) return { action: on.cbpe, because: 'cbpe' };
  if (on?.alert) return { action: on.alert, because: 'alert' };
  return { action: 'notify', because: 'default' };
}

export interface PolicyOptions extends TargetAccess {
  target: string;
  on: MonitorPolicyConfig | undefined;
  alert: LiveAlert;
  /** Keys of alerts recorded already (rule + message), shared across calls; filled here. */
  seen?: Set<string>;
}

/** Records the alert and runs the configured action. Never throws: a failed action is the outcome. */
export async function runPolicy(options: PolicyOptions): Promise<PolicyOutcome> {
  const { registry, target, alert } = options;
  const { action, because } = actionFor(options.on, alert.rule);
  const key = `${alert.rule}\u0000${alert.message}`;
  let record: AlertRecord | null = null;
  if (!options.seen?.has(key)) {
    options.seen?.add(key);
    record = registry.recordAlert({
      target,
      model: alert.model,
      version: alert.version,
      rule: alert.rule,
      metric: alert.metric,
      message: alert.message,
    });
  }
  const base = { action, because, alert: record, deployment: null };
  if (action === 'notify') return { ...base, detail: 'recorded', ok: true };
  if (action === 'retrain')
    return { ...base, detail: `retrain requested: run \`modelops train --from-traffic ${target}\``, ok: true };
  const active = registry.activeDeployment(target, alert.model);
  if (!active || active.version !== alert.version) {
    return {
      ...base,
      detail: `not rolled back: ${alert.model}@${alert.version} no longer serves on '${target}'${active ? ` (${active.version} does)` : ''}`,
      ok: true,
    };
  }
  const reason = `automatic rollback by monitor.on.${because} after ${alert.rule} in live window ${alert.window + 1} (${alert.metric} ${alert.value.toFixed(3)}): ${alert.message}`;
  try {
    const deployment = await rollback({ ...options, target, model: alert.model, reason });
    return {
      ...base,
      deployment,
      detail: `rolled back ${alert.model} on '${target}' from ${alert.version} to ${deployment.version} (deployment #${deployment.id})`,
      ok: true,
    };
  } catch (e) {
    return { ...base, detail: `rollback failed: ${describeError(e)}`, ok: false };
  }
}
