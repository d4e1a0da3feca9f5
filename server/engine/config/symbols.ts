/** Document outline: sections, targets, layers and gates. */
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import { keyName, nodeSpan, parsedOf, type LineIndex, type ParsedConfig } from './parse';
import type { Range } from './types';

export interface DocumentSymbol {
  name: string;
  detail?: string;
  kind: 'module' | 'object' | 'property' | 'array' | 'string' | 'number' | 'boolean' | 'null';
  range: Range;
  selectionRange: Range;
  children?: DocumentSymbol[];
}

const MAX_SYMBOLS = 5000;

function kindOf(n: unknown): DocumentSymbol['kind'] {
  if (isMap(n)) return 'object';
  if (isSeq(n)) return 'array';
  if (isScalar(n)) {
    const v = n.value;
    return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : v === null ? 'null' : 'string';
  }
  return 'property';
}

function build(n: unknown, lines: LineIndex, depth: number, count: { n: number }): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  if (depth > 16) return out;
  if (isMap(n)) {
    for (const p of n.items) {
      if (!isPair(p) || count.n++ >= MAX_SYMBOLS) break;
      const ks = nodeSpan(p.key as Node);
      if (!ks) continue;
      const vs = nodeSpan(p.value as Node);
      const end = vs && vs[1] > ks[1] ? vs[1] : ks[1];
      const sym: DocumentSymbol = {
        name: keyName(p) ?? '?',
        kind: depth === 0 ? 'module' : kindOf(p.value),
        range: lines.range(ks[0], end),
        selectionRange: lines.range(ks[0], ks[1]),
      };
      if (isScalar(p.value) && p.value.value !== null) sym.detail = String(p.value.value).slice(0, 80);
      const children = build(p.value, lines, depth + 1, count);
      if (children.length) sym.children = children;
      out.push(sym);
    }
  } else if (isSeq(n)) {
    n.items.forEach((it, i) => {
      if (count.n++ >= MAX_SYMBOLS) return;
      const s = nodeSpan(it as Node);
      if (!s) return;
      let name = `[${i}]`;
      if (isMap(it)) {
        const parts = it.items
          .filter(isPair)
          .map((p) => (isScalar(p.value) ? String(p.value.value) : ''))
          .filter(Boolean);
        if (parts.length) name = parts.join(' ').slice(0, 60);
      } else if (isScalar(it)) name = String(it.value).slice(0, 60);
      const sym: DocumentSymbol = {
        name,
        kind: kindOf(it),
        range: lines.range(s[0], s[1]),
        selectionRange: lines.range(s[0], s[1]),
      };
      const children = isMap(it) ? build(it, lines, depth + 1, count) : [];
      if (children.length) sym.children = children;
      out.push(sym);
    });
  }
  return out;
}

/** The outline of the document (bounded to 5,000 symbols; aliases are not followed). */
/** Outlines by parse: the editor asks again on focus and scroll with an unchanged text. */
const outlines = new WeakMap<ParsedConfig, DocumentSymbol[]>();

/** The outline; for a parse (not a text) the same read-only array while that parse is the latest. */
export function documentSymbols(source: string | ParsedConfig): DocumentSymbol[] {
  const parsed = parsedOf(source);
  if (!parsed.doc) return [];
  const known = outlines.get(parsed);
  if (known) return known;
  const out = build(parsed.doc.contents, parsed.lines, 0, { n: 0 });
  outlines.set(parsed, out);
  return out;
}
