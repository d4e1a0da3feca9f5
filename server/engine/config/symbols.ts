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

/**
 * Symbols an outline holds. Levels (sections, their keys, the keys below…) are added whole while
 * they fit, so a large config shows every target and layer and leaves out only the deeper levels
 * (their keys' lines), never a tail of the file. A config of a few hundred lines fits whole. Each
 * symbol is ~190 bytes of JSON, encoded by the sidecar and parsed by the editor on every outline
 * refresh: 1,000 of them cost ~8 ms on the shared 2-core machine.
 */
export const OUTLINE_BUDGET = 1000;
/** Levels below the sections, at most. */
const MAX_DEPTH = 16;

function kindOf(n: unknown): DocumentSymbol['kind'] {
  if (isMap(n)) return 'object';
  if (isSeq(n)) return 'array';
  if (isScalar(n)) {
    const v = n.value;
    return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : v === null ? 'null' : 'string';
  }
  return 'property';
}

/** A symbol of the level being built, with the node whose entries are its children. */
interface Entry {
  sym: DocumentSymbol;
  /** The pair's value or the sequence item; children come only from maps, and from sequences under keys. */
  inner: unknown;
}

/** The symbols of `n`'s entries (a map's pairs, a sequence's items), at most `limit`. */
function entries(n: unknown, lines: LineIndex, depth: number, limit: number): Entry[] {
  const out: Entry[] = [];
  if (isMap(n)) {
    for (const p of n.items) {
      if (!isPair(p) || out.length >= limit) break;
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
      // The value as detail; an empty one, or one that repeats the name, would only add bytes.
      if (isScalar(p.value) && p.value.value !== null) {
        const detail = String(p.value.value).slice(0, 80);
        if (detail && detail !== sym.name) sym.detail = detail;
      }
      out.push({ sym, inner: p.value });
    }
  } else if (isSeq(n)) {
    for (let i = 0; i < n.items.length && out.length < limit; i++) {
      const it = n.items[i];
      const s = nodeSpan(it as Node);
      if (!s) continue;
      let name = `[${i}]`;
      if (isMap(it)) {
        const parts = it.items
          .filter(isPair)
          .map((p) => (isScalar(p.value) ? String(p.value.value) : ''))
          .filter(Boolean);
        if (parts.length) name = parts.join(' ').slice(0, 60);
      } else if (isScalar(it)) name = String(it.value).slice(0, 60);
      const range = lines.range(s[0], s[1]);
      // A list item's children are its map's keys; a list inside a list is not opened.
      out.push({ sym: { name, kind: kindOf(it), range, selectionRange: range }, inner: isMap(it) ? it : null });
    }
  }
  return out;
}

/** The outline of `root`'s entries, level by level, within OUTLINE_BUDGET symbols. */
function build(root: unknown, lines: LineIndex): DocumentSymbol[] {
  let level = entries(root, lines, 0, OUTLINE_BUDGET);
  const top = level.map((e) => e.sym);
  let total = level.length;
  for (let depth = 1; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: Entry[] = [];
    const parents: Array<[DocumentSymbol, Entry[]]> = [];
    for (const e of level) {
      // One more than fits is enough to know this level does not.
      const kids = entries(e.inner, lines, depth, OUTLINE_BUDGET - total - next.length + 1);
      if (kids.length === 0) continue;
      parents.push([e.sym, kids]);
      for (const k of kids) next.push(k);
      if (total + next.length > OUTLINE_BUDGET) return top; // this level does not fit whole
    }
    for (const [sym, kids] of parents) sym.children = kids.map((k) => k.sym);
    total += next.length;
    level = next;
  }
  return top;
}

/** Outlines by parse: the editor asks again on focus and scroll with an unchanged text. */
const outlines = new WeakMap<ParsedConfig, DocumentSymbol[]>();

/**
 * The outline (aliases are not followed): every level that fits whole in OUTLINE_BUDGET symbols.
 * For a parse (not a text), the same read-only array while that parse is the latest.
 */
export function documentSymbols(source: string | ParsedConfig): DocumentSymbol[] {
  const parsed = parsedOf(source);
  if (!parsed.doc) return [];
  const known = outlines.get(parsed);
  if (known) return known;
  const out = build(parsed.doc.contents, parsed.lines);
  outlines.set(parsed, out);
  return out;
}
