/** Pure formatting for tree items: no `vscode`, so it is unit-testable. */
import { formatBytes } from '../../shared/format';
import type { RunRecord, VersionRecord } from '../../server/engine/registry/types';
import { gateLabel, gateState, isNotEvaluated, type GateState } from '../../shared/gateState';
import type { VersionStatus } from '../../server/protocol/governance';

/** Metrics shown first when a version has them: the most telling one per task. */
const KEY_METRICS = ['accuracy', 'f1_macro', 'roc_auc', 'r2', 'rmse', 'mae', 'log_loss'];

export function keyMetric(metrics: Record<string, number>, preferred?: string): [string, number] | null {
  if (preferred && typeof metrics[preferred] === 'number') return [preferred, metrics[preferred]];
  for (const m of KEY_METRICS) if (typeof metrics[m] === 'number') return [m, metrics[m]];
  const first = Object.entries(metrics).find(([, v]) => typeof v === 'number');
  return first ?? null;
}

const SHORT: Record<string, string> = { accuracy: 'acc', f1_macro: 'F1', roc_auc: 'AUC', log_loss: 'log loss' };

export function formatMetric(name: string, value: number): string {
  const v = Math.abs(value) >= 100 ? value.toFixed(1) : Math.abs(value) >= 1 ? value.toFixed(3) : value.toFixed(3);
  return `${SHORT[name] ?? name} ${v}`;
}

/** "acc 0.912 · production, staging · ⇢ local" */
export function versionDescription(v: VersionRecord, preferredMetric?: string): string {
  const parts: string[] = [];
  const km = keyMetric(v.metrics, preferredMetric);
  if (km) parts.push(formatMetric(km[0], km[1]));
  if (v.aliases.length) parts.push(v.aliases.join(', '));
  if (v.deployedTo.length) parts.push(`⇢ ${v.deployedTo.join(', ')}`);
  if (v.archived) parts.push('archived');
  // A gate state that is not a plain pass is said in words too, not only by the icon.
  const state = gateState(v.gates);
  if (state === 'failed' || state === 'not-evaluated' || state === 'overridden') parts.push(gateLabel(v.gates));
  return parts.join(' · ');
}

/** The tree icon of a version by gate state: codicon id and theme colour (null: default colour). */
export function gateIcon(v: VersionRecord): { id: string; color: string | null } {
  const state: GateState = gateState(v.gates);
  switch (state) {
    case 'passed':
      return { id: 'pass', color: 'testing.iconPassed' };
    case 'failed':
      return { id: 'error', color: 'testing.iconFailed' };
    case 'overridden':
      // Shipped on a written reason: a warning, never the green check of a pass.
      return { id: 'warning', color: 'list.warningForeground' };
    case 'not-evaluated':
      return { id: 'question', color: 'list.warningForeground' };
    case 'none':
      return { id: v.aliases.length ? 'tag' : 'circle-outline', color: null };
  }
}

/** contextValue drives the menus: "version", plus ":aliased", ":deployed", ":archived", ":gates-failed" / ":gates-not-evaluated". */
export function versionContext(v: VersionRecord): string {
  let c = 'version';
  if (v.aliases.length) c += ':aliased';
  if (v.deployedTo.length) c += ':deployed';
  if (v.archived) c += ':archived';
  const state = gateState(v.gates);
  if (state === 'failed') c += ':gates-failed';
  else if (state === 'not-evaluated') c += ':gates-not-evaluated';
  return c;
}

export function shortDigest(d: string | null | undefined): string {
  if (!d) return '—';
  return d.replace(/^sha256:/, '').slice(0, 12);
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** "3 min ago", for descriptions. */
export function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Escapes markdown's inline syntax in text placed mid-line of a MarkdownString. */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#!|<>]/g, (c) => `\\${c}`);
}

/** The tooltip of a version: lineage, gates, artifact. Markdown. */
export function versionTooltip(v: VersionRecord): string {
  const lines: string[] = [];
  lines.push(`**${md(v.model)}@${md(v.version)}**${v.archived ? ' _(archived)_' : ''}`, '');
  if (v.note) lines.push(md(v.note), '');
  if (v.aliases.length) lines.push(`Aliases: ${v.aliases.map((a) => `\`${a}\``).join(', ')}  `);
  if (v.deployedTo.length) lines.push(`Deployed to: ${v.deployedTo.map(md).join(', ')}  `);
  const metrics = Object.entries(v.metrics);
  if (metrics.length)
    lines.push(
      `Metrics: ${metrics
        .slice(0, 8)
        .map(([k, x]) => `${md(k)} ${x.toFixed(4)}`)
        .join(' · ')}  `,
    );
  if (v.gates) {
    const state = gateState(v.gates);
    const head =
      state === 'passed'
        ? 'passed'
        : isNotEvaluated(v.gates)
          ? `not evaluated — ${md(v.gates.notEvaluated)}`
          : `${v.gates.results.filter((r) => !r.passed).length} failed`;
    lines.push(`Gates: ${head}${v.gates.override ? ` (overridden: ${md(v.gates.override.reason)})` : ''}  `);
    if (state !== 'passed' && !isNotEvaluated(v.gates))
      for (const r of v.gates.results.filter((x) => !x.passed)) lines.push(`  - ${md(r.message)}  `);
  }
  lines.push('', '**Lineage**  ');
  lines.push(`Run: ${v.runId ? `\`${v.runId}\`` : '—'}  `);
  lines.push(`Parent: ${v.parentVersion ? md(v.parentVersion) : '—'}  `);
  lines.push(`Config: ${v.configDigest ? `\`${shortDigest(v.configDigest)}\`` : '—'}  `);
  for (const d of v.datasets) lines.push(`Data (${d.role}): ${md(d.path)} \`${shortDigest(d.digest)}\`  `);
  if (v.gitCommit) lines.push(`Git: \`${v.gitCommit.slice(0, 10)}\`${v.gitDirty ? ' (uncommitted changes)' : ''}  `);
  lines.push(`Artifact: \`${shortDigest(v.artifactDigest)}\` · ${v.format} · ${formatBytes(v.sizeBytes)}  `);
  lines.push(`Created: ${md(v.createdAt)}`);
  return lines.join('\n');
}

export interface GovernanceView {
  /** 'approved' when a valid approval exists for a protected alias or target; 'pending' when one is needed and none exists. */
  approval: 'approved' | 'pending' | 'none';
  /** Replaces the gate icon when the gates do not call for attention first. */
  icon: { id: string; color: string | null } | null;
  /** Markdown lines for the tooltip. */
  lines: string[];
}

/**
 * Approval and fairness of a version for the tree: per protected alias or target, approved (by
 * whom) or pending; and the worst fairness gap with its gate state. Failing, unevaluated or
 * overridden gates keep their icon: they must be fixed (or stay visibly overridden) whatever the approval.
 */
export function governanceView(v: VersionRecord, s: VersionStatus | undefined): GovernanceView {
  const lines: string[] = [];
  let approval: GovernanceView['approval'] = 'none';
  if (s) {
    const names = [
      ...s.protectedAliases.map((n) => ({ n, sod: s.separationOfDuties })),
      ...s.protectedTargets.map((t) => ({ n: t.name, sod: t.separationOfDuties })),
    ];
    const approvedFor: string[] = [];
    const pendingFor: string[] = [];
    for (const { n } of names) {
      const a = s.approvals.find((x) => x.version === v.version && x.name === n && x.valid);
      if (a) {
        approvedFor.push(n);
        lines.push(`Approval: **approved** for \`${md(n)}\` by ${md(a.approver)} (${md(a.at)})  `);
      } else if (v.aliases.includes(n)) {
        lines.push(`Approval: holds \`${md(n)}\` with no approval recorded (moved before it was protected)  `);
      } else {
        pendingFor.push(n);
        const void_ = s.approvals.find((x) => x.version === v.version && x.name === n && !x.valid);
        lines.push(
          `Approval: **pending** for \`${md(n)}\`${void_ ? ' (an earlier approval is void: the artifact changed)' : ''}  `,
        );
      }
    }
    approval = approvedFor.length ? 'approved' : pendingFor.length ? 'pending' : 'none';
    const f = s.fairness[v.version];
    if (f) {
      const gate =
        f.gates.find((g) => f.worst && g.metric === f.worst.name) ?? f.gates.find((g) => !g.passed) ?? f.gates[0];
      lines.push(
        `Fairness: ${f.worst ? `worst gap ${md(f.worst.name)} ${f.worst.value.toFixed(4)}` : 'no gap computed'}${gate ? ` — gate ${md(gate.metric)} ${md(gate.expression)} ${gate.passed ? 'passed' : '**failed**'}` : ' — no fairness gate'}  `,
      );
    }
  }
  const state = gateState(v.gates);
  // An approval does not turn overridden gates into a green mark: the override's warning stays
  // (the description says "approved" in words).
  const gatesCallFirst = state === 'failed' || state === 'not-evaluated' || state === 'overridden';
  const icon =
    gatesCallFirst || approval === 'none'
      ? null
      : approval === 'approved'
        ? { id: 'verified-filled', color: 'testing.iconPassed' }
        : { id: 'shield', color: 'list.warningForeground' };
  return { approval, icon, lines };
}

export function runLabel(r: RunRecord): string {
  const method = r.kind === 'optimize' && typeof r.params.method === 'string' ? ` (${r.params.method})` : '';
  return `${r.kind}${method}${r.model ? ` ${r.model}` : ''}`;
}

/**
 * Local clock time for a list that stays on screen: "14:32" today, "26 Nov 14:32" this year, else
 * with the year. Unlike "7 s ago" it cannot go stale while the tree is not refreshed.
 */
export function clockTime(iso: string, now = Date.now()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const n = new Date(now);
  const hm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  if (t.toDateString() === n.toDateString()) return hm;
  const day = `${t.getDate()} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][t.getMonth()]}`;
  return t.getFullYear() === n.getFullYear() ? `${day} ${hm}` : `${day} ${t.getFullYear()} ${hm}`;
}

/** `clock: 'absolute'` for the tree (labels that stay up), relative for a quick pick shown now. */
export function runDescription(r: RunRecord, now = Date.now(), clock: 'relative' | 'absolute' = 'relative'): string {
  const parts: string[] = [r.status];
  if (r.version) parts.push(`→ ${r.version}`);
  if (r.durationMs !== null) parts.push(formatDuration(r.durationMs));
  parts.push(clock === 'absolute' ? clockTime(r.startedAt, now) : ago(r.startedAt, now));
  return parts.join(' · ');
}

/** The registry's model name rule (server/engine/registry/refs.ts). */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A model name from a file or folder path: lower case, path-safe; "model" when nothing fits. */
export function suggestModelName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  let base = parts.pop() ?? 'model';
  // model.json / saved_model.pb name their folder's model.
  if ((base === 'model.json' || base === 'saved_model.pb') && parts.length) base = parts.pop() ?? base;
  const name = base
    .replace(/\.[^.]+$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return MODEL_NAME.test(name) ? name : 'model';
}

/** A run id short enough for a label: "20261124-122825-2e7edb" → "122825-2e7edb". */
export function shortRunId(id: string): string {
  const parts = id.split('-');
  return parts.length >= 3 ? parts.slice(-2).join('-') : id.slice(0, 12);
}

/** `model.name` of a config's text, without parsing it (only for a panel title). */
export function modelNameIn(text: string): string | undefined {
  const m = /^model:[^\n]*\n(?:[ \t]+[^\n]*\n|[ \t]*(?:#[^\n]*)?\n)*?[ \t]+name:[ \t]*["']?([\w.-]+)/m.exec(text);
  return m?.[1];
}

/**
 * The count and first error of the engine's `config-invalid` message ("<path> has 2 errors:\n
 * <path>:9:11 error data.target: …"), for a short message whose action opens the config there.
 * Positions are 0-based; undefined when the message is not one of those.
 */
export function firstConfigError(
  message: string,
): { count: number; line: number; character: number; text: string } | undefined {
  const count = /has (\d+) errors?:/.exec(message);
  const first = /:(\d+):(\d+) error (.+)$/m.exec(message);
  if (!count || !first) return undefined;
  return {
    count: Number(count[1]),
    line: Number(first[1]) - 1,
    character: Number(first[2]) - 1,
    text: first[3].replace(/ \[[\w-]+\]$/, ''),
  };
}

export { formatBytes };
