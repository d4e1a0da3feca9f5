/**
 * Quality gates: `accuracy: ">= 0.9"`, `f1_macro: ">= production - 0.01"`,
 * `log_loss: "<= staging * 1.05"`, `accuracy: "== 1"`. A relative gate compares with the metric
 * of the version holding the alias. When no version holds that alias yet (the first model),
 * the gate passes and says so: there is nothing to regress against.
 */
import { ModelOpsError } from '../errors';
import type { GateReport, GateResult, Registry, VersionRecord } from '../registry/types';
import type { GateExpression } from '../config/types';
import { GATE_GRAMMAR, gateThreshold, parseGate as parseGateExpression } from '../config/gate';

export {
  gateLabel,
  gateNeedsReason,
  gateProblem,
  gateState,
  isNotEvaluated,
  type GateState,
} from '../../../shared/gateState';

/** A gate report recorded without an evaluation: why the gates could not be evaluated. */
export type NotEvaluatedReport = GateReport & { notEvaluated: string };

export type GateOp = GateResult['op'];
export type ParsedGate = GateExpression;

/** Parses a gate with the config language's grammar (one grammar for the editor and the engine). */
export function parseGate(expression: string, metric = 'gate'): ParsedGate {
  const gate = parseGateExpression(expression);
  if (!gate) {
    throw new ModelOpsError(
      'bad-gate',
      `evaluate.gates.${metric}: '${expression}' is not a gate expression.`,
      `Write ${GATE_GRAMMAR}.`,
    );
  }
  return gate;
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
  resolveAlias(alias: string): AliasMetrics | null;
}

/** What an alias-relative gate compares with. */
export interface AliasMetrics {
  version: string;
  metrics: Record<string, number>;
  /** Metrics measured on the same rows as the version under test (the rest are as recorded). */
  sameRows?: ReadonlySet<string>;
  /** Why the recorded metrics are used where the same rows were wanted. */
  note?: string;
}

/**
 * The report recorded when gates are configured but could not be evaluated (no runnable model,
 * the evaluation failed): it never passes, so promotion and protected deploys ask for a reason.
 */
export function notEvaluatedReport(gates: Record<string, string>, why: string): NotEvaluatedReport {
  const results: GateResult[] = Object.entries(gates).map(([metric, expression]) => {
    const gate = parseGateExpression(expression);
    return {
      metric,
      expression,
      op: gate?.op ?? '>=',
      threshold: gate?.kind === 'absolute' ? (gate.value ?? null) : null,
      actual: null,
      passed: false,
      reference: null,
      message: `${metric} not evaluated: ${why}`,
    };
  });
  return { passed: false, results, evaluatedAt: new Date().toISOString(), override: null, notEvaluated: why };
}

export function evaluateGates(input: GateInput): GateReport {
  const results = Object.entries(input.gates).map(([metric, expression]) => checkGate(metric, expression, input));
  return { passed: results.every((r) => r.passed), results, evaluatedAt: new Date().toISOString(), override: null };
}

/** One gate: compare the version's metric with an absolute or an alias-relative threshold. */
function checkGate(metric: string, expression: string, input: GateInput): GateResult {
  const gate = parseGate(expression, metric);
  const value = input.metrics[metric];
  const actual = typeof value === 'number' && Number.isFinite(value) ? value : null;
  const result = (
    threshold: number | null,
    passed: boolean,
    reference: GateResult['reference'],
    message: string,
  ): GateResult => ({
    metric,
    expression,
    op: gate.op,
    threshold,
    actual,
    passed,
    reference,
    message,
  });
  const compared = (threshold: number, reference: GateResult['reference'], suffix = ''): GateResult => {
    if (actual === null) return result(threshold, false, reference, `${metric} was not computed for this version`);
    const passed = compare(gate.op, actual, threshold);
    return result(
      threshold,
      passed,
      reference,
      `${metric} ${fmt(actual)} ${passed ? SYMBOL[gate.op] : `is not ${SYMBOL[gate.op]}`} ${fmt(threshold)}${suffix}`,
    );
  };

  if (gate.kind === 'absolute') return compared(gate.value as number, null);
  const alias = gate.alias as string;
  const ref = input.resolveAlias(alias);
  if (!ref)
    return result(
      null,
      true,
      { alias, version: null },
      `${metric}: no version holds '${alias}' yet, so there is nothing to compare with (passes)`,
    );
  const base = ref.metrics[metric];
  if (typeof base !== 'number' || !Number.isFinite(base)) {
    return result(
      null,
      false,
      { alias, version: ref.version },
      `${metric}: ${alias} (${ref.version}) has no ${metric} to compare with`,
    );
  }
  // Said when it is known: on the same rows (a fair comparison), or as recorded and why.
  const basis = ref.sameRows?.has(metric) ? ' on the same rows' : ref.note ? `, ${ref.note}` : '';
  return compared(
    gateThreshold(gate, base) as number,
    { alias, version: ref.version },
    ` (${alias} ${ref.version}${basis}: ${fmt(base)})`,
  );
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
