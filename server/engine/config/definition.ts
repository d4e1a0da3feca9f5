/** Go to definition: data and output file paths open the file; monitor.target jumps to the target. */
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, type Node } from 'yaml';
import { locate, nodeSpan, pairNamed, parsedOf, type ParsedConfig } from './parse';
import { childSchema, configSchema, type SchemaNode } from './schema';
import { fileInfo } from './datafile';
import type { AnalysisContext, Position, Range } from './types';

export interface DefinitionTarget {
  /** Absolute path of the file to open; absent for a place in this document. */
  path?: string;
  range: Range;
  /** The span of the word under the cursor. */
  originRange: Range;
}

export function definition(
  source: string | ParsedConfig,
  pos: Position,
  ctx: AnalysisContext = {},
): DefinitionTarget | null {
  const parsed = parsedOf(source);
  if (!parsed.doc) return null;
  const hit = locate(parsed.doc, parsed.lines.offset(pos));
  if (!hit.node || hit.onKey || !isScalar(hit.node) || typeof hit.node.value !== 'string') return null;
  const span = nodeSpan(hit.node);
  if (!span) return null;
  const originRange = parsed.lines.range(span[0], span[1]);
  let s: SchemaNode | undefined = configSchema;
  for (const p of hit.path) s = s ? childSchema(s, p) : undefined;
  if (s?.role === 'path' && ctx.path) {
    const abs = resolve(dirname(ctx.path), hit.node.value);
    if (!fileInfo(abs)) return null;
    return { path: abs, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, originRange };
  }
  if (s?.role === 'target-name') {
    const deploy = parsed.doc.get('deploy', true) as Node | undefined;
    const targets = isMap(deploy) ? (deploy.get('targets', true) as Node | undefined) : undefined;
    if (!isMap(targets)) return null;
    const p = pairNamed(parsed.doc, targets, hit.node.toString());
    const ks = p ? nodeSpan(p.key as Node) : null;
    if (!ks) return null;
    return { range: parsed.lines.range(ks[0], ks[1]), originRange };
  }
  return null;
}
