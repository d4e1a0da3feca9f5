/**
 * Quality gates: `accuracy: ">= 0.9"`, `f1_macro: ">= production - 0.01"`,
 * `log_loss: "<= staging * 1.05"`, `accuracy: "== 1"`. A relative gate compares with the metric
 * of the version holding the alias. When no version holds that alias yet (the first model),
 * the gate passes and says so: there is nothing to regress against.
 */
import { ModelOpsError } from '../errors';
import type { GateReport, GateResult, Registry, VersionRecord } from '../registry/types';

export type GateOp = GateResult['op'];

export interface ParsedGate {
  op: GateOp;
  kind: 'absolute' | 'relative';
  value?: number;
  alias?: string;
  adjust?: '+' | '-' | '*';
  amount?: number;
  source: string;
}

const GATE = /^\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$/;
const NUM = '[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?';
const ABSOLUTE = new RegExp(`^(${NUM})$`);
const RELATIVE = new RegExp(`^([A-Za-z][\\w.-]*)(?:\\s*([-+*])\\s*(${NUM}))?$`);

export function parseGate(expression: string, metric = 'gate'): ParsedGate {
  const m = GATE.exec(expression);
  const bad = () =>
    new ModelOpsError(
      'bad-gate',
      `evaluate.gates.${metric}: '${expression}' is not a gate expression.`,
      "Write an operator and a number or an alias, e.g. '>= 0.9', '> production - 0.01' or '<= staging * 1.05'.",
    );
  if (!m) throw bad();
  const op = m[1] as GateOp;
  const rhs = m[2];
  const abs = ABSOLUTE.exec(rhs);
  if (abs) return { op, kind: 'absolute', value: Number(abs[1]), source: expression };
  const rel = RELATIVE.exec(rhs);
  if (!rel) throw bad();
  return {
    op,
    kind: 'relative',
    alias: rel[1],
    adjust: rel[2] as ParsedGate['adjust'] | undefined,
    amount: rel[3] === undefined ? undefined : Number(rel[3]),
    source: expression,
  };
}

const SYMBOL: Record<GateOp, string> = { '>=': '≥', '>': '>', '<=': '≤', '<': '<', '==': '=', '!=': '≠' };

function compare(op: GateOp, a: number, b: number): boolean {
  const tol = 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
  switch (op) {
    case '>=':
      return a >= b - tol;
    case '>':
      return a > b;
    case '<=':
      return a <= b + tol;
    case '<':
      return a < b;
    case '==':
      return Math.abs(a - b) <= tol;
    case '!=':
      return Math.abs(a - b) > tol;
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

export interface GateInput {
  /** metric → expression as written in the config. */
  gates: Record<string, string>;
  /** The metrics of the version under test. */
  metrics: Record<string, number>;
  /** Metrics of the version holding an alias, or null when no version holds it. */
  resolveAlias(alias: string): { version: string; metrics: Record<string, number> } | null;
}

export function evaluateGates(input: GateInput): GateReport {
  const results: GateResult[] = [];
  for (const [metric, expression] of Object.entries(input.gates)) {
    const gate = parseGate(expression, metric);
    const actual = input.metrics[metric];
    const has = typeof actual === 'number' && Number.isFinite(actual);
    if (gate.kind === 'absolute') {
      const threshold = gate.value as number;
      const passed = has && compare(gate.op, actual, threshold);
      results.push({
        metric,
        expression,
        op: gate.op,
        threshold,
        actual: has ? actual : null,
        passed,
        reference: null,
        message: has ? `${metric} ${fmt(actual)} ${passed ? SYMBOL[gate.op] : `is not ${SYMBOL[gate.op]}`} ${fmt(threshold)}` : `${metric} was not computed for this version`,
      });
      continue;
    }
    const alias = gate.alias as string;
    const ref = input.resolveAlias(alias);
    if (!ref) {
      results.push({
        metric,
        expression,
        op: gate.op,
        threshold: null,
        actual: has ? actual : null,
        passed: true,
        reference: { alias, version: null },
        message: `${metric}: no version holds '${alias}' yet, so there is nothing to compare with (passes)`,
      });
      continue;
    }
    const base = ref.metrics[metric];
    if (typeof base !== 'number' || !Number.isFinite(base)) {
      results.push({
        metric,
        expression,
        op: gate.op,
        threshold: null,
        actual: has ? actual : null,
        passed: false,
        reference: { alias, version: ref.version },
        message: `${metric}: ${alias} (${ref.version}) has no ${metric} to compare with`,
      });
      continue;
    }
    const amount = gate.amount ?? 0;
    const threshold = gate.adjust === '+' ? base + amount : gate.adjust === '-' ? base - amount : gate.adjust === '*' ? base * amount : base;
    const passed = has && compare(gate.op, actual, threshold);
    results.push({
      metric,
      expression,
      op: gate.op,
      threshold,
      actual: has ? actual : null,
      passed,
      reference: { alias, version: ref.version },
      message: has
        ? `${metric} ${fmt(actual)} ${passed ? SYMBOL[gate.op] : `is not ${SYMBOL[gate.op]}`} ${fmt(threshold)} (${alias} ${ref.version}: ${fmt(base)})`
        : `${metric} was not computed for this version`,
    });
  }
  return { passed: results.every((r) => r.passed), results, evaluatedAt: new Date().toISOString(), override: null };
}

/** Resolves aliases through the registry: the metrics of `model@alias`, or null. */
export function registryAliasResolver(registry: Registry, model: string): GateInput['resolveAlias'] {
  return (alias) => {
    let v: VersionRecord;
    try {
      v = registry.getVersion(`${model}@${alias}`);
    } catch {
      return null;
    }
    return { version: v.version, metrics: v.metrics };
  };
}
