/** Hover docs: every key's documentation, type, range, default and an example. */
import { locate, nodeSpan, parsedOf, type ParsedConfig } from './parse';
import type { SchemaNode } from './schema';
import { defaultText, schemaAt as schemaFor, typeText } from './describe';
import type { Position, Range } from './types';

export interface HoverResult {
  /** Markdown. */
  contents: string;
  range: Range;
}

function limits(s: SchemaNode): string[] {
  const out: string[] = [];
  if (s.kind === 'number' || s.kind === 'integer') {
    if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
    if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
    if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
  }
  return out;
}

/** Markdown for one schema node under the key `name`. */
export function describeKey(name: string, s: SchemaNode, task?: string): string {
  const head = [`**${name}** — \`${typeText(s)}\``];
  const lim = limits(s);
  if (lim.length) head.push(`range ${lim.join(', ')}`);
  const def = defaultText(s, task);
  if (def) head.push(def);
  return `${head.join(' · ')}\n\n${s.doc}\n\n\`\`\`yaml\n${s.example}\n\`\`\``;
}

/** Hover at `pos`, or null when the cursor is on nothing documented. */
export function hover(source: string | ParsedConfig, pos: Position): HoverResult | null {
  const parsed = parsedOf(source);
  if (!parsed.doc) return null;
  const offset = parsed.lines.offset(pos);
  const hit = locate(parsed.doc, offset);
  if (!hit.node || hit.path.length === 0) return null;
  const path = hit.path.filter((p) => p !== '');
  // Free-key maps (targets, gates, class weights): describe the map and the value shape.
  const s = schemaFor(path, hit.tag);
  if (!s) return null;
  const span = nodeSpan(hit.node);
  if (!span) return null;
  const range = parsed.lines.range(span[0], span[1]);
  let name = path.filter((p) => p !== '[]').pop() ?? '';
  const parent = schemaFor(path.slice(0, -1));
  if (parent?.kind === 'object' && !parent.properties[name] && parent.keyDoc) name = `${name} (${parent.keyDoc})`;
  const task = parsed.doc.getIn(['model', 'task']);
  let contents = describeKey(name, s, typeof task === 'string' ? task : undefined);
  if (!hit.onKey && s.kind === 'string' && s.enum && typeof (hit.node as { value?: unknown }).value === 'string') {
    contents = `\`${String((hit.node as { value?: unknown }).value)}\` — one of ${s.enum.map((e) => `\`${e}\``).join(', ')}\n\n---\n\n${contents}`;
  }
  return { contents, range };
}
