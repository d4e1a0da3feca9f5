/**
 * Model cards (Mitchell et al., 2019, "Model Cards for Model Reporting"): what the registry
 * knows about a version (details, lineage, data, metrics and gates, approvals, audit entries,
 * deployments) plus the prose of `model.card` in the config the version was registered with.
 * Rendered as Markdown or as one self-contained HTML page under a strict CSP with no script;
 * every stored string is escaped, since versions, notes, comments and actors are user input.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { gateLabel, gateState, type GateState } from '../../../shared/gateState';
import type { ModelCardConfig } from '../config/types';
import type {
  ApprovalRecord,
  AuditEntry,
  DeploymentRecord,
  GateReport,
  Registry,
  Signature,
  VersionRecord,
} from '../registry/types';
import { readStoredImportance, type StoredImportance } from '../explain';
import { readStoredFairness, type StoredFairness } from '../evaluation/evaluate';
import { FAIRNESS_METRICS } from '../config/types';

export interface CardData {
  role: string;
  path: string;
  digest: string;
  rows: number | null;
  columns: string[] | null;
}

export interface ModelCard {
  generatedAt: string;
  version: VersionRecord;
  card: ModelCardConfig;
  /** Where the prose came from: the config stored with the version, the workspace's, or none. */
  cardSource: 'version config' | 'workspace config' | 'none';
  features: string[] | null;
  target: string | null;
  split: { train: number; validation: number; test: number; seed: number } | null;
  data: CardData[];
  gateState: GateState;
  gateLabel: string;
  gates: GateReport | null;
  approvals: ApprovalRecord[];
  audit: AuditEntry[];
  deployments: DeploymentRecord[];
  /** Per-group metrics stored by the last evaluation or training with `evaluate.fairness`. */
  fairness: StoredFairness | null;
  /** Global importance stored by `modelops explain` / the editor's Explain. */
  importance: StoredImportance | null;
}

/** Sections that are not computed yet say so rather than being left out. */
export const NOT_COMPUTED = {
  fairness:
    'Not computed: per-group metrics are not stored with this version (set evaluate.fairness in modelops.yaml and run modelops evaluate).',
  explanations:
    'Not computed: no global explanation is stored with this version yet (run modelops explain, or ModelOps: Explain in the editor).',
} as const;

interface StoredConfig {
  card: ModelCardConfig | null;
  features: string[] | null;
  target: string | null;
  split: ModelCard['split'];
}

/** Reads what the card needs from a config text, leniently (a card is a report, not a validator). */
export function readStoredConfig(text: string | null): StoredConfig {
  const none: StoredConfig = { card: null, features: null, target: null, split: null };
  if (!text) return none;
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return none;
  }
  const o = (v: unknown): Record<string, unknown> =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const root = o(doc);
  const data = o(root.data);
  const split = o(data.split);
  const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const rawCard = o(root.model).card;
  return {
    card: rawCard === undefined ? null : cardOf(o(rawCard)),
    features: Array.isArray(data.features) ? data.features.filter((f): f is string => typeof f === 'string') : null,
    target: typeof data.target === 'string' ? data.target : null,
    split:
      data.split === undefined && !root.data
        ? null
        : {
            train: num(split.train, 0.7),
            validation: num(split.validation, 0.15),
            test: num(split.test, 0.15),
            seed: num(split.seed, 42),
          },
  };
}

function cardOf(c: Record<string, unknown>): ModelCardConfig {
  const card: ModelCardConfig = {};
  for (const k of ['owner', 'description', 'license'] as const) if (typeof c[k] === 'string') card[k] = c[k] as string;
  for (const k of ['intendedUse', 'intendedUsers', 'outOfScopeUses', 'ethicalConsiderations', 'caveats'] as const) {
    const v = c[k];
    if (Array.isArray(v)) card[k] = v.filter((x): x is string => typeof x === 'string');
    else if (typeof v === 'string') card[k] = [v];
  }
  return card;
}

export interface BuildCardOptions {
  /** `model.card` of the workspace config, used when the version's own config has none. */
  workspaceCard?: ModelCardConfig;
  now?: Date;
}

export async function buildModelCard(
  registry: Registry,
  ref: string,
  options: BuildCardOptions = {},
): Promise<ModelCard> {
  const version = registry.getVersion(ref);
  const label = `${version.model}@${version.version}`;
  let text: string | null = null;
  try {
    text = await registry.configText(label);
  } catch {
    text = null; // a corrupt stored config is reported by `versions show`; the card falls back
  }
  const stored = readStoredConfig(text);
  const card = stored.card ?? options.workspaceCard ?? {};
  const cardSource: ModelCard['cardSource'] = stored.card
    ? 'version config'
    : options.workspaceCard
      ? 'workspace config'
      : 'none';
  const known = new Map(registry.listDatasets().map((d) => [d.digest, d]));
  const data: CardData[] = version.datasets.map((d) => {
    const rec = known.get(d.digest);
    return {
      role: d.role,
      path: d.path,
      digest: d.digest,
      rows: rec?.rows ?? null,
      columns: rec ? rec.columns.map((c) => c.name) : null,
    };
  });
  const features = stored.features ?? signatureFeatures(version.signature);
  const mine = (e: AuditEntry): boolean =>
    e.version === version.version || (e.action === 'alias.set' && e.version === version.version);
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    version,
    card,
    cardSource,
    features,
    target: stored.target,
    split: stored.split,
    data,
    gateState: gateState(version.gates),
    gateLabel: gateLabel(version.gates),
    gates: version.gates,
    approvals: registry
      .listApprovals({ model: version.model, limit: 1000 })
      .filter((a) => a.version === version.version),
    audit: registry.auditLog({ model: version.model }).filter(mine),
    deployments: registry
      .listDeployments({ model: version.model, limit: 1000 })
      .filter((d) => d.version === version.version),
    fairness: await readStoredFairness(registry, label),
    importance: await readStoredImportance(registry, label),
  };
}

function signatureFeatures(sig: Signature | null): string[] | null {
  if (!sig || sig.inputs.length < 2) return null;
  return sig.inputs.map((i) => i.name);
}

function signatureText(sig: Signature | null): string {
  if (!sig) return 'not recorded';
  const t = (xs: Signature['inputs']) => xs.map((x) => `${x.name}: ${x.datatype}[${x.shape.join(', ')}]`).join('; ');
  return `inputs ${t(sig.inputs)} → outputs ${t(sig.outputs)}`;
}

const fmtNum = (v: number): string =>
  Number.isInteger(v) ? String(v) : Math.abs(v) >= 0.001 ? v.toFixed(4) : v.toExponential(3);

/** One sentence per audit entry, from its stored fields. */
function auditLine(e: AuditEntry): string {
  const after = e.after && typeof e.after === 'object' ? (e.after as Record<string, unknown>) : {};
  const bits: string[] = [];
  for (const k of ['reason', 'forceReason', 'comment', 'status'])
    if (typeof after[k] === 'string' && after[k]) bits.push(`${k}: ${String(after[k])}`);
  return `#${e.seq} ${e.at} ${e.action} ${e.subject} by ${e.actor}${bits.length ? ` (${bits.join('; ')})` : ''}`;
}

interface Section {
  title: string;
  /** Rows of [label, value] or paragraphs / list items. */
  fields?: Array<[string, string]>;
  items?: string[];
  text?: string;
  table?: { head: string[]; rows: string[][] };
}

/** The card as sections in the order of Mitchell et al. (2019); both renderers walk this. */
export function cardSections(c: ModelCard): Section[] {
  const v = c.version;
  const none = (xs: string[] | undefined, what: string): string[] =>
    xs && xs.length ? xs : [`Not stated (add model.card.${what} to modelops.yaml).`];
  const sections: Section[] = [];
  sections.push({
    title: 'Model details',
    fields: [
      ['Model', v.model],
      ['Version', v.version],
      ['Owner', c.card.owner ?? 'not stated (model.card.owner)'],
      ...(c.card.description ? ([['Description', c.card.description]] as Array<[string, string]>) : []),
      ['Format', v.format],
      ['Artifact', `${v.artifactDigest} (${v.artifactKind}, ${v.sizeBytes} bytes)`],
      ['Signature', signatureText(v.signature)],
      ['Registered', `${v.createdAt} by ${v.registeredBy ?? 'unknown (before the audit trail)'}`],
      [
        'Lineage',
        `parent ${v.parentVersion ?? 'none'}; run ${v.runId ?? 'none'}; git ${v.gitCommit ?? 'unknown'}${v.gitDirty ? ' (uncommitted changes)' : ''}; config ${v.configDigest ?? 'not recorded'}`,
      ],
      ['Aliases', v.aliases.length ? v.aliases.join(', ') : 'none'],
      ['Tags', v.tags.length ? v.tags.join(', ') : 'none'],
      ...(v.note ? ([['Note', v.note]] as Array<[string, string]>) : []),
      ...(c.card.license ? ([['License', c.card.license]] as Array<[string, string]>) : []),
    ],
  });
  sections.push({
    title: 'Intended use',
    items: [
      ...none(c.card.intendedUse, 'intendedUse'),
      ...(c.card.intendedUsers?.length ? c.card.intendedUsers.map((u) => `Intended user: ${u}`) : []),
    ],
  });
  sections.push({ title: 'Out-of-scope uses', items: none(c.card.outOfScopeUses, 'outOfScopeUses') });
  sections.push({
    title: 'Training and evaluation data',
    fields: [
      ['Target', c.target ?? 'not recorded'],
      ['Features', c.features?.length ? c.features.join(', ') : 'not recorded'],
      [
        'Split',
        c.split
          ? `train ${c.split.train}, validation ${c.split.validation}, test ${c.split.test} (seed ${c.split.seed}; files given explicitly are used as they are)`
          : 'not recorded',
      ],
    ],
    table: c.data.length
      ? {
          head: ['Role', 'Path', 'Digest', 'Rows', 'Columns'],
          rows: c.data.map((d) => [
            d.role,
            d.path,
            d.digest,
            d.rows === null ? '?' : String(d.rows),
            d.columns ? String(d.columns.length) : '?',
          ]),
        }
      : undefined,
    text: c.data.length ? undefined : 'No datasets recorded with this version.',
  });
  const metricNames = Object.keys(v.metrics).sort();
  const gateRows = (c.gates?.results ?? []).map((g) => [
    g.metric,
    g.expression,
    g.actual === null ? '—' : fmtNum(g.actual),
    g.passed ? 'passed' : 'failed',
    g.message,
  ]);
  sections.push({
    title: 'Metrics and gates',
    fields: [
      ['Gate state', c.gateLabel],
      ...(c.gates?.override
        ? ([['Override', `${c.gates.override.reason} (${c.gates.override.at})`]] as Array<[string, string]>)
        : []),
      ...(c.gates?.notEvaluated ? ([['Not evaluated', c.gates.notEvaluated]] as Array<[string, string]>) : []),
      ...metricNames.map((m): [string, string] => [m, fmtNum(v.metrics[m])]),
    ],
    table: gateRows.length ? { head: ['Metric', 'Gate', 'Value', 'State', 'Detail'], rows: gateRows } : undefined,
  });
  sections.push(...fairnessSections(c));
  sections.push(importanceSection(c));
  sections.push({
    title: 'Ethical considerations',
    items: none(c.card.ethicalConsiderations, 'ethicalConsiderations'),
  });
  sections.push({ title: 'Caveats and recommendations', items: none(c.card.caveats, 'caveats') });
  sections.push({
    title: 'Approvals',
    table: c.approvals.length
      ? {
          head: ['#', 'For', 'Approver', 'When', 'Artifact', 'Valid', 'Comment'],
          rows: c.approvals.map((a) => [
            String(a.id),
            `${a.scope} ${a.name}`,
            a.approver,
            a.at,
            a.artifactDigest,
            a.valid ? 'yes' : 'void',
            a.comment ?? '',
          ]),
        }
      : undefined,
    text: c.approvals.length ? undefined : 'No approvals.',
  });
  sections.push({ title: 'Audit entries', items: c.audit.length ? c.audit.map(auditLine) : ['None.'] });
  sections.push({
    title: 'Deployment history',
    table: c.deployments.length
      ? {
          head: ['#', 'Target', 'Status', 'When', 'Previous', 'Reason'],
          rows: c.deployments.map((d) => [
            String(d.id),
            d.target,
            d.status,
            d.at,
            d.previousVersion ?? '',
            d.reason ?? '',
          ]),
        }
      : undefined,
    text: c.deployments.length ? undefined : 'Never deployed.',
  });
  return sections;
}

const fmtOpt = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? fmtNum(v) : 'not computed';

/** The stored fairness report: the Fairlearn metrics with their gates, then one table per breakdown. */
function fairnessSections(c: ModelCard): Section[] {
  const f = c.fairness;
  if (!f) return [{ title: 'Fairness by group', text: NOT_COMPUTED.fairness }];
  const r = f.report;
  const gate = (m: string): string => {
    const g = c.gates?.results.find((x) => x.metric === m);
    return g ? `${g.expression}: ${g.passed ? 'passed' : 'failed'}` : 'no gate';
  };
  const fields: Array<[string, string]> = [
    ['Computed', `${f.computedAt} on ${f.data}`],
    ['Sensitive columns', r.sensitive.join(', ')],
    ['Minimum group size', `${r.minGroupSize} (smaller groups are shown, marked *, and left out of the gaps)`],
    ...(r.positiveLabel ? ([['Positive label', r.positiveLabel]] as Array<[string, string]>) : []),
    ...FAIRNESS_METRICS.filter((m) => m in r.fairness).map((m): [string, string] => [
      m,
      `${fmtOpt(r.fairness[m])} (${gate(m)})`,
    ]),
  ];
  const out: Section[] = [{ title: 'Fairness by group', fields, items: r.notes.length ? r.notes : undefined }];
  for (const b of r.breakdowns) {
    out.push({
      title: `Fairness by ${b.by.join(' × ')}`,
      table: {
        head: ['Group', 'Rows', ...r.metrics],
        rows: [
          ...b.groups.map((g) => [
            `${g.name}${g.small ? ' *' : ''}`,
            String(g.count),
            ...r.metrics.map((m) => fmtOpt(g.values[m])),
          ]),
          ['difference (max − min)', '', ...r.metrics.map((m) => fmtOpt(b.gaps[m]?.difference))],
          ['ratio (min / max)', '', ...r.metrics.map((m) => fmtOpt(b.gaps[m]?.ratio))],
        ],
      },
    });
  }
  return out;
}

/** Stored global importance: mean |SHAP| beside permutation importance ± std, most important first. */
function importanceSection(c: ModelCard): Section {
  const s = c.importance;
  if (!s) return { title: 'Global explanations', text: NOT_COMPUTED.explanations };
  const perm = new Map(s.permutation.features.map((p) => [p.feature, p]));
  const order = s.meanAbsShap.features.map((f, i) => ({ f, v: s.meanAbsShap.overall[i] })).sort((a, b) => b.v - a.v);
  return {
    title: 'Global explanations',
    fields: [
      ['Computed', `${s.computedAt} on ${s.data}`],
      [
        'Shapley values',
        `${s.method}, interventional, against ${s.background} background rows of the training split (mean |SHAP| over ${s.meanAbsShap.rows} rows, probability space)`,
      ],
      [
        'Permutation importance',
        `drop in ${s.permutation.metric} (baseline ${fmtNum(s.permutation.baseline)}) over ${s.permutation.repeats} repeats on ${s.permutation.rows} test rows`,
      ],
    ],
    table: {
      head: ['Feature', 'mean |SHAP|', 'Permutation importance', '± std'],
      rows: order.map(({ f, v }) => {
        const p = perm.get(f);
        return [f, fmtNum(v), p ? fmtNum(p.mean) : '—', p ? fmtNum(p.std) : '—'];
      }),
    },
  };
}

// ── Markdown ───────────────────────────────────────────────────────────────────

/** Text that Markdown shows as typed: HTML and Markdown syntax escaped, one line. */
export function mdText(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/^(\s*)([-=])/g, '$1\\$2');
}

export function renderCardMarkdown(c: ModelCard): string {
  const v = c.version;
  const out: string[] = [
    `# Model card: ${mdText(`${v.model}@${v.version}`)}`,
    '',
    `Generated ${mdText(c.generatedAt)} by ModelOps. Prose from: ${c.cardSource}.`,
    '',
  ];
  for (const s of cardSections(c)) {
    out.push(`## ${s.title}`, '');
    if (s.fields) {
      for (const [k, val] of s.fields) out.push(`- **${mdText(k)}**: ${mdText(val)}`);
      out.push('');
    }
    if (s.items) {
      for (const i of s.items) out.push(`- ${mdText(i)}`);
      out.push('');
    }
    if (s.table) {
      out.push(`| ${s.table.head.map(mdText).join(' | ')} |`, `|${s.table.head.map(() => ' --- ').join('|')}|`);
      for (const r of s.table.rows) out.push(`| ${r.map(mdText).join(' | ')} |`);
      out.push('');
    }
    if (s.text) out.push(mdText(s.text), '');
  }
  return out.join('\n');
}

// ── HTML ───────────────────────────────────────────────────────────────────────

export function escapeHtml(s: string): string {
  return s
    .replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ');
}

const STYLE = `body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;word-break:break-word}
dt{font-weight:600}dd{margin:0 0 .4rem 1rem;word-break:break-word}.muted{color:#666}`;

/** The CSP of an HTML card: nothing may load or run; only the one inline style, by hash. */
export function cardCsp(): string {
  const hash = createHash('sha256').update(STYLE).digest('base64');
  return `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; base-uri 'none'; form-action 'none'`;
}

export function renderCardHtml(c: ModelCard): string {
  const v = c.version;
  const e = escapeHtml;
  const body: string[] = [
    `<h1>Model card: ${e(`${v.model}@${v.version}`)}</h1>`,
    `<p class="muted">Generated ${e(c.generatedAt)} by ModelOps. Prose from: ${e(c.cardSource)}.</p>`,
  ];
  for (const s of cardSections(c)) {
    body.push(`<section><h2>${e(s.title)}</h2>`);
    if (s.fields) body.push(`<dl>${s.fields.map(([k, val]) => `<dt>${e(k)}</dt><dd>${e(val)}</dd>`).join('')}</dl>`);
    if (s.items) body.push(`<ul>${s.items.map((i) => `<li>${e(i)}</li>`).join('')}</ul>`);
    if (s.table) {
      body.push(
        `<table><thead><tr>${s.table.head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${s.table.rows.map((r) => `<tr>${r.map((x) => `<td>${e(x)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
      );
    }
    if (s.text) body.push(`<p>${e(s.text)}</p>`);
    body.push('</section>');
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(cardCsp())}">
<meta name="referrer" content="no-referrer">
<title>Model card: ${e(`${v.model}@${v.version}`)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
