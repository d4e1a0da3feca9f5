/**
 * Parsing `modelops.yaml` with source positions, bounded against hostile input: documents over
 * 5 MB, binary junk, deep nesting and alias bombs each end in one clear diagnostic, fast.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type { ParseCache } from './incremental';
import { LineIndex, YAML_OPTIONS } from './source';

export { LineIndex };
import type { ConfigDiagnostic } from './types';

export const MAX_DOCUMENT_CHARS = 5 * 1024 * 1024;
export const MAX_NESTING = 64;
/** Leading indentation (spaces, tabs, "- ") beyond this means nesting no config needs. */
export const MAX_INDENT = 512;
/**
 * Lines plus flow-collection commas: an upper bound on the entries of the document. The YAML
 * parser's duplicate-key check is quadratic in the entries of one map (10,000 keys take about a
 * second, 50,000 take 18 s on the shared machine), so far more than any config needs is refused.
 */
export const MAX_ENTRIES = 10_000;
/** Nodes reached through aliases before expansion stops (billion laughs). */
export const MAX_ALIAS_EXPANSION = 10_000;

export interface ParsedConfig {
  text: string;
  lines: LineIndex;
  /** Absent when the text was refused before parsing. */
  doc?: Document.Parsed;
  diagnostics: ConfigDiagnostic[];
}

function diag(
  lines: LineIndex,
  start: number,
  end: number,
  code: string,
  message: string,
  severity: ConfigDiagnostic['severity'] = 'error',
): ConfigDiagnostic {
  return { range: lines.range(start, end), severity, message, code };
}

/** Cheap checks before the YAML parser sees the text; returns one diagnostic or null. */
function preflight(text: string, lines: LineIndex): ConfigDiagnostic | null {
  if (text.length > MAX_DOCUMENT_CHARS) {
    const mb = (text.length / (1024 * 1024)).toFixed(1);
    return diag(
      lines,
      0,
      0,
      'too-large',
      `modelops.yaml is ${mb} MB; the limit is 5 MB. A config file should be a few KB — keep data in separate files referenced from data.train.`,
    );
  }
  // Binary: NUL bytes or many control characters in the first 64 KB.
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  const nul = head.indexOf('\u0000');
  let controls = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) controls++;
  }
  if (nul !== -1 || controls > 8) {
    const at = nul !== -1 ? nul : firstControl(head);
    return diag(
      lines,
      at,
      at + 1,
      'binary-content',
      'modelops.yaml contains binary data (control characters), not YAML text. Replace the file with a text config (run `modelops init` for a starter).',
    );
  }
  const bad = text.indexOf('\uFFFD');
  if (bad !== -1) {
    return diag(
      lines,
      bad,
      bad + 1,
      'invalid-utf8',
      'modelops.yaml is not valid UTF-8 (an undecodable byte sequence is here). Save the file as UTF-8.',
    );
  }
  // Nesting: flow brackets outside quotes and comments, and leading indentation.
  let depth = 0;
  let quote = '';
  let comment = false;
  let lineStart = true;
  let indent = 0;
  let entries = 0;
  const tooMany = (at: number) =>
    diag(
      lines,
      at,
      at + 1,
      'too-large',
      `modelops.yaml has more than ${MAX_ENTRIES.toLocaleString('en-US')} lines and list items; a config is a few hundred lines. Split generated content out of it.`,
    );
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') {
      if (++entries > MAX_ENTRIES) return tooMany(i);
      comment = false;
      lineStart = true;
      indent = 0;
      if (quote === "'") quote = ''; // unterminated single quote: stop counting it as quoted
      continue;
    }
    if (lineStart) {
      if (ch === ' ' || ch === '\t' || ch === '-') {
        if (++indent > MAX_INDENT)
          return diag(
            lines,
            i - indent + 1,
            i + 1,
            'too-deep',
            `modelops.yaml is nested deeper than ${MAX_INDENT} columns of indentation; a config needs a handful of levels.`,
          );
        continue;
      }
      lineStart = false;
    }
    if (comment) continue;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'") {
      const prev = i > 0 ? text[i - 1] : ' ';
      if (
        prev === ' ' ||
        prev === '\t' ||
        prev === '[' ||
        prev === '{' ||
        prev === ',' ||
        prev === ':' ||
        prev === '\n' ||
        prev === '-'
      )
        quote = ch;
    } else if (ch === '#') {
      const prev = i > 0 ? text[i - 1] : ' ';
      if (prev === ' ' || prev === '\t' || prev === '\n') comment = true;
    } else if (ch === '[' || ch === '{') {
      if (++depth > MAX_NESTING)
        return diag(
          lines,
          i,
          i + 1,
          'too-deep',
          `modelops.yaml nests brackets more than ${MAX_NESTING} levels deep; a config needs a handful of levels.`,
        );
    } else if (ch === ']' || ch === '}') {
      if (depth > 0) depth--;
    } else if (ch === ',' && depth > 0) {
      if (++entries > MAX_ENTRIES) return tooMany(i);
    }
  }
  return null;
}

function firstControl(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) return i;
  }
  return 0;
}

const SYNTAX_CODES: Record<string, string> = { DUPLICATE_KEY: 'duplicate-key' };

/**
 * Parses the text; syntax errors (with exact ranges) and refusals come back as diagnostics.
 * With a cache (one per open document), unchanged parts of the previous text are not re-parsed;
 * the result is the same as without.
 */
export function parseConfig(text: string, cache?: ParseCache): ParsedConfig {
  const lines = LineIndex.of(text.length > MAX_DOCUMENT_CHARS ? '' : text);
  const refused = preflight(text, lines);
  if (refused) return { text, lines, diagnostics: [refused] };
  const doc = cache ? cache.parse(text, lines) : parseDocument(text, YAML_OPTIONS);
  const diagnostics: ConfigDiagnostic[] = [];
  for (const e of doc.errors) {
    const start = e.pos[0];
    let end = e.pos[1];
    const code = SYNTAX_CODES[e.code] ?? 'yaml-syntax';
    if (code === 'duplicate-key') {
      const key = /^("[^"\n]*"|'[^'\n]*'|[^:#\n]*?)(?=\s*:)/.exec(text.slice(start, start + 1024));
      if (key && key[1].length > 0) end = start + key[1].length;
    }
    const message =
      code === 'duplicate-key'
        ? `Duplicate key '${text.slice(start, end)}': each key may appear once in a map.`
        : `YAML syntax error: ${e.message}`;
    diagnostics.push(diag(lines, start, Math.max(end, start + 1), code, message));
    if (diagnostics.length >= 50) break;
  }
  for (const w of doc.warnings) diagnostics.push(diag(lines, w.pos[0], w.pos[1], 'yaml-warning', w.message, 'warning'));
  return { text, lines, doc, diagnostics };
}

/** The parse of a text, or the one the caller already has (so an editor request costs no second parse). */
export function parsedOf(source: string | ParsedConfig): ParsedConfig {
  return typeof source === 'string' ? parseConfig(source) : source;
}

// ---- AST helpers shared by validation and the editor features ----

export type YNode = Node;

/** [start, end) of a node's value (without trailing comments). */
export function nodeSpan(node: Node | null | undefined): [number, number] | null {
  if (!node || !node.range) return null;
  return [node.range[0], node.range[1]];
}

export function keyName(pair: Pair): string | null {
  const k = pair.key;
  if (isScalar(k)) return k.value === null ? '' : String(k.value);
  return null;
}

const anchorCache = new WeakMap<object, Map<string, Array<{ at: number; node: Node }>>>();

/** Anchors of a document, found in one pass (yaml's Alias.resolve searches the whole document per call). */
function anchors(doc: Document.Parsed): Map<string, Array<{ at: number; node: Node }>> {
  let m = anchorCache.get(doc);
  if (m) return m;
  const found = new Map<string, Array<{ at: number; node: Node }>>();
  visit(doc, (_key, node) => {
    const n = node as Node & { anchor?: string };
    if (!isAlias(n) && n && typeof n === 'object' && 'anchor' in n && n.anchor && n.range) {
      const list = found.get(n.anchor) ?? [];
      list.push({ at: n.range[0], node: n });
      found.set(n.anchor, list);
    }
  });
  m = found;
  anchorCache.set(doc, m);
  return m;
}

/** Follows an alias to the closest preceding anchor of that name (YAML semantics). */
export function deref(doc: Document.Parsed, node: unknown): Node | null {
  if (isAlias(node)) {
    const list = anchors(doc).get(node.source);
    const at = node.range?.[0] ?? Infinity;
    let best: Node | null = null;
    for (const e of list ?? []) if (e.at < at) best = e.node;
    return best;
  }
  return (node as Node | null) ?? null;
}

export interface JsBudget {
  /** Nodes left in total. */
  remaining: number;
  /** Nodes left that are reached through aliases. */
  aliasRemaining: number;
  exceeded: boolean;
}

/** Plain JS value of a node, following aliases within the budget. */
export function toJs(doc: Document.Parsed, node: unknown, budget: JsBudget, viaAlias = false): unknown {
  const via = viaAlias || isAlias(node);
  if (budget.remaining-- <= 0 || (via && budget.aliasRemaining-- <= 0)) {
    budget.exceeded = true;
    return undefined;
  }
  const n = deref(doc, node);
  if (n === null) return null;
  if (isScalar(n)) return n.value;
  if (isMap(n)) {
    const out: Record<string, unknown> = {};
    for (const p of n.items) {
      if (!isPair(p)) continue;
      const k = isScalar(p.key) ? String(p.key.value) : String(toJs(doc, p.key, budget, via));
      out[k] = toJs(doc, p.value, budget, via);
      if (budget.exceeded) return out;
    }
    return out;
  }
  if (isSeq(n)) {
    const out: unknown[] = [];
    for (const it of n.items) {
      out.push(toJs(doc, it, budget, via));
      if (budget.exceeded) return out;
    }
    return out;
  }
  return null;
}

/** The path of keys from the root to the deepest node containing `offset`. */
export interface PathHit {
  path: string[];
  /** The scalar under the cursor, when there is one. */
  node: Node | null;
  /** True when the cursor is on a map key. */
  onKey: boolean;
  /** The pair whose key or value holds the cursor. */
  pair: Pair | null;
  /** Value of the `type` key of the enclosing map (for tagged layers). */
  tag?: string;
}

/**
 * Where the items of one map or sequence sit, built once per parse and node the first time a
 * request walks through it: `locate` then finds the item under the cursor by binary search
 * instead of a scan (a 5,000-line config has a `deploy.targets` map of ~800 pairs).
 */
interface ItemIndex {
  /** Positions in `items` of the items that have a span, in source order. */
  at: number[];
  starts: number[];
  ends: number[];
  /** False when starts or ends go backwards (not seen from the parser): search linearly. */
  sorted: boolean;
  /** The value of the map's `type` key (for tagged layers). */
  tag?: string;
}

/**
 * Per document, then per node. Keyed by the document because the incremental parser hands the
 * same (shifted) node objects to the next parse, so an index is valid for one parse only.
 */
const itemIndexes = new WeakMap<object, WeakMap<object, ItemIndex>>();

function itemIndex(doc: Document.Parsed, node: YAMLMap<unknown, unknown> | YAMLSeq<unknown>): ItemIndex {
  let byNode = itemIndexes.get(doc);
  if (!byNode) {
    byNode = new WeakMap();
    itemIndexes.set(doc, byNode);
  }
  const known = byNode.get(node);
  if (known) return known;
  const idx: ItemIndex = { at: [], starts: [], ends: [], sorted: true };
  const map = isMap(node);
  let typed = false;
  node.items.forEach((it, i) => {
    let start: number;
    let end: number;
    if (map) {
      const p = it as Pair;
      const ks = nodeSpan(p.key as Node);
      const vs = nodeSpan(p.value as Node);
      start = ks ? ks[0] : vs ? vs[0] : -1;
      end = vs ? vs[1] : ks ? ks[1] : -1;
      if (!typed && keyName(p) === 'type') {
        typed = true; // the first `type` key counts, as `items.find` picks it
        if (isScalar(p.value)) idx.tag = String(p.value.value);
      }
    } else {
      const s = nodeSpan(it as Node);
      if (!s) return;
      [start, end] = s;
    }
    if (start < 0 || end < 0) return; // no span: never under the cursor
    const n = idx.starts.length;
    if (n > 0 && (start < idx.starts[n - 1] || end < idx.ends[n - 1])) idx.sorted = false;
    idx.at.push(i);
    idx.starts.push(start);
    idx.ends.push(end);
  });
  byNode.set(node, idx);
  return idx;
}

/** Position in `items` of the first item whose span holds `offset`, or -1. */
function itemAt(idx: ItemIndex, offset: number): number {
  const { starts, ends } = idx;
  if (!idx.sorted) {
    for (let k = 0; k < starts.length; k++) if (starts[k] <= offset && offset <= ends[k]) return idx.at[k];
    return -1;
  }
  // Ends ascend: the first item ending at or after the offset is the only one that can hold it
  // first (those before end too early; those after start no earlier than it does).
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < starts.length && starts[lo] <= offset ? idx.at[lo] : -1;
}

export function locate(doc: Document.Parsed, offset: number): PathHit {
  const path: string[] = [];
  let node: unknown = doc.contents;
  let hit: PathHit = { path, node: null, onKey: false, pair: null };
  for (let guard = 0; guard < 200; guard++) {
    if (isMap(node)) {
      const idx = itemIndex(doc, node);
      const i = itemAt(idx, offset);
      if (i === -1) return hit;
      const p = node.items[i] as Pair;
      const k = keyName(p) ?? '';
      const ks = nodeSpan(p.key as Node);
      const tag = idx.tag;
      if (ks && ks[0] <= offset && offset <= ks[1])
        return { path: [...path, k], node: p.key as Node, onKey: true, pair: p, tag };
      path.push(k);
      hit = { path: [...path], node: null, onKey: false, pair: p, tag };
      node = p.value;
      continue;
    }
    if (isSeq(node)) {
      const i = itemAt(itemIndex(doc, node), offset);
      if (i === -1) return hit;
      const it = node.items[i];
      path.push('[]');
      hit = { ...hit, path: [...path], node: null, onKey: false };
      node = it;
      continue;
    }
    if (isScalar(node) || isAlias(node)) {
      const s = nodeSpan(node as Node);
      if (s && s[0] <= offset && offset <= s[1]) return { ...hit, path: [...path], node: node as Node };
      return hit;
    }
    return hit;
  }
  return hit;
}

/** Keys of one map by name (the first pair of each), built once per parse: a lookup costs no scan. */
const pairIndexes = new WeakMap<object, WeakMap<object, Map<string, Pair>>>();

/** The first pair of `map` whose key is `name`, as `map.items.find` would return it. */
export function pairNamed(doc: Document.Parsed, map: YAMLMap<unknown, unknown>, name: string): Pair | undefined {
  let byNode = pairIndexes.get(doc);
  if (!byNode) {
    byNode = new WeakMap();
    pairIndexes.set(doc, byNode);
  }
  let names = byNode.get(map);
  if (!names) {
    names = new Map();
    for (const it of map.items) {
      const k = isPair(it) ? keyName(it as Pair) : null;
      if (k !== null && !names.has(k)) names.set(k, it as Pair);
    }
    byNode.set(map, names);
  }
  return names.get(name);
}
