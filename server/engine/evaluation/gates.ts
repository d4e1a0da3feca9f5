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

export type GateOp = GateResult['op'];
export type ParsedGate = GateExpression;

/** Parses a gate with the config language's grammar (one grammar for the editor and the engine). */
export function parseGate(expression: string, metric = 'gate'): ParsedGate {
  const gate = parseGateExpression(expression);
  if (!gate) {
    throw new ModelOpsError('bad-gate', `evaluate.gates.${metric}: '${expression}' is not a gate expression.`, `Write ${GATE_GRAMMAR}.`);
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
    const threshold = gateThreshold(gate, base) as number;
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
