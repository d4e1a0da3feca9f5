/**
 * Completion for `modelops.yaml`. Works on half-typed documents, so the context (key path,
 * key or value position) comes from indentation and the current line, not from the parser.
 */
import { dirname, resolve } from 'node:path';
import { childSchema, keysOf, type SchemaNode } from './schema';
import { defaultOf, schemaAt as schemaFor, typeText } from './describe';
import { dataFiles, peekData } from './datafile';
import { isMap, isScalar, type Document } from 'yaml';
import { LineIndex, MAX_DOCUMENT_CHARS, MAX_ENTRIES, MAX_NESTING, parsedOf, type ParsedConfig } from './parse';
import { clampPosition, type LineSource } from './text';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS, type AnalysisContext, type Position, type Range } from './types';

export interface CompletionItem {
  label: string;
  kind: 'property' | 'value' | 'enum' | 'column' | 'metric' | 'file' | 'snippet' | 'target';
  detail?: string;
  /** Markdown. */
  documentation?: string;
  /** Text inserted over `range`. */
  insertText: string;
  /** The span replaced (the partially typed word). */
  range: Range;
  sortText?: string;
}

interface LineShape {
  lead: number;
  dashes: number;
  /** Column where the content (after "- " markers) starts. */
  col: number;
  key?: string;
  value?: string;
}

/**
 * Past this many characters a line is not looked at (completion returns nothing on it) and only
 * its start is read when it is context above the cursor: the line regexes stay linear and cheap.
 */
const MAX_LINE_CHARS = 4096;
const SHAPE_CHARS = 1024;

function shape(full: string): LineShape | null {
  const line = full.length > SHAPE_CHARS ? full.slice(0, SHAPE_CHARS) : full;
  if (/^\s*(#.*)?$/s.test(line)) return null;
  // `s`: a stray \r, U+2028 or U+2029 inside a line is content too (binary junk has them).
  const m = /^(\s*)((?:-(?:\s+|$))*)(.*)$/s.exec(line);
  if (!m) return null;
  const lead = m[1].length;
  const col = lead + m[2].length;
  const dashes = (m[2].match(/-/g) ?? []).length;
  const km = /^([A-Za-z_][\w.-]*|"[^"]*"|'[^']*')\s*:(?:\s+(.*)|$)/s.exec(m[3]);
  if (!km) return { lead, dashes, col };
  const value = (km[2] ?? '').replace(/\s+#.*$/, '').trim();
  return { lead, dashes, col, key: km[1].replace(/^["']|["']$/g, ''), value };
}

/**
 * The lines of a text as completion reads them, built once per parse. A line's leading ASCII
 * spaces are a lower bound of its indentation, and a line indented past the block being looked
 * for plays no part in it, nor do the lines between it and the nearest line with fewer spaces:
 * the walks up and down jump over whole nested blocks instead of reading them, so a request
 * costs the depth of the cursor and its siblings, not the length of the file.
 */
interface Lines extends LineSource {
  /** ASCII spaces at the start of each line (BLANK for a blank or comment line). */
  spaces: Int32Array;
  /** The nearest line above with fewer spaces; -1 for none. */
  aboveLess: Int32Array;
  /** The nearest line below with fewer spaces; `count` for none. */
  belowLess: Int32Array;
}

const linesByParse = new WeakMap<ParsedConfig, Lines>();
/** The `spaces` of a blank or comment line. */
const BLANK = 0x7fffffff;

function buildLines(text: string, starts: readonly number[]): Lines {
  const count = starts.length;
  const end = (i: number): number => (i + 1 < count ? starts[i + 1] - 1 : text.length);
  const spaces = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const e = end(i);
    let j = starts[i];
    while (j < e && text.charCodeAt(j) === 32) j++;
    const rest = j === e ? -1 : text.charCodeAt(j);
    // Blank and comment lines play no part in any block: as deep as can be, they are jumped over.
    const empty = rest === -1 || rest === 35 || (rest === 13 && j + 1 === e);
    spaces[i] = empty ? BLANK : j - starts[i];
  }
  // The nearest line with fewer spaces on one side, with a stack of line numbers.
  const nearest = (from: number, to: number, step: number, none: number): Int32Array => {
    const out = new Int32Array(count);
    const stack: number[] = [];
    for (let i = from; i !== to; i += step) {
      while (stack.length > 0 && spaces[stack[stack.length - 1]] >= spaces[i]) stack.pop();
      out[i] = stack.length > 0 ? stack[stack.length - 1] : none;
      stack.push(i);
    }
    return out;
  };
  return {
    count,
    at: (i) => {
      const line = text.slice(starts[i], end(i));
      return line.endsWith('\r') ? line.slice(0, -1) : line;
    },
    spaces,
    aboveLess: nearest(0, count, 1, -1),
    belowLess: nearest(count - 1, -1, -1, count),
  };
}

/** The lines of `text`, from its parse when the caller has it; null past MAX_ENTRIES lines. */
function linesOf(text: string, parsed: ParsedConfig | undefined): Lines | null {
  if (parsed && parsed.text === text && parsed.lines.text === text) {
    if (parsed.lines.lineCount > MAX_ENTRIES) return null;
    let known = linesByParse.get(parsed);
    if (!known) {
      known = buildLines(text, parsed.lines.lineStarts);
      linesByParse.set(parsed, known);
    }
    return known;
  }
  let count = 1;
  for (let i = text.indexOf('\n'); i !== -1 && count <= MAX_ENTRIES; i = text.indexOf('\n', i + 1)) count++;
  if (count > MAX_ENTRIES) return null;
  return buildLines(text, LineIndex.of(text).lineStarts);
}

/** Key path of the block that holds content at column `col` on line `lineNo`. */
function pathAbove(lines: Lines, lineNo: number, col: number, allowEqual: boolean): string[] {
  const out: string[] = [];
  let c = col;
  let eq = allowEqual;
  for (let i = lineNo - 1; i >= 0 && c > 0; i--) {
    // Indented at least `c` (past `c` when a key at `c` may be the parent): no sibling, parent
    // or end of the block; neither are the lines above it up to the jump (at least as indented).
    if (eq ? lines.spaces[i] > c : lines.spaces[i] >= c) {
      i = lines.aboveLess[i] + 1;
      continue;
    }
    const s = shape(lines.at(i));
    if (!s) continue;
    if (s.dashes > 0 && s.col === c && !eq) {
      // A sibling key inside the same sequence item.
      out.push('[]');
      c = s.lead;
      eq = true;
      continue;
    }
    const isParent =
      s.key !== undefined &&
      (s.value === '' || /^[&!]\S*$/.test(s.value ?? '')) &&
      (s.col < c || (eq && s.col === c && s.dashes === 0));
    if (isParent) {
      out.push(s.key as string);
      if (s.dashes > 0) {
        out.push('[]');
        c = s.lead;
        eq = true;
      } else {
        c = s.col;
        eq = false;
      }
      continue;
    }
    if (s.col < c) break; // a scalar line less indented: malformed above us
  }
  return out.reverse();
}

interface Facts {
  task?: string;
  /** Read when a value asks for them: the data file's header, the deploy targets' names. */
  columns: () => string[];
  targets: () => string[];
  base?: string;
}

/** Target names by document: the list is read once per parse, and only for a target value. */
const targetNames = new WeakMap<Document.Parsed, string[]>();

function facts(source: string | ParsedConfig, ctx: AnalysisContext): Facts {
  const f: Facts = { columns: () => [], targets: () => [] };
  if (typeof source === 'string' && source.length > 1_000_000) return f;
  // The bounded parse: deep nesting, binary junk and alias bombs are refused before the YAML
  // parser sees them (an unclosed 4,000-deep flow hangs the raw parser for minutes). Only the
  // four facts are read from the tree, so a long file is not converted to plain values.
  const doc = parsedOf(source).doc;
  if (!doc) return f;
  const at = (...path: string[]): unknown => {
    try {
      return doc.getIn(path);
    } catch {
      return undefined;
    }
  };
  const task = at('model', 'task');
  if (typeof task === 'string') f.task = task;
  f.targets = () => {
    let names = targetNames.get(doc);
    if (!names) {
      const targets = at('deploy', 'targets');
      names = isMap(targets)
        ? targets.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter((k) => k !== '')
        : [];
      targetNames.set(doc, names);
    }
    return names;
  };
  if (ctx.path) {
    const base = dirname(ctx.path);
    f.base = base;
    f.columns = () => {
      const train = at('data', 'train');
      const format = at('data', 'format');
      if (typeof train !== 'string' || ctx.noFileChecks) return [];
      return peekData(resolve(base, train), typeof format === 'string' ? format : undefined)?.columns ?? [];
    };
  }
  return f;
}

function metricsFor(task?: string): readonly string[] {
  return task === 'regression'
    ? REGRESSION_METRICS
    : task === 'classification'
      ? CLASSIFICATION_METRICS
      : [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];
}

/** Completion items at `pos` (zero-based, UTF-16 columns). */
/** Completion at `at`; `parsed` is this text's parse when the caller has it (the sidecar's analyzer does). */
export function complete(
  text: string,
  at: Position,
  ctx: AnalysisContext = {},
  parsed?: ParsedConfig,
): CompletionItem[] {
  // Documents refused as too large get no completion either, as they get no analysis.
  if (text.length > MAX_DOCUMENT_CHARS) return [];
  const lines = linesOf(text, parsed);
  if (!lines) return [];
  const pos = clampPosition(lines, at);
  const line = lines.at(pos.line);
  if (line.length > MAX_LINE_CHARS) return [];
  const before = line.slice(0, pos.character);
  const m = /^(\s*)((?:-\s+)*)(.*)$/s.exec(before);
  if (!m) return [];
  const lead = m[1].length;
  const col = lead + m[2].length;
  const rest = m[3];
  const partial = trailingWord(before);
  const range: Range = { start: { line: pos.line, character: pos.character - partial.length }, end: pos };

  const parentPath = m[2] ? [...pathAbove(lines, pos.line, lead, true), '[]'] : pathAbove(lines, pos.line, col, false);
  const km = /^([A-Za-z_][\w.-]*)\s*:\s*(.*)$/s.exec(rest);
  const f = facts(parsed ?? text, ctx);

  const flowItem = !km && m[2] !== '' && /^[{[]/.test(rest);
  if (!km && !flowItem) {
    if (/[\s"']/.test(rest)) return [];
    // Key position in a block map (or the first key of a new sequence item).
    return keyItems(parentPath, siblingKeys(lines, pos.line, col), f, range, col);
  }
  // Value position: follow unclosed flow brackets on this line.
  const valueText = km ? km[2] : rest;
  const path = km ? [...parentPath, km[1]] : [...parentPath];
  const stack: Array<{ kind: '{' | '['; key?: string; start: number }> = [];
  let q = '';
  let seg = 0;
  for (let i = 0; i < valueText.length; i++) {
    const ch = valueText[i];
    if (q) {
      if (ch === q) q = '';
      continue;
    }
    if (ch === '"' || ch === "'") q = ch;
    else if (ch === '{' || ch === '[') {
      if (stack.length >= MAX_NESTING) return []; // deeper than any config: the analysis reports it
      stack.push({ kind: ch, start: i + 1 });
      seg = i + 1;
    } else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top) top.key = undefined;
      seg = i + 1;
    } else if (ch === ':' && stack.length && stack[stack.length - 1].kind === '{') {
      stack[stack.length - 1].key = valueText.slice(seg, i).trim();
      seg = i + 1;
    }
  }
  if (q) return [];
  let keyMode = false;
  let tag: string | undefined;
  for (let i = 0; i < stack.length; i++) {
    const fr = stack[i];
    if (fr.kind === '[') path.push('[]');
    else if (fr.key !== undefined) path.push(fr.key);
    else keyMode = i === stack.length - 1;
    if (fr.kind === '{') tag = /(?:^|[{,]\s*)type\s*:\s*([\w]+)/.exec(valueText.slice(fr.start))?.[1];
  }
  if (keyMode) {
    const present = [...valueText.slice(stack[stack.length - 1].start).matchAll(/([\w.-]+)\s*:/g)].map((x) => x[1]);
    return keyItems(path, new Set(present), f, range, -1, tag);
  }
  const schema = schemaFor(path, tag);
  if (!schema) return [];
  const inList = stack.length > 0 && stack[stack.length - 1].kind === '[';
  const already = inList
    ? new Set(
        valueText
          .slice(stack[stack.length - 1].start)
          .split(',')
          .map((s) => s.trim()),
      )
    : new Set<string>();
  return valueItems(schema, f, range, already);
}

/** The partly typed word before the cursor, found scanning back (a regex anchored at $ is quadratic). */
function trailingWord(before: string): string {
  let i = before.length;
  while (i > 0 && !/[\s,[\]{}:"']/.test(before[i - 1])) i--;
  return before.slice(i);
}

function siblingKeys(lines: Lines, lineNo: number, col: number): Set<string> {
  const keys = new Set<string>();
  for (const dir of [-1, 1]) {
    for (let i = lineNo + dir; i >= 0 && i < lines.count; i += dir) {
      // Indented past `col`: inside a sibling's block, as is everything up to the jump.
      if (lines.spaces[i] > col) {
        i = (dir < 0 ? lines.aboveLess[i] : lines.belowLess[i]) - dir;
        continue;
      }
      const s = shape(lines.at(i));
      if (!s) continue;
      if (s.col < col) break;
      if (s.col === col && s.key) {
        keys.add(s.key);
        if (s.dashes > 0) break; // start of this sequence item
      }
    }
  }
  return keys;
}

function keyItems(
  path: string[],
  present: Set<string>,
  f: Facts,
  range: Range,
  col: number,
  tag?: string,
): CompletionItem[] {
  const schema = schemaFor(path);
  if (!schema) return [];
  const items: CompletionItem[] = [];
  if (schema.kind === 'object' && schema.keyEnum) {
    for (const m of metricsFor(f.task)) {
      if (present.has(m)) continue;
      items.push({
        label: m,
        kind: 'metric',
        detail: 'gate on metric',
        insertText: `${m}: ">= "`,
        range,
        documentation: schema.additionalProperties?.doc,
      });
    }
    return items;
  }
  for (const k of keysOf(schema, tag)) {
    if (present.has(k)) continue;
    const sub = childSchema(schema, k, tag);
    if (!sub) continue;
    const block = (sub.kind === 'object' || sub.kind === 'tagged') && col >= 0;
    const insertText = block ? `${k}:\n${' '.repeat(col + 2)}` : `${k}: `;
    const required = schema.kind === 'object' && schema.required?.includes(k);
    items.push({
      label: k,
      kind: 'property',
      detail: typeText(sub),
      documentation: `${sub.doc}\n\n\`\`\`yaml\n${sub.example}\n\`\`\``,
      insertText,
      range,
      sortText: `${required ? '0' : '1'}${k}`,
    });
  }
  return items;
}

function valueItems(schema: SchemaNode, f: Facts, range: Range, already: Set<string>): CompletionItem[] {
  const items: CompletionItem[] = [];
  const add = (label: string, kind: CompletionItem['kind'], detail?: string, insertText = label) => {
    if (!already.has(label)) items.push({ label, kind, detail, insertText, range });
  };
  const s = schema.kind === 'array' ? schema.items : schema;
  if (s.kind === 'union') {
    for (const alt of s.anyOf) items.push(...valueItems(alt, f, range, already));
    return items;
  }
  if (s.kind === 'string') {
    if (s.role === 'metric') for (const m of metricsFor(f.task)) add(m, 'metric', 'metric');
    else if (s.enum) for (const e of s.enum) add(e, 'enum', defaultOf(s, f.task) === e ? 'default' : undefined);
    else if (s.role === 'column') for (const c of f.columns()) add(c, 'column', 'column of the training data');
    else if (s.role === 'gate') {
      add('">= 0.9"', 'snippet', 'absolute gate');
      add('">= production - 0.01"', 'snippet', 'relative to the version holding alias production');
      add('"<= staging * 1.05"', 'snippet', 'relative to the version holding alias staging');
    } else if (s.role === 'target-name') for (const t of f.targets()) add(t, 'target', 'deployment target');
    else if (s.role === 'path' && f.base) for (const p of dataFiles(f.base)) add(p, 'file', 'data file');
    else if (defaultOf(s, f.task) !== undefined) add(String(defaultOf(s, f.task)), 'value', 'default');
  } else if (s.kind === 'boolean') {
    add('true', 'value', s.default === true ? 'default' : undefined);
    add('false', 'value', s.default === false ? 'default' : undefined);
  } else if (s.kind === 'number' || s.kind === 'integer') {
    if (s.enum) for (const e of s.enum) add(String(e), 'value');
    else if (defaultOf(s, f.task) !== undefined) add(String(defaultOf(s, f.task)), 'value', 'default');
  } else if (s.kind === 'tagged') {
    for (const t of Object.keys(s.variants)) add(`{ type: ${t} }`, 'snippet', s.variants[t].doc);
  }
  return items;
}
