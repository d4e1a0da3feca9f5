import type { GateExpression } from './types';

const NUM = '[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?';
const ABSOLUTE = new RegExp(`^\\s*(>=|<=|==|!=|>|<)\\s*(${NUM})\\s*$`);
const RELATIVE = new RegExp(`^\\s*(>=|<=|==|!=|>|<)\\s*([A-Za-z][A-Za-z0-9_-]*)\\s*(?:([-+*])\\s*(${NUM})\\s*)?$`);

/** Grammar shown in error messages. */
export const GATE_GRAMMAR =
  '"<op> <number>" or "<op> <alias> [+|-|*] <number>", op one of >=, >, <=, <, ==, != (e.g. ">= 0.9", ">= production - 0.01")';

/** Parses a gate condition such as ">= 0.9" or "<= staging * 1.05"; null when it does not parse. */
export function parseGate(source: string): GateExpression | null {
  const a = ABSOLUTE.exec(source);
  if (a) return { op: a[1] as GateExpression['op'], kind: 'absolute', value: Number(a[2]), source };
  const r = RELATIVE.exec(source);
  if (r) {
    const g: GateExpression = { op: r[1] as GateExpression['op'], kind: 'relative', alias: r[2], source };
    if (r[3]) {
      g.adjust = r[3] as '+' | '-' | '*';
      g.amount = Number(r[4]);
    }
    return g;
  }
  return null;
}

/** The threshold a relative gate compares against, given the alias holder's metric. */
export function gateThreshold(g: GateExpression, reference?: number): number | undefined {
  if (g.kind === 'absolute') return g.value;
  if (reference === undefined) return undefined;
  const amount = g.amount ?? 0;
  if (g.adjust === '+') return reference + amount;
  if (g.adjust === '-') return reference - amount;
  if (g.adjust === '*') return reference * amount;
  return reference;
}
