/**
 * Incremental parsing of block-style `modelops.yaml`. Lines that start a plain `key:` at a
 * map's indentation split the text into chunks that the YAML parser treats independently once
 * each chunk parses cleanly on its own (every quote and bracket closed, so nothing runs on into
 * the next chunk). Each chunk is parsed alone, its node ranges shifted to where it sits, and the
 * chunks' pairs are assembled into one Document. Large chunks whose value is a block map are
 * split again, so an edit re-parses only the few lines of the innermost chunk it touches.
 *
 * Only documents where this is exact take the fast path; everything else (anchors, aliases,
 * tabs, a CR not followed by LF, BOM, directives, `---`, flow or odd top-level lines, any YAML
 * warning or syntax error other than a duplicate key) is parsed whole. Duplicate keys between
 * chunks are reported as the whole-text parse reports them: same position, message and order.
 * test/unit/config/incremental.test.ts compares the two paths over seeded edit sequences.
 */
import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Pair,
  parseDocument,
  YAMLMap,
  YAMLParseError,
  type ErrorCode,
  type Node,
  type ParsedNode,
  type Schema,
} from 'yaml';
import { YAML_OPTIONS, type LineIndex } from './source';

/** The options every parse of a config uses (whole text or chunk). */

/** Chunks of at least this many lines whose value is a block map are split into their children. */
export const SPLIT_MIN_LINES = 24;

/** A plain key at the start of a line's content: letters, digits, `_`, `.`, `-`, then `: ` or `:` at the end. */
const KEY_AT = /[A-Za-z_][\w.-]*:(?=[ \r\n]|$)/y;
/** A header whose value is on the following lines: `key:` and nothing else. */
const HEADER = /^ *[A-Za-z_][\w.-]*: *$/;

type Range3 = [number, number, number];

interface ChunkError {
  pos: [number, number];
  code: ErrorCode;
  message: string;
}

interface Chunk {
  pair: Pair<ParsedNode, ParsedNode | null>;
  /** Range of the chunk's root map and of its document when parsed alone, at `base`. */
  mapRange: Range3;
  docRange: Range3;
  /** Syntax errors inside the chunk (at `base`), in the parser's order. */
  errors: ChunkError[];
  base: number;
  /** Analysis generation that last used the chunk (a chunk's nodes are placed once per document). */
  used: number;
}

interface RegionResult {
  pairs: Array<Pair<ParsedNode, ParsedNode | null>>;
  first: Range3;
  last: Range3;
  lastDoc: Range3;
}

const assembled = new WeakSet<object>();

/** Whether a document was assembled from cached chunks (its unchanged pairs are the same objects as last time). */
export function isAssembled(doc: object): boolean {
  return assembled.has(doc);
}

/** Counters for tests and the benchmark. */
export interface ParseStats {
  /** Parses done on the whole text. */
  full: number;
  /** Parses assembled from chunks. */
  incremental: number;
  /** Chunks parsed / taken from the cache by incremental parses. */
  chunksParsed: number;
  chunksReused: number;
  /** Characters handed to the YAML parser, over all parses. */
  charsParsed: number;
}

/**
 * Whole-text conditions for the fast path. Conservative: an anchor or alias indicator, a tab or
 * a byte-order mark anywhere means a full parse, and so does a CR that does not end a line (YAML
 * reads a lone CR as a line break; the chunking splits at LF only) and an explicit key.
 */
function eligible(text: string): boolean {
  return !/[&*\t\uFEFF]|\r(?!\n)/.test(text) && !EXPLICIT_KEY.test(text);
}

/**
 * An explicit key (`? key`) at the start of a line's content: with no value after it the parser
 * looks for the `:` on the next line and takes that line's indentation into the map, across a
 * chunk boundary (found by the seeded edit sequences).
 */
const EXPLICIT_KEY = /^[ -]*\?(?:[ \r\n]|$)/m;

function shiftRange(r: Range3, d: number): Range3 {
  return [r[0] + d, r[1] + d, r[2] + d];
}

function shiftNode(node: unknown, d: number): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Node;
  if (n.range) n.range = shiftRange(n.range, d);
  if (isMap(n) || isSeq(n)) {
    for (const it of n.items as unknown[]) {
      if (isPair(it)) {
        shiftNode(it.key, d);
        shiftNode(it.value, d);
      } else shiftNode(it, d);
    }
  }
}

/**
 * Records a duplicate key where the whole-text parse puts it: the end of the tokens before the
 * key. That is the key itself when only indentation separates it from the previous value's end;
 * otherwise (an empty value, blank lines, comments in between) the parser's answer depends on
 * how it grouped those tokens, so the caller parses the whole text instead (returns false).
 */
function duplicateAt(
  text: string,
  pairs: Array<Pair<ParsedNode, ParsedNode | null>>,
  keyStart: number,
  out: ChunkError[],
): boolean {
  const prev = pairs[pairs.length - 1];
  const prevEnd = (prev?.value ?? prev?.key)?.range[2];
  if (prevEnd === undefined || prevEnd > keyStart) return false;
  for (let i = prevEnd; i < keyStart; i++) if (text.charCodeAt(i) !== 32) return false;
  out.push({ pos: [keyStart, keyStart + 1], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' });
  return true;
}

/**
 * A per-document parse cache: chunks of the previous text, keyed by their text. Keep one per
 * open document. Documents it returns share nodes with the cache: read them before the next
 * call to `parse` on the same cache.
 */
export class ParseCache {
  private entries = new Map<string, Chunk>();
  private next = new Map<string, Chunk>();
  private generation = 0;
  readonly stats: ParseStats = { full: 0, incremental: 0, chunksParsed: 0, chunksReused: 0, charsParsed: 0 };

  /** Parses `text` (whose line index is `lines`), reusing unchanged chunks where that is exact. */
  parse(text: string, lines: LineIndex): Document.Parsed {
    const fast = eligible(text) ? this.assemble(text, lines) : null;
    this.keep();
    if (fast) {
      this.stats.incremental++;
      return fast;
    }
    this.stats.full++;
    this.stats.charsParsed += text.length;
    return parseDocument(text, YAML_OPTIONS);
  }

  /** Number of cached chunks (bounded by the last document's chunk count, plus a margin). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.next.clear();
  }

  /** After a parse: keep the chunks it used; when it bailed out half-way keep the old ones too. */
  private keep(): void {
    if (this.next.size === 0) return; // a whole-text parse: the chunks of the last good text stay useful
    if (this.entries.size + this.next.size <= 2 * this.next.size + 256) {
      for (const [k, v] of this.entries) if (!this.next.has(k)) this.next.set(k, v);
    }
    this.entries = this.next;
    this.next = new Map();
  }

  private assemble(text: string, lines: LineIndex): Document.Parsed | null {
    const gen = ++this.generation;
    const errors: ChunkError[] = [];
    const doc = new Document(null, YAML_OPTIONS) as unknown as Document.Parsed;
    const top = this.region(text, lines, 0, lines.lineCount, true, gen, errors, doc.schema);
    if (!top) return null;
    const map = new YAMLMap<ParsedNode, ParsedNode | null>(doc.schema);
    map.items = top.pairs;
    map.range = [top.first[0], top.last[1], top.last[2]];
    doc.contents = map as unknown as ParsedNode;
    doc.range = [0, top.lastDoc[1], top.lastDoc[2]];
    doc.errors = errors.map((e) => new YAMLParseError(e.pos, e.code, e.message));
    doc.warnings = [];
    assembled.add(doc);
    return doc;
  }

  /**
   * Lines [a, b) holding sibling `key:` entries of one block map (the root when `root`). Pushes
   * syntax errors (the chunks' own and duplicate keys between chunks) in the order the whole-text
   * parse reports them. Null when the region cannot be split exactly.
   */
  private region(
    text: string,
    lines: LineIndex,
    a: number,
    b: number,
    root: boolean,
    gen: number,
    errors: ChunkError[],
    schema: Schema,
  ): RegionResult | null {
    const starts: number[] = [];
    let indent = -1;
    for (let li = a; li < b; li++) {
      const from = lines.lineStarts[li];
      let to = li + 1 < lines.lineCount ? lines.lineStarts[li + 1] - 1 : text.length;
      if (to > from && text.charCodeAt(to - 1) === 13) to--; // CRLF
      let i = from;
      while (i < to && text.charCodeAt(i) === 32) i++;
      if (i === to || text.charCodeAt(i) === 35) continue; // blank or comment line
      const ind = i - from;
      if (indent === -1) {
        if (root && ind !== 0) return null;
        indent = ind;
      }
      if (ind > indent) continue;
      if (ind < indent) return null;
      KEY_AT.lastIndex = i;
      if (KEY_AT.test(text)) starts.push(li);
      else if (starts.length > 0 && text.charCodeAt(i) === 45 && (i + 1 === to || text.charCodeAt(i + 1) === 32))
        continue; // `- item` of the previous key's list
      else return null;
    }
    if (starts.length === 0) return null;
    const pairs: RegionResult['pairs'] = [];
    const seen = new Set<unknown>();
    let first: Range3 | null = null;
    let last: Range3 = [0, 0, 0];
    let lastDoc: Range3 = [0, 0, 0];
    for (let k = 0; k < starts.length; k++) {
      const ca = k === 0 ? a : starts[k];
      const cb = k + 1 < starts.length ? starts[k + 1] : b;
      const head = starts[k];
      const start = lines.lineStarts[ca];
      const end = cb < lines.lineCount ? lines.lineStarts[cb] : text.length;
      let pair: Pair<ParsedNode, ParsedNode | null> | null = null;
      if (cb - ca >= SPLIT_MIN_LINES) {
        const hs = lines.lineStarts[head];
        const he = head + 1 < lines.lineCount ? lines.lineStarts[head + 1] : text.length;
        if (HEADER.test(text.slice(hs, he).replace(/\r?\n$/, ''))) {
          const h = this.chunk(text.slice(hs, he), hs, gen);
          if (
            h &&
            h.pair.value !== null &&
            isScalar(h.pair.value) &&
            h.pair.value.value === null &&
            h.errors.length === 0
          ) {
            const mark = errors.length;
            const keyValue = (h.pair.key as { value?: unknown }).value;
            if (seen.has(keyValue) && !duplicateAt(text, pairs, h.pair.key.range[0], errors)) return null;
            const body = this.region(text, lines, head + 1, cb, false, gen, errors, schema);
            if (body) {
              seen.add(keyValue);
              const value = new YAMLMap<ParsedNode, ParsedNode | null>(schema);
              value.items = body.pairs;
              value.range = [body.first[0], body.last[1], body.last[2]];
              pair = new Pair(h.pair.key, value as unknown as ParsedNode);
              const mapRange: Range3 = [h.mapRange[0], value.range[2], value.range[2]];
              first ??= mapRange;
              last = mapRange;
              lastDoc = [start, value.range[2], body.lastDoc[2]];
            } else errors.length = mark;
          }
        }
      }
      if (!pair) {
        const c = this.chunk(text.slice(start, end), start, gen);
        if (!c) return null;
        pair = c.pair;
        const keyValue = (pair.key as { value?: unknown }).value;
        if (seen.has(keyValue) && !duplicateAt(text, pairs, pair.key.range[0], errors)) return null;
        seen.add(keyValue);
        for (const e of c.errors) errors.push(e);
        first ??= c.mapRange;
        last = c.mapRange;
        lastDoc = c.docRange;
      }
      pairs.push(pair);
    }
    return { pairs, first: first ?? last, last, lastDoc };
  }

  /** One chunk parsed alone (or taken from the cache) with its ranges placed at `start`; null unless it parsed cleanly. */
  private chunk(src: string, start: number, gen: number): Chunk | null {
    let c = this.entries.get(src) ?? this.next.get(src);
    if (c && c.used === gen) c = undefined; // the same text twice in one document: nodes must not be shared
    if (c) this.stats.chunksReused++;
    else {
      this.stats.chunksParsed++;
      this.stats.charsParsed += src.length;
      const doc = parseDocument(src, YAML_OPTIONS);
      // Any other syntax error: the parser's recovery can run on into the following chunks (a
      // broken compact map swallows the next top-level key), so the whole text is parsed.
      if (doc.warnings.length > 0 || doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return null;
      const root = doc.contents;
      if (!isMap(root) || root.flow || root.items.length !== 1 || !root.range || !doc.range) return null;
      const p = root.items[0] as Pair<ParsedNode, ParsedNode | null>;
      if (!isScalar(p.key) || !p.key.range) return null;
      c = {
        pair: p,
        mapRange: [...root.range],
        docRange: [...doc.range],
        errors: doc.errors.map((e) => ({ pos: e.pos, code: e.code, message: e.message })),
        base: 0,
        used: 0,
      };
    }
    if (c.base !== start) {
      const d = start - c.base;
      shiftNode(c.pair.key, d);
      shiftNode(c.pair.value, d);
      c.mapRange = shiftRange(c.mapRange, d);
      c.docRange = shiftRange(c.docRange, d);
      c.errors = c.errors.map((e) => ({ ...e, pos: [e.pos[0] + d, e.pos[1] + d] }));
      c.base = start;
    }
    c.used = gen;
    if (!this.next.has(src) || this.next.get(src) === c) this.next.set(src, c);
    return c;
  }
}
