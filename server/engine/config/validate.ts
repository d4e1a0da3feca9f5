/**
 * Analysis of `modelops.yaml`: syntax → schema → meaning. Every diagnostic has an exact range,
 * a stable code, and (where a fix exists) `data` for the quick fix.
 */
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, isAlias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { childSchema, configSchema, keysOf, withDefaults, type ObjectSchema, type SchemaNode } from './schema';
import {
  deref,
  keyName,
  MAX_ALIAS_EXPANSION,
  nodeSpan,
  parseConfig,
  toJs,
  type LineIndex,
  type ParsedConfig,
} from './parse';
import { fileInfo, nearestDataFiles, peekData, sampleColumn } from './datafile';
import { checkOnnxBlock, checkOnnxModel, type OnnxCheckHost } from './onnxCheck';
import { isAssembled, type ParseCache } from './incremental';
import { parseGate, GATE_GRAMMAR } from './gate';
import { didYouMean, isSecretKey, looksLikeSecret, urlCarriesSecret } from './text';
import { webhookPathCarriesSecret } from '../monitoring/webhook';
import { listColumns } from '../data/read';
import { checkTune } from '../tuning/space';
import {
  CLASSIFICATION_METRICS,
  FAIRNESS_METRICS,
  REGRESSION_METRICS,
  type AnalysisContext,
  type ConfigDiagnostic,
  type ModelOpsConfig,
  type Position,
  type Range,
  type Severity,
} from './types';

export const MAX_DIAGNOSTICS = 200;
/** train keys that configure training here (tfjs) or an external trainer, not a model trained elsewhere. */
const TRAINING_KEYS = [
  'epochs',
  'batchSize',
  'optimizer',
  'learningRate',
  'classWeights',
  'earlyStopping',
  'command',
  'outputs',
  'metrics',
] as const;
export const SECRET_HINT = 'store it with ModelOps: Set Endpoint Token';

export interface Analysis {
  diagnostics: ConfigDiagnostic[];
  parsed: ParsedConfig;
  /** The document as plain data (undefined when refused before parsing). */
  value: unknown;
  /** The typed config with defaults, present only when there is no error. */
  config?: ModelOpsConfig;
}

type Path = Array<string | number>;

interface PairMemo {
  schema: SchemaNode | undefined;
  path: string;
  /** Line of the pair's key when recorded. */
  line: number;
  out: ConfigDiagnostic[];
}
/** Schema-walk and secret-scan diagnostics per pair of an incrementally parsed document. */
const walkMemo = new WeakMap<Pair, PairMemo>();
const scanMemo = new WeakMap<Pair, PairMemo>();

class Analyzer {
  readonly out: ConfigDiagnostic[] = [];
  private aliasBudget = MAX_ALIAS_EXPANSION;
  private aliasReported = false;
  readonly lines: LineIndex;
  readonly doc: Document.Parsed;
  /** Whether per-pair results may be re-used (see `replay`). */
  readonly memo: boolean;

  constructor(
    readonly parsed: ParsedConfig,
    readonly ctx: AnalysisContext,
  ) {
    this.lines = parsed.lines;
    this.doc = parsed.doc as Document.Parsed;
    this.memo = isAssembled(this.doc);
  }

  add(range: Range, severity: Severity, code: string, message: string, data?: Record<string, unknown>): void {
    if (this.out.length >= MAX_DIAGNOSTICS) return;
    const d: ConfigDiagnostic = { range, severity, message, code };
    if (data) d.data = data;
    this.out.push(d);
  }

  rangeOf(node: Node | null | undefined, fallback?: Range): Range {
    const s = nodeSpan(node);
    if (s) return this.lines.range(s[0], s[1]);
    return fallback ?? this.lines.range(0, 0);
  }

  /** Range of a pair from key start to value end (a whole `key: value`). */
  pairRange(p: Pair): Range {
    const ks = nodeSpan(p.key as Node);
    const vs = nodeSpan(p.value as Node);
    const start = ks ? ks[0] : vs ? vs[0] : 0;
    const end = vs && vs[1] > start ? vs[1] : ks ? ks[1] : start;
    return this.lines.range(start, end);
  }

  /** Follows aliases, spending from the expansion budget. */
  follow(node: unknown, at: Range): Node | null {
    if (!isAlias(node)) return (node as Node | null) ?? null;
    return (
      deref(this.doc, node) ??
      (this.add(at, 'error', 'unknown-alias', `Alias *${node.source} refers to no anchor.`), null)
    );
  }

  spend(at: Range, viaAlias: boolean): boolean {
    if (!viaAlias) return true;
    if (this.aliasBudget-- > 0) return true;
    this.aliasLimit(at);
    return false;
  }

  aliasLimit(at: Range): void {
    if (!this.aliasReported) {
      this.aliasReported = true;
      this.add(
        at,
        'error',
        'alias-limit',
        `YAML aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (an "alias bomb"); expansion stopped here. Write the values out instead of nesting aliases.`,
      );
    }
  }

  // ---- schema ----

  walk(raw: unknown, schema: SchemaNode, path: Path, owner: Range, viaAlias: boolean): void {
    const isAliasNode = isAlias(raw);
    const node = this.follow(raw, owner);
    const via = viaAlias || isAliasNode;
    const at = isAliasNode ? this.rangeOf(raw as Node, owner) : this.rangeOf(node, owner);
    if (!this.spend(at, via)) return;
    const isNull = node === null || (isScalar(node) && node.value === null);
    switch (schema.kind) {
      case 'object':
      case 'tagged': {
        if (!isMap(node)) {
          this.add(
            at,
            'error',
            'wrong-type',
            isNull
              ? `${pathText(path)} is empty: expected a map of settings (${keysOf(schema).slice(0, 5).join(', ')}…).`
              : `${pathText(path)} must be a map of settings, not ${describe(node)}.`,
          );
          return;
        }
        let obj: ObjectSchema;
        if (schema.kind === 'tagged') {
          const tagPair = node.items.find((p) => keyName(p) === schema.tag);
          const variants = Object.keys(schema.variants);
          if (!tagPair) {
            this.add(
              owner,
              'error',
              'missing-key',
              `${pathText(path)} needs '${schema.tag}' (one of ${variants.join(', ')}).`,
              this.missingData(node, schema.tag, path, schema.example),
            );
            return;
          }
          const tv = this.follow(tagPair.value, at);
          const tag = isScalar(tv) ? String(tv.value) : '';
          const variant = schema.variants[tag];
          if (!variant) {
            const s = didYouMean(tag, variants);
            this.add(
              this.rangeOf(tv, at),
              'error',
              'invalid-enum',
              `${pathText(path)}.${schema.tag} must be one of ${variants.join(', ')}; got '${tag}'.${s ? ` Did you mean '${s}'?` : ''}`,
              s ? { suggestion: s } : undefined,
            );
            return;
          }
          obj = variant;
        } else obj = schema;
        this.walkMap(node, obj, path, at, via, owner);
        return;
      }
      case 'array': {
        if (!isSeq(node)) {
          this.add(
            at,
            'error',
            'wrong-type',
            isNull
              ? `${pathText(path)} is empty: expected a list.`
              : `${pathText(path)} must be a list, not ${describe(node)}.`,
          );
          return;
        }
        if (schema.minItems !== undefined && node.items.length < schema.minItems)
          this.add(
            at,
            'error',
            'too-few-items',
            `${pathText(path)} needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}.`,
          );
        const seen = new Set<string>();
        node.items.forEach((it, i) => {
          this.walk(it, schema.items, [...path, i], at, via);
          if (schema.uniqueItems) {
            const n = this.follow(it, at);
            if (isScalar(n)) {
              const k = String(n.value);
              if (seen.has(k))
                this.add(
                  this.rangeOf(n, at),
                  'error',
                  'duplicate-item',
                  `${pathText(path)} lists '${k}' more than once.`,
                );
              seen.add(k);
            }
          }
        });
        return;
      }
      case 'union': {
        const alt =
          schema.anyOf.find((a) => (a.kind === 'object' || a.kind === 'tagged') && isMap(node)) ??
          schema.anyOf.find((a) => a.kind === 'string' && isScalar(node) && typeof node.value === 'string') ??
          schema.anyOf.find(
            (a) => (a.kind === 'number' || a.kind === 'integer') && isScalar(node) && typeof node.value === 'number',
          );
        if (!alt) {
          this.add(
            at,
            'error',
            'wrong-type',
            `${pathText(path)} must be ${schema.anyOf.map(kindText).join(' or ')}, not ${describe(node)}.`,
          );
          return;
        }
        this.walk(raw, alt, path, owner, viaAlias);
        return;
      }
      case 'string': {
        if (!isScalar(node) || typeof node.value !== 'string') {
          this.add(
            at,
            'error',
            'wrong-type',
            isNull
              ? `${pathText(path)} is empty: expected ${kindText(schema)}.`
              : `${pathText(path)} must be ${kindText(schema)}, not ${describe(node)}.${isScalar(node) ? ' Quote it to make it text.' : ''}`,
          );
          return;
        }
        const v = node.value;
        if (schema.enum && !schema.enum.includes(v)) {
          const s = didYouMean(v, schema.enum);
          // A metric name: "Did you mean" first, and metricsOfTask narrows the list to the model's task.
          if (schema.role === 'metric')
            this.add(at, 'error', 'invalid-enum', `${pathText(path)}: ${unknownMetricMessage(v, s, schema.enum)}`, {
              ...(s ? { suggestion: s } : {}),
              metric: v,
              field: pathText(path),
            });
          else
            this.add(
              at,
              'error',
              'invalid-enum',
              `${pathText(path)} must be one of ${schema.enum.join(', ')}; got '${clip(v)}'.${s ? ` Did you mean '${s}'?` : ''}`,
              s ? { suggestion: s } : undefined,
            );
        } else if (schema.minLength !== undefined && v.length < schema.minLength)
          this.add(at, 'error', 'empty-value', `${pathText(path)} must not be empty.`);
        else if (schema.pattern && !patternOf(schema.pattern).test(v))
          this.add(
            at,
            'error',
            'invalid-value',
            `${pathText(path)} '${clip(v)}' ${schema.patternHint ?? "has characters that are not allowed (letters, digits, '-', '_' and '.' only)"}.`,
          );
        return;
      }
      case 'number':
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number' || !Number.isFinite(node.value)) {
          this.add(
            at,
            'error',
            'wrong-type',
            isNull
              ? `${pathText(path)} is empty: expected ${kindText(schema)}.`
              : `${pathText(path)} must be ${kindText(schema)}, not ${describe(node)}.`,
          );
          return;
        }
        const v = node.value;
        if (schema.kind === 'integer' && !Number.isInteger(v))
          this.add(at, 'error', 'wrong-type', `${pathText(path)} must be a whole number; got ${v}.`);
        else if (schema.enum && !schema.enum.includes(v))
          this.add(at, 'error', 'invalid-enum', `${pathText(path)} must be ${schema.enum.join(' or ')}; got ${v}.`, {
            suggestion: String(schema.enum[0]),
          });
        else if (schema.minimum !== undefined && v < schema.minimum)
          this.add(
            at,
            'error',
            'out-of-range',
            `${pathText(path)} must be ≥ ${schema.minimum}${rangeTail(schema)}; got ${v}.`,
          );
        else if (schema.maximum !== undefined && v > schema.maximum)
          this.add(
            at,
            'error',
            'out-of-range',
            `${pathText(path)} must be ≤ ${schema.maximum}${rangeTail(schema)}; got ${v}.`,
          );
        else if (schema.exclusiveMinimum !== undefined && v <= schema.exclusiveMinimum)
          this.add(at, 'error', 'out-of-range', `${pathText(path)} must be > ${schema.exclusiveMinimum}; got ${v}.`);
        else if (schema.exclusiveMaximum !== undefined && v >= schema.exclusiveMaximum)
          this.add(at, 'error', 'out-of-range', `${pathText(path)} must be < ${schema.exclusiveMaximum}; got ${v}.`);
        return;
      }
      case 'boolean': {
        if (!isScalar(node) || typeof node.value !== 'boolean')
          this.add(at, 'error', 'wrong-type', `${pathText(path)} must be true or false, not ${describe(node)}.`);
        return;
      }
    }
  }

  walkMap(node: YAMLMap, schema: ObjectSchema, path: Path, at: Range, via: boolean, owner: Range): void {
    const present = new Set<string>();
    const memoPath = this.memo && !via ? JSON.stringify(path) : null;
    for (const p of node.items) {
      if (!isPair(p)) continue;
      const k = keyName(p);
      if (k !== null) present.add(k);
      if (memoPath !== null && this.replay(walkMemo, p, schema, memoPath)) continue;
      const mark = this.out.length;
      this.walkPair(p, k, schema, path, at, via);
      if (memoPath !== null) this.record(walkMemo, p, schema, memoPath, mark);
    }
    for (const r of schema.required ?? []) {
      if (present.has(r)) continue;
      const sub = schema.properties[r];
      this.add(
        owner,
        'error',
        'missing-key',
        `${pathText(path)} is missing the required key '${r}'.`,
        this.missingData(node, r, path, sub?.example ?? `${r}: `),
      );
    }
  }

  walkPair(p: Pair, k: string | null, schema: ObjectSchema, path: Path, at: Range, via: boolean): void {
    const kr = this.rangeOf(p.key as Node, at);
    if (k === null) {
      this.add(kr, 'error', 'invalid-key', `Keys in ${pathText(path)} must be plain names.`);
      return;
    }
    if (isSecretKey(k)) {
      this.secretAt(p, path);
      return;
    }
    const sub = schema.properties[k];
    if (sub) {
      this.walk(p.value, sub, [...path, k], kr, via);
      return;
    }
    if (schema.additionalProperties) {
      if (schema.keyEnum && !schema.keyEnum.includes(k)) {
        // Worded for the model's task by `metricsOfTask` once the whole document is read.
        const s = didYouMean(k, schema.keyEnum);
        this.add(
          kr,
          'error',
          'unknown-metric',
          unknownMetricMessage(k, s, schema.keyEnum),
          s ? { suggestion: s, metric: k } : { metric: k },
        );
        return;
      }
      if (schema.keyPattern && !patternOf(schema.keyPattern).test(k)) {
        this.add(
          kr,
          'error',
          'invalid-name',
          `${pathText(path)}: '${clip(k)}' is not a valid ${schema.keyDoc ?? 'name'} — use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit (it becomes a file name).`,
        );
      }
      this.walk(p.value, schema.additionalProperties, [...path, k], kr, via);
      return;
    }
    const allowed = Object.keys(schema.properties);
    const s = didYouMean(k, allowed);
    const keys = allowed.length ? ` Keys here: ${allowed.join(', ')}.` : '';
    this.add(
      kr,
      'error',
      'unknown-key',
      `Unknown key '${clip(k)}' in ${pathText(path)}.${s ? ` Did you mean '${s}'?` : keys}`,
      s ? { suggestion: s, key: k } : { key: k },
    );
  }

  /**
   * Re-uses the diagnostics a pair produced in an earlier analysis. Only for documents assembled
   * by the incremental parse, whose unchanged chunks keep their Pair objects: the same pair has
   * the same text, and the checks of a pair read nothing outside it but the schema and the path,
   * which are part of the memo. A chunk starts at a line start, so when it moved every position
   * inside it moved by whole lines with the same characters: the recorded diagnostics are moved
   * by that many lines (their ranges and the quick-fix insert position, the only positions in
   * `data`).
   */
  replay(memo: WeakMap<Pair, PairMemo>, p: Pair, schema: SchemaNode | undefined, path: string): boolean {
    const m = memo.get(p);
    const kr = (p.key as Node | null)?.range;
    if (!m || !kr || m.schema !== schema || m.path !== path) return false;
    const line = this.lines.position(kr[0]).line;
    if (m.line !== line) {
      m.out = m.out.map((d) => moveLines(d, line - m.line));
      m.line = line;
    }
    for (const d of m.out) if (this.out.length < MAX_DIAGNOSTICS) this.out.push(d);
    return true;
  }

  record(memo: WeakMap<Pair, PairMemo>, p: Pair, schema: SchemaNode | undefined, path: string, mark: number): void {
    const kr = (p.key as Node | null)?.range;
    // A pair whose diagnostics hit the cap may have lost some: not recorded.
    if (!kr || this.out.length >= MAX_DIAGNOSTICS) return;
    memo.set(p, { schema, path, line: this.lines.position(kr[0]).line, out: this.out.slice(mark) });
  }

  /** Where and what to insert for a missing key (used by the "add required key" fix). */
  missingData(node: YAMLMap, key: string, path: Path, example: string): Record<string, unknown> {
    const data: Record<string, unknown> = { key, path: path.map(String) };
    const firstKey = node.items.find((p) => isPair(p) && nodeSpan(p.key as Node));
    if (node.flow) {
      const lastPair = node.items[node.items.length - 1];
      const lastSpan = lastPair ? (nodeSpan(lastPair.value as Node) ?? nodeSpan(lastPair.key as Node)) : null;
      const open = nodeSpan(node);
      const snippet = example.includes('\n') ? `${key}: ` : example.replace(/^- /, '');
      if (lastSpan) data.insert = { position: this.lines.position(lastSpan[1]), text: `, ${snippet}` };
      else if (open) data.insert = { position: this.lines.position(open[0] + 1), text: ` ${snippet} ` };
      return data;
    }
    const last = node.items[node.items.length - 1];
    const ks = firstKey ? nodeSpan(firstKey.key as Node) : null;
    if (!ks || !last) return data;
    const indent = this.lines.position(ks[0]).character;
    const lastEnd = nodeSpan((last.value as Node) ?? (last.key as Node));
    const endLine = lastEnd
      ? this.lines.position(Math.max(lastEnd[0], lastEnd[1] - 1)).line
      : this.lines.position(ks[0]).line;
    const pad = ' '.repeat(indent);
    const text = example
      .replace(/^- /, '')
      .split('\n')
      .map((l) => pad + l)
      .join('\n');
    data.insert = { position: { line: endLine + 1, character: 0 }, text: `${text}\n` };
    return data;
  }

  secretAt(p: Pair, path: Path): void {
    const k = keyName(p) ?? '';
    const targetName =
      path[0] === 'deploy' && path[1] === 'targets' && typeof path[2] === 'string' ? path[2] : undefined;
    this.add(
      this.pairRange(p),
      'error',
      'inline-secret',
      `${pathText([...path, k])} holds a secret in the config file — ${SECRET_HINT} and reference it with tokenSecret: <name>.`,
      { key: k, secretName: targetName ?? 'default', replace: true },
    );
  }

  /** Secret-looking string values anywhere (tokens pasted where a name belongs). */
  scanValues(raw: unknown, path: Path, depth: number, schema: SchemaNode | undefined = configSchema): void {
    if (depth > 64) return;
    const node = isAlias(raw) ? null : (raw as Node | null);
    if (isMap(node)) {
      const memoPath = this.memo ? JSON.stringify(path) : null;
      for (const p of node.items) {
        if (!isPair(p)) continue;
        const k = keyName(p) ?? '?';
        const sub = schema ? childSchema(schema, k) : undefined;
        if (memoPath !== null && this.replay(scanMemo, p, sub, memoPath)) continue;
        const mark = this.out.length;
        this.scanValues(p.value, [...path, k], depth + 1, sub);
        if (memoPath !== null) this.record(scanMemo, p, sub, memoPath, mark);
      }
    } else if (isSeq(node)) {
      const items = schema ? childSchema(schema, '[]') : undefined;
      node.items.forEach((it, i) => this.scanValues(it, [...path, i], depth + 1, items));
    } else if (isScalar(node) && typeof node.value === 'string') {
      const key = String(path[path.length - 1] ?? '');
      if (isSecretKey(key)) return; // reported with the key
      // `schema` is the schema at `path`, carried down the recursion
      const role = path.length > 0 ? schema?.role : undefined;
      if (role === 'url') return; // URLs are checked for credentials by the URL check
      if (looksLikeSecret(node.value, role !== 'path' && role !== 'command')) {
        const targetName =
          path[0] === 'deploy' && path[1] === 'targets' && typeof path[2] === 'string' ? path[2] : undefined;
        this.add(
          this.rangeOf(node),
          'error',
          'inline-secret',
          `${pathText(path)} looks like a token or password — ${SECRET_HINT}; the config file holds only the secret's name (tokenSecret: <name>).`,
          {
            key,
            secretName: targetName ?? 'default',
            replace: key === 'tokenSecret',
          },
        );
      }
    }
  }

  // ---- meaning ----

  node(path: Path): Node | null {
    let n: unknown = this.doc.contents;
    for (const seg of path) {
      n = this.follow(n, this.lines.range(0, 0));
      if (typeof seg === 'number') {
        if (!isSeq(n)) return null;
        n = n.items[seg];
      } else {
        if (!isMap(n)) return null;
        const p = pairNamed(n, seg);
        if (!p) return null;
        n = p.value;
      }
    }
    return this.follow(n, this.lines.range(0, 0));
  }

  keyNode(path: Path): Node | null {
    const parent = this.node(path.slice(0, -1));
    if (!isMap(parent)) return null;
    const last = path[path.length - 1];
    const p = typeof last === 'string' ? pairNamed(parent, last) : undefined;
    return (p?.key as Node) ?? null;
  }

  at(path: Path): Range {
    for (let i = path.length; i > 0; i--) {
      const n = this.node(path.slice(0, i));
      if (n && nodeSpan(n) && !(isScalar(n) && n.value === null)) return this.rangeOf(n);
      const k = this.keyNode(path.slice(0, i));
      if (k) return this.rangeOf(k);
    }
    return this.lines.range(0, 0);
  }

  keyAt(path: Path): Range {
    const k = this.keyNode(path);
    return k ? this.rangeOf(k) : this.at(path);
  }

  /** evaluate.fairness: sensitive columns in the data, fairness metrics only for a classifier, fairness gates need the block. */
  fairnessMeaning(
    evaluate: Record<string, unknown>,
    task: string | undefined,
    columns: string[] | null,
    trainPath: string | undefined,
  ): void {
    const fairness = obj(evaluate.fairness);
    const configured = isMap(this.node(['evaluate', 'fairness']));
    const isFairness = (m: unknown): boolean =>
      typeof m === 'string' && (FAIRNESS_METRICS as readonly string[]).includes(m);
    const wrongTask = (m: string) =>
      `'${m}' compares predicted classes between groups and exists only for classification, but model.task is regression. Per-group regression metrics: ${REGRESSION_METRICS.join(', ')}.`;
    if (Array.isArray(fairness.sensitive) && columns) {
      fairness.sensitive.forEach((c, i) => {
        if (typeof c !== 'string' || columns.includes(c)) return;
        const s = didYouMean(c, columns);
        this.add(
          this.at(['evaluate', 'fairness', 'sensitive', i]),
          'error',
          'unknown-column',
          `evaluate.fairness.sensitive: '${clip(c)}' is not a column of '${trainPath}'. Columns: ${listColumns(columns, 12)}.${s ? ` Did you mean '${s}'?` : ''}`,
          s ? { suggestion: s } : undefined,
        );
      });
    }
    if (Array.isArray(fairness.metrics) && task) {
      const other: readonly string[] = task === 'classification' ? REGRESSION_METRICS : CLASSIFICATION_METRICS;
      fairness.metrics.forEach((m, i) => {
        if (typeof m !== 'string') return;
        const at = this.at(['evaluate', 'fairness', 'metrics', i]);
        if (task === 'regression' && isFairness(m))
          this.add(at, 'error', 'metric-task-mismatch', `evaluate.fairness.metrics: ${wrongTask(m)}`);
        else if (other.includes(m))
          this.add(
            at,
            'error',
            'metric-task-mismatch',
            `evaluate.fairness.metrics: '${m}' is not a ${task} metric. Metrics for ${task}: ${(task === 'classification' ? [...CLASSIFICATION_METRICS, ...FAIRNESS_METRICS] : REGRESSION_METRICS).join(', ')}.`,
          );
      });
    }
    for (const m of Object.keys(obj(evaluate.gates))) {
      if (!isFairness(m)) continue;
      if (task === 'regression')
        this.add(
          this.keyAt(['evaluate', 'gates', m]),
          'error',
          'metric-task-mismatch',
          `evaluate.gates: ${wrongTask(m)}`,
        );
      else if (!configured)
        this.add(
          this.keyAt(['evaluate', 'gates', m]),
          'error',
          'fairness-not-configured',
          `evaluate.gates.${m}: a fairness gate needs evaluate.fairness with the sensitive columns to compare, e.g. fairness: { sensitive: [sex] }.`,
        );
    }
  }

  /** The meaning checks: the rules of MEANING_RULES, in order. */
  meaning(v: Record<string, unknown>): void {
    const facts = meaningFacts(v, this.ctx);
    for (const rule of MEANING_RULES) rule.check(this, facts);
  }

  /** data.split fractions sum to 1. */
  splitSum(facts: MeaningFacts): void {
    const { data } = facts;
    const split = obj(data.split);
    if (isMap(this.node(['data', 'split']))) {
      const parts = [split.train ?? 0.7, split.validation ?? 0.15, split.test ?? 0.15];
      if (parts.every((x) => typeof x === 'number')) {
        const sum = (parts as number[]).reduce((a, b) => a + b, 0);
        if (Math.abs(sum - 1) > 1e-6)
          this.add(
            this.at(['data', 'split']),
            'error',
            'split-sum',
            `data.split fractions must sum to 1; train + validation + test = ${round(sum)}.`,
          );
      }
    }
  }

  /** data.train, validation and test exist and can be read; the others have the training file's columns. */
  dataFiles(facts: MeaningFacts): void {
    const { data, base, format } = facts;
    let columns: string[] | null = null;
    if (base && !this.ctx.noFileChecks) {
      for (const key of ['train', 'validation', 'test'] as const) {
        const rel = data[key];
        if (typeof rel !== 'string' || !rel) continue;
        const abs = resolve(base, rel);
        if (!fileInfo(abs)) {
          // The nearest existing data files become quick fixes (a typo, or the file was moved).
          const near = nearestDataFiles(base, rel);
          const hint = near.length ? ` Nearest data file${near.length > 1 ? 's' : ''}: ${near.join(', ')}.` : '';
          this.add(
            this.at(['data', key]),
            'error',
            'file-not-found',
            `data.${key}: file '${rel}' does not exist (looked in ${abs}).${hint}`,
            { path: abs, candidates: near },
          );
          continue;
        }
        const peek = peekData(abs, format);
        if (!peek) continue;
        if (!peek.columns) {
          this.add(
            this.at(['data', key]),
            'warning',
            'unreadable-data',
            `data.${key}: cannot read the columns of '${rel}': ${peek.problem}.`,
          );
          continue;
        }
        if (key === 'train') columns = peek.columns;
        else if (columns) {
          const missing = columns.filter((c) => !peek.columns?.includes(c));
          if (missing.length)
            this.add(
              this.at(['data', key]),
              'error',
              'column-mismatch',
              `data.${key}: '${rel}' lacks column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} of the training file.`,
            );
        }
      }
    }
    facts.columns = columns;
  }

  /** data.target and data.features name columns of the training file; the features the model takes. */
  dataColumns(facts: MeaningFacts): void {
    const { columns, target, features, trainPath } = facts;
    if (columns && target !== undefined && !columns.includes(target)) {
      const s = didYouMean(target, columns);
      this.add(
        this.at(['data', 'target']),
        'error',
        'unknown-column',
        `data.target: '${clip(target)}' is not a column of '${trainPath}'. Columns: ${listColumns(columns, 12)}.${s ? ` Did you mean '${s}'?` : ''}`,
        s ? { suggestion: s } : undefined,
      );
    }
    if (features) {
      features.forEach((f, i) => {
        if (typeof f !== 'string') return;
        if (f === target)
          this.add(
            this.at(['data', 'features', i]),
            'error',
            'target-in-features',
            `data.features: '${f}' is the target; a model cannot take its own answer as input.`,
          );
        else if (columns && !columns.includes(f)) {
          const s = didYouMean(f, columns);
          this.add(
            this.at(['data', 'features', i]),
            'error',
            'unknown-column',
            `data.features: '${clip(f)}' is not a column of '${trainPath}'. Columns: ${listColumns(columns, 12)}.${s ? ` Did you mean '${s}'?` : ''}`,
            s ? { suggestion: s } : undefined,
          );
        }
      });
    }
    facts.featureSet = features
      ? features.filter((f): f is string => typeof f === 'string')
      : columns?.filter((c) => c !== target);
  }

  /** The target's values against model.task; a classifier's classes. */
  targetValues(facts: MeaningFacts): void {
    const { base, trainPath, target, columns, task, format } = facts;
    let classes: { count: number; exact: boolean; labels: string[] } | undefined;
    if (base && trainPath && target && columns?.includes(target) && !this.ctx.noFileChecks) {
      const sample = sampleColumn(resolve(base, trainPath), target, format);
      if (sample && sample.rows > 0) {
        const labels = [...sample.distinct].sort();
        if (task === 'regression' && !sample.numeric) {
          const example = labels.find((l) => !Number.isFinite(Number(l))) ?? '';
          this.add(
            this.at(['model', 'task']),
            'error',
            'task-mismatch',
            `model.task is regression but target '${target}' has non-numeric values (e.g. '${clip(example)}'). Use task: classification, or a numeric target.`,
            { suggestion: 'classification' },
          );
        } else if (task === 'classification') {
          if (sample.numeric && sample.distinct.size > 50)
            this.add(
              this.at(['model', 'task']),
              'warning',
              'task-mismatch',
              `model.task is classification but target '${target}' looks continuous (${sample.distinct.size}+ distinct numbers). Did you mean task: regression?`,
              { suggestion: 'regression' },
            );
          else classes = { count: sample.distinct.size, exact: sample.complete, labels };
        }
      }
    }
    facts.classes = classes;
  }

  /** model.layers and train.command against model.framework. */
  frameworkKeys(facts: MeaningFacts): void {
    const { framework, model, train, layers } = facts;
    if (
      framework === 'tfjs' &&
      isMap(this.node(['model'])) &&
      !this.node(['model', 'layers']) &&
      model.layers === undefined
    ) {
      const m = this.node(['model']) as YAMLMap;
      this.add(
        this.keyAt(['model']),
        'error',
        'missing-key',
        `model.layers is required with framework: tfjs (the network, input to output).`,
        this.missingData(m, 'layers', ['model'], schemaExample(['model', 'layers'])),
      );
    }
    if (framework === 'command' && typeof train.command !== 'string') {
      this.add(
        this.at(['model', 'framework']),
        'error',
        'missing-key',
        `framework: command needs train.command (the external trainer to run).`,
      );
    }
    if (framework !== 'tfjs' && layers)
      this.add(
        this.keyAt(['model', 'layers']),
        'warning',
        'unused-key',
        `model.layers is ignored with framework: ${framework}.`,
      );
  }

  /** train.command with framework: tfjs. */
  commandOnly(facts: MeaningFacts): void {
    const { framework, train } = facts;
    if (framework === 'tfjs' && typeof train.command === 'string')
      this.add(
        this.keyAt(['train', 'command']),
        'warning',
        'unused-key',
        `train.command is used only with framework: command.`,
      );
  }

  /** The output layer against the task and the classes in the data. */
  outputLayer(facts: MeaningFacts): void {
    const { framework, layers, task, classes, target, trainPath } = facts;
    if (framework === 'tfjs' && layers && layers.length > 0 && task) {
      const li = layers.length - 1;
      const last = obj(layers[li]);
      if (last.type !== 'dense') {
        if (typeof last.type === 'string')
          this.add(
            this.at(['model', 'layers', li]),
            'error',
            'last-layer-type',
            `model.layers: the last layer must be dense (the output layer); it is ${last.type}.`,
          );
      } else if (typeof last.units === 'number') {
        const units = last.units;
        const act = typeof last.activation === 'string' ? last.activation : undefined;
        const unitsAt = this.node(['model', 'layers', li, 'units'])
          ? this.at(['model', 'layers', li, 'units'])
          : this.at(['model', 'layers', li]);
        const actAt = this.node(['model', 'layers', li, 'activation'])
          ? this.at(['model', 'layers', li, 'activation'])
          : this.at(['model', 'layers', li]);
        const hasAct = Boolean(this.node(['model', 'layers', li, 'activation']));
        if (task === 'regression') {
          if (units !== 1)
            this.add(
              unitsAt,
              'error',
              'last-layer-units',
              `model.layers: a regression model's last layer needs 1 unit; it has ${units}.`,
              { expected: 1, layer: li },
            );
          if (act && act !== 'linear')
            this.add(
              actAt,
              'warning',
              'last-layer-activation',
              `model.layers: a regression model's last layer usually has no activation (linear); '${act}' limits the outputs.`,
              { expected: 'linear', layer: li, hasActivation: hasAct },
            );
        } else {
          const expectedAct = units === 1 ? 'sigmoid' : 'softmax';
          if (act !== 'softmax' && act !== 'sigmoid')
            this.add(
              actAt,
              'error',
              'last-layer-activation',
              `model.layers: a classification model's last layer needs activation softmax (or sigmoid for one unit); it has ${act ?? 'none'}.`,
              { expected: expectedAct, layer: li, hasActivation: hasAct },
            );
          else if (units === 1 && act === 'softmax')
            this.add(
              actAt,
              'error',
              'last-layer-activation',
              `model.layers: softmax over 1 unit always outputs 1; use sigmoid for a single output unit.`,
              { expected: 'sigmoid', layer: li, hasActivation: hasAct },
            );
          if (classes) {
            const k = classes.count;
            const shown = classes.labels.slice(0, 8).join(', ') + (classes.labels.length > 8 ? ', …' : '');
            const where = `target '${target}' has ${k} class${k === 1 ? '' : 'es'} in '${trainPath}' (${shown})`;
            if (k === 1)
              this.add(
                this.at(['data', 'target']),
                'warning',
                'single-class',
                `data.target: ${where}; a classifier needs at least 2.`,
              );
            else if (k === 2) {
              if (units > 2)
                this.add(
                  unitsAt,
                  'error',
                  'last-layer-units',
                  `model.layers: the last layer has ${units} units but ${where}; use 2 units with softmax or 1 with sigmoid.`,
                  { expected: 2, layer: li },
                );
            } else if (units !== k && (classes.exact || units < k)) {
              this.add(
                unitsAt,
                'error',
                'last-layer-units',
                `model.layers: the last layer has ${units} unit${units === 1 ? '' : 's'} but ${where}.`,
                { expected: k, layer: li },
              );
            }
          }
        }
      }
    }
  }

  /** evaluate.metrics are metrics of the task. */
  evaluateMetrics(facts: MeaningFacts): void {
    const { evaluate, task, valid } = facts;
    const all = ALL_METRICS;
    const mismatch = (m: string) => metricMismatch(m, task, valid);
    if (valid && Array.isArray(evaluate.metrics)) {
      evaluate.metrics.forEach((m, i) => {
        if (typeof m === 'string' && all.includes(m) && !valid.includes(m))
          this.add(
            this.at(['evaluate', 'metrics', i]),
            'error',
            'metric-task-mismatch',
            `evaluate.metrics: ${mismatch(m)}`,
          );
      });
    }
  }

  /** evaluate.gates: conditions that parse, on metrics of the task, with the aliases they compare to. */
  evaluateGates(facts: MeaningFacts): void {
    const { evaluate, model, task, valid } = facts;
    const all = ALL_METRICS;
    const mismatch = (m: string) => metricMismatch(m, task, valid);
    const gates = obj(evaluate.gates);
    for (const [m, expr] of Object.entries(gates)) {
      if (valid && all.includes(m) && !valid.includes(m))
        this.add(
          this.keyAt(['evaluate', 'gates', m]),
          'error',
          'metric-task-mismatch',
          `evaluate.gates: ${mismatch(m)}`,
        );
      const at = this.at(['evaluate', 'gates', m]);
      if (typeof expr === 'number') {
        this.add(
          at,
          'error',
          'invalid-gate',
          `evaluate.gates.${m}: a gate is a condition such as ">= ${expr}", not a bare number.`,
          { suggestion: `">= ${expr}"` },
        );
        continue;
      }
      if (typeof expr !== 'string') continue;
      const g = parseGate(expr);
      if (!g) {
        this.add(
          at,
          'error',
          'invalid-gate',
          `evaluate.gates.${m}: '${clip(expr)}' is not a gate condition. Write ${GATE_GRAMMAR}.`,
        );
        continue;
      }
      if (
        g.kind === 'relative' &&
        g.alias &&
        this.ctx.aliasExists &&
        typeof model.name === 'string' &&
        !this.ctx.aliasExists(model.name, g.alias)
      ) {
        // Information, not a warning: a new project's first file has no versions yet, and a
        // relative gate written ahead of its alias is the intended start (issue 16).
        this.add(
          at,
          'information',
          'alias-missing',
          `evaluate.gates.${m}: no version of '${model.name}' holds alias '${g.alias}' yet, so this gate passes until one does.`,
          { alias: g.alias },
        );
      }
    }
  }

  /** train keys that apply only to classification. */
  trainForTask(facts: MeaningFacts): void {
    const { train, task } = facts;
    const es = obj(train.earlyStopping);
    if (task === 'regression' && typeof es.metric === 'string' && es.metric.includes('accuracy'))
      this.add(
        this.at(['train', 'earlyStopping', 'metric']),
        'error',
        'metric-task-mismatch',
        `train.earlyStopping.metric: '${es.metric}' exists only for classification; use val_loss.`,
        { suggestion: 'val_loss' },
      );
    if (task === 'regression' && train.classWeights !== undefined && train.classWeights !== 'none')
      this.add(
        this.keyAt(['train', 'classWeights']),
        'warning',
        'unused-key',
        `train.classWeights applies only to classification.`,
      );
  }

  /** deploy.targets: an http target has a url without credentials. */
  deployTargets(facts: MeaningFacts): void {
    const { deploy } = facts;
    const targets = obj(deploy.targets);
    for (const [name, t0] of Object.entries(targets)) {
      const t = obj(t0);
      if (t.type === 'http' && t.url === undefined && isMap(this.node(['deploy', 'targets', name])))
        this.add(
          this.keyAt(['deploy', 'targets', name]),
          'error',
          'missing-key',
          `deploy.targets.${name}: an http target needs url.`,
          this.missingData(
            this.node(['deploy', 'targets', name]) as YAMLMap,
            'url',
            ['deploy', 'targets', name],
            'url: https://models.example.com',
          ),
        );
      if (typeof t.url === 'string') this.checkUrl(t.url, ['deploy', 'targets', name, 'url']);
    }
  }

  /** monitor.alerts.webhook: a URL without a secret in its path, not set beside webhookSecret. */
  alertWebhook(facts: MeaningFacts): void {
    const { monitor } = facts;
    const alerts = obj(monitor.alerts);
    if (typeof alerts.webhook === 'string' && this.checkUrl(alerts.webhook, ['monitor', 'alerts', 'webhook'])) {
      if (webhookPathCarriesSecret(new URL(alerts.webhook))) {
        this.add(
          this.at(['monitor', 'alerts', 'webhook']),
          'error',
          'webhook-secret',
          `monitor.alerts.webhook carries a secret in its path (anyone who reads modelops.yaml can post to it) — keep the URL in the environment variable MODELOPS_WEBHOOK_ALERTS and reference it with webhookSecret: alerts.`,
          { secretName: 'alerts', replaceFrom: this.keyAt(['monitor', 'alerts', 'webhook']).start },
        );
      }
      if (typeof alerts.webhookSecret === 'string')
        this.add(
          this.keyAt(['monitor', 'alerts', 'webhook']),
          'warning',
          'unused-key',
          'monitor.alerts: webhookSecret is set, so webhook is ignored; remove one of them.',
        );
    }
  }

  /** monitor.target names a deploy target. */
  monitorTarget(facts: MeaningFacts): void {
    const { monitor, deploy } = facts;
    const targets = obj(deploy.targets);
    if (typeof monitor.target === 'string') {
      const names = Object.keys(targets);
      if (!names.includes(monitor.target)) {
        const s = didYouMean(monitor.target, names);
        this.add(
          this.at(['monitor', 'target']),
          'error',
          'unknown-target',
          `monitor.target: '${clip(monitor.target)}' is not a target under deploy.targets${names.length ? ` (${names.join(', ')})` : ''}.${s ? ` Did you mean '${s}'?` : ''}`,
          s ? { suggestion: s } : undefined,
        );
      }
    }
  }

  /** monitor.controlChart.metric is a metric of the task. */
  controlChartMetric(facts: MeaningFacts): void {
    const { monitor, task, valid } = facts;
    const all = ALL_METRICS;
    const mismatch = (m: string) => metricMismatch(m, task, valid);
    const cc = obj(monitor.controlChart);
    if (valid && typeof cc.metric === 'string' && all.includes(cc.metric) && !valid.includes(cc.metric))
      this.add(
        this.at(['monitor', 'controlChart', 'metric']),
        'error',
        'metric-task-mismatch',
        `monitor.controlChart.metric: ${mismatch(cc.metric)}`,
      );
  }

  /** monitor.drift.features are features of the model. */
  driftFeatures(facts: MeaningFacts): void {
    const { monitor, featureSet } = facts;
    const drift = obj(monitor.drift);
    if (Array.isArray(drift.features) && featureSet) {
      drift.features.forEach((f, i) => {
        if (typeof f === 'string' && !featureSet.includes(f)) {
          const s = didYouMean(f, featureSet);
          this.add(
            this.at(['monitor', 'drift', 'features', i]),
            'error',
            'unknown-column',
            `monitor.drift.features: '${clip(f)}' is not a feature of the model (${featureSet.join(', ')}).${s ? ` Did you mean '${s}'?` : ''}`,
            s ? { suggestion: s } : undefined,
          );
        }
      });
    }
  }

  /** monitor.drift's test and threshold, and the control chart's side, against each other. */
  monitorAnalyticsMeaning(cc: Record<string, unknown>, drift: Record<string, unknown>): void {
    if (typeof drift.method === 'string' && typeof drift.test === 'string') {
      this.add(
        this.keyAt(['monitor', 'drift', 'method']),
        'warning',
        'unused-key',
        `monitor.drift: test is set, so method (${clip(drift.method)}) is ignored; remove one of them.`,
      );
    }
    const test = typeof drift.test === 'string' ? drift.test : typeof drift.method === 'string' ? drift.method : 'auto';
    if (
      typeof drift.threshold === 'number' &&
      drift.threshold >= 1 &&
      (test === 'ks' || test === 'chisquare' || test === 'auto')
    ) {
      this.add(
        this.at(['monitor', 'drift', 'threshold']),
        'warning',
        'drift-threshold',
        `monitor.drift.threshold ${drift.threshold} with test ${test}: KS, chi-square and the Z-test compare it to a p-value (0–1), so every column would drift. Use e.g. 0.05, or name a distance test.`,
      );
    }
    if (cc.side === 'upper' && typeof cc.metric === 'string' && /acc|auc|precision|recall|f1|r2/.test(cc.metric)) {
      this.add(
        this.at(['monitor', 'controlChart', 'side']),
        'warning',
        'chart-side',
        `monitor.controlChart.side: upper watches only rises of ${clip(cc.metric)}, where higher is better; a drop raises no alert. Use lower or both.`,
      );
    }
  }

  /** `framework: onnx` (model.path) and `framework: command` with an .onnx output: keys that apply, and the model file against the config. */
  onnxMeaning(m: {
    framework: 'tfjs' | 'command' | 'onnx';
    model: Record<string, unknown>;
    train: Record<string, unknown>;
    base: string | undefined;
    task: 'classification' | 'regression' | undefined;
    features: unknown[] | undefined;
    featureSet: string[] | undefined;
    columns: string[] | null;
    classes: { count: number; exact: boolean; labels: string[] } | undefined;
    target: string | undefined;
  }): void {
    const { framework, model, train } = m;
    const outputs = typeof train.outputs === 'string' ? train.outputs : undefined;
    const onnxOutput = framework === 'command' && outputs !== undefined && /\.onnx$/i.test(outputs);
    const hasBlock = model.onnx !== undefined;
    if (framework === 'onnx') {
      if (typeof model.path !== 'string' && isMap(this.node(['model']))) {
        this.add(
          this.keyAt(['model']),
          'error',
          'missing-key',
          'model.path is required with framework: onnx (the .onnx file, relative to modelops.yaml).',
          this.missingData(this.node(['model']) as YAMLMap, 'path', ['model'], schemaExample(['model', 'path'])),
        );
      }
      for (const k of TRAINING_KEYS) {
        if (train[k] !== undefined)
          this.add(
            this.keyAt(['train', k]),
            'warning',
            'unused-key',
            `train.${k} does not apply with framework: onnx (the model is trained elsewhere).`,
          );
      }
    } else if (model.path !== undefined) {
      this.add(
        this.keyAt(['model', 'path']),
        'warning',
        'unused-key',
        `model.path is used only with framework: onnx${framework === 'command' ? '; the external trainer writes train.outputs' : ''}.`,
      );
    }
    if (hasBlock && framework === 'tfjs')
      this.add(
        this.keyAt(['model', 'onnx']),
        'warning',
        'unused-key',
        'model.onnx applies only to ONNX models (framework: onnx, or framework: command with an .onnx train.outputs).',
      );
    if (hasBlock && framework === 'command' && outputs !== undefined && !onnxOutput)
      this.add(
        this.keyAt(['model', 'onnx']),
        'warning',
        'unused-key',
        `model.onnx applies only when train.outputs is an .onnx file; it is '${clip(outputs)}'.`,
      );
    if (framework !== 'onnx' && !onnxOutput) return;
    const onnx = obj(model.onnx);
    const host: OnnxCheckHost = {
      add: (r, sev, code, msg, data) => this.add(r, sev, code, msg, data),
      at: (p) => this.at(p),
      keyAt: (p) => this.keyAt(p),
      has: (p) => this.node(p) !== null || this.keyNode(p) !== null,
    };
    checkOnnxBlock(host, onnx, m.columns);
    const rel = framework === 'onnx' ? (typeof model.path === 'string' ? model.path : undefined) : outputs;
    if (!rel || !m.base || this.ctx.noFileChecks) return;
    const fileKey = framework === 'onnx' ? ['model', 'path'] : ['train', 'outputs'];
    const abs = resolve(m.base, rel);
    if (framework === 'onnx' && !/\.onnx$/i.test(rel)) {
      this.add(
        this.at(fileKey),
        'error',
        'onnx-file',
        `model.path: '${clip(rel)}' is not an .onnx file. Export the model to ONNX first: torch.onnx.export(model, x, "model.onnx", dynamic_axes={"input": {0: "batch"}}), skl2onnx.to_onnx(pipeline, X[:1]), or python -m tf2onnx.convert.`,
      );
      return;
    }
    if (!fileInfo(abs)) {
      // An external trainer writes its output later; a file to read must exist now.
      if (framework === 'onnx')
        this.add(
          this.at(fileKey),
          'error',
          'file-not-found',
          `model.path: file '${clip(rel)}' does not exist (looked in ${abs}).`,
          { path: abs },
        );
      return;
    }
    checkOnnxModel(host, {
      abs,
      shown: rel,
      fileKey,
      task: m.task,
      features: m.features?.every((f) => typeof f === 'string') ? (m.features as string[]) : undefined,
      featureSet: m.featureSet,
      dataColumns: m.columns,
      onnx,
      classes: m.classes ? { labels: m.classes.labels, exact: m.classes.exact } : undefined,
      target: m.target,
    });
  }

  /** Reports what is wrong with a URL; true when it parses as http(s). */
  checkUrl(value: string, path: Path): boolean {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      this.add(
        this.at(path),
        'error',
        'invalid-url',
        `${pathText(path)}: '${clip(value)}' is not a valid URL (expected http:// or https://…).`,
      );
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      this.add(
        this.at(path),
        'error',
        'invalid-url',
        `${pathText(path)}: only http and https URLs are supported; got ${u.protocol.replace(/:$/, '')}.`,
      );
      return false;
    }
    if (urlCarriesSecret(u)) {
      this.add(
        this.at(path),
        'error',
        'inline-secret',
        `${pathText(path)} carries a credential in the URL — ${SECRET_HINT} and reference it with tokenSecret: <name>.`,
        { key: String(path[path.length - 1]), replace: false },
      );
    }
    return true;
  }
}

/**
 * What the meaning rules share: the config's blocks, and what earlier rules found in the data
 * files (`columns`, `featureSet`, `classes`), which is why the rules run in a fixed order.
 */
interface MeaningFacts {
  readonly value: Record<string, unknown>;
  readonly data: Record<string, unknown>;
  readonly model: Record<string, unknown>;
  readonly train: Record<string, unknown>;
  readonly evaluate: Record<string, unknown>;
  readonly deploy: Record<string, unknown>;
  readonly monitor: Record<string, unknown>;
  readonly task: 'classification' | 'regression' | undefined;
  readonly framework: 'tfjs' | 'command' | 'onnx';
  /** The config's folder, which data paths are relative to; undefined for text alone. */
  readonly base: string | undefined;
  readonly format: string | undefined;
  readonly trainPath: string | undefined;
  readonly target: string | undefined;
  readonly features: unknown[] | undefined;
  readonly layers: unknown[] | undefined;
  /** The metrics of the task; undefined without a task. */
  readonly valid: readonly string[] | undefined;
  /** The training file's columns (set by the data-files rule). */
  columns: string[] | null;
  /** The features the model takes (set by the data-columns rule). */
  featureSet: string[] | undefined;
  /** A classifier's classes in the training file (set by the target-values rule). */
  classes: { count: number; exact: boolean; labels: string[] } | undefined;
}

function meaningFacts(v: Record<string, unknown>, ctx: AnalysisContext): MeaningFacts {
  const data = obj(v.data);
  const model = obj(v.model);
  const task = model.task === 'classification' || model.task === 'regression' ? model.task : undefined;
  return {
    value: v,
    data,
    model,
    train: obj(v.train),
    evaluate: obj(v.evaluate),
    deploy: obj(v.deploy),
    monitor: obj(v.monitor),
    task,
    framework: model.framework === 'command' ? 'command' : model.framework === 'onnx' ? 'onnx' : 'tfjs',
    base: ctx.path ? dirname(ctx.path) : undefined,
    format: typeof data.format === 'string' ? data.format : undefined,
    trainPath: typeof data.train === 'string' && data.train ? data.train : undefined,
    target: typeof data.target === 'string' ? data.target : undefined,
    features: Array.isArray(data.features) ? data.features : undefined,
    layers: Array.isArray(model.layers) ? model.layers : undefined,
    valid: task === 'classification' ? CLASSIFICATION_METRICS : task === 'regression' ? REGRESSION_METRICS : undefined,
    columns: null,
    featureSet: undefined,
    classes: undefined,
  };
}

const ALL_METRICS: readonly string[] = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];

/** A metric of the other task: the message names the metrics of this one. */
function metricMismatch(m: string, task: string | undefined, valid: readonly string[] | undefined): string {
  return `'${m}' is a ${valid === CLASSIFICATION_METRICS ? 'regression' : 'classification'} metric, but model.task is ${task}. Metrics for ${task}: ${valid?.join(', ')}.`;
}

/** One check of what a schema-valid config means. */
interface MeaningRule {
  readonly name: string;
  check(a: Analyzer, facts: MeaningFacts): void;
}

/**
 * The meaning checks, run in this order (the order of their diagnostics; the data-file rules
 * come first because later ones read what they found). A new config block adds its rule here.
 */
const MEANING_RULES: readonly MeaningRule[] = [
  { name: 'split-sum', check: (a, f) => a.splitSum(f) },
  { name: 'data-files', check: (a, f) => a.dataFiles(f) },
  { name: 'data-columns', check: (a, f) => a.dataColumns(f) },
  { name: 'target-values', check: (a, f) => a.targetValues(f) },
  { name: 'framework-keys', check: (a, f) => a.frameworkKeys(f) },
  { name: 'onnx', check: (a, f) => a.onnxMeaning(f) },
  { name: 'command-only-keys', check: (a, f) => a.commandOnly(f) },
  { name: 'output-layer', check: (a, f) => a.outputLayer(f) },
  { name: 'evaluate-metrics', check: (a, f) => a.evaluateMetrics(f) },
  { name: 'evaluate-gates', check: (a, f) => a.evaluateGates(f) },
  { name: 'fairness', check: (a, f) => a.fairnessMeaning(f.evaluate, f.task, f.columns, f.trainPath) },
  {
    name: 'tune',
    check: (a, f) => {
      if (f.value.tune !== undefined) tuneMeaning(a, f.value);
    },
  },
  {
    name: 'optimize',
    check: (a, f) => {
      if (f.value.optimize !== undefined) optimizeMeaning(a, f.value, f.task);
    },
  },
  { name: 'train-for-task', check: (a, f) => a.trainForTask(f) },
  { name: 'deploy-targets', check: (a, f) => a.deployTargets(f) },
  { name: 'alert-webhook', check: (a, f) => a.alertWebhook(f) },
  { name: 'monitor-target', check: (a, f) => a.monitorTarget(f) },
  { name: 'control-chart-metric', check: (a, f) => a.controlChartMetric(f) },
  {
    name: 'monitor-analytics',
    check: (a, f) => a.monitorAnalyticsMeaning(obj(f.monitor.controlChart), obj(f.monitor.drift)),
  },
  { name: 'drift-features', check: (a, f) => a.driftFeatures(f) },
];

function movePosition(p: Position, lines: number): Position {
  return { line: p.line + lines, character: p.character };
}

/** A diagnostic moved down by `lines` lines (up when negative). */
function moveLines(d: ConfigDiagnostic, lines: number): ConfigDiagnostic {
  const out: ConfigDiagnostic = {
    ...d,
    range: { start: movePosition(d.range.start, lines), end: movePosition(d.range.end, lines) },
  };
  const insert = d.data?.insert as { position: Position; text: string } | undefined;
  if (d.data && insert) out.data = { ...d.data, insert: { ...insert, position: movePosition(insert.position, lines) } };
  return out;
}

const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) patterns.set(source, (re = new RegExp(source)));
  return re;
}

const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

/**
 * The first pair of a map with key `name` (what `items.find` by key name returns), indexed once
 * per map: the meaning checks look up every deploy target by name, which is quadratic otherwise.
 */
function pairNamed(map: YAMLMap, name: string): Pair | undefined {
  if (map.items.length < 16) return map.items.find((it) => keyName(it) === name);
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const it of map.items) {
      const k = keyName(it);
      if (k !== null && !index.has(k)) index.set(k, it);
    }
    pairIndex.set(map, index);
  }
  return index.get(name);
}

function schemaExample(path: string[]): string {
  let s: SchemaNode | undefined = configSchema;
  for (const p of path) s = s ? childSchema(s, p) : undefined;
  return s?.example ?? `${path[path.length - 1]}: `;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function round(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

export function pathText(path: Path): string {
  if (path.length === 0) return 'the file';
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

function kindText(s: SchemaNode): string {
  switch (s.kind) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : 'text';
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    default:
      return 'a map';
  }
}

function rangeTail(s: { minimum?: number; maximum?: number }): string {
  return s.minimum !== undefined && s.maximum !== undefined ? ` (range ${s.minimum}–${s.maximum})` : '';
}

function describe(n: Node | null): string {
  if (n === null) return 'empty';
  if (isMap(n)) return 'a map';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return 'empty';
    if (typeof v === 'string') return `text '${clip(v)}'`;
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `${v}`;
  }
  return 'this value';
}

/** "Did you mean" first (Problems cuts long messages), then the metrics there are. */
function unknownMetricMessage(
  name: string,
  suggestion: string | undefined,
  metrics: readonly string[],
  task?: string,
): string {
  return `'${clip(name)}' is not a${task ? ` ${task}` : ''} metric.${suggestion ? ` Did you mean '${suggestion}'?` : ''} Metrics${task ? ` for ${task}` : ''}: ${metrics.join(', ')}.`;
}

/** optimize.gates: each a gate condition on a metric of the task (`parent` is the version optimised from). */
function optimizeMeaning(a: Analyzer, v: Record<string, unknown>, task: unknown): void {
  const gates = obj(obj(v.optimize).gates);
  const valid: readonly string[] | undefined =
    task === 'classification' ? CLASSIFICATION_METRICS : task === 'regression' ? REGRESSION_METRICS : undefined;
  for (const [m, expr] of Object.entries(gates)) {
    if (
      valid &&
      (CLASSIFICATION_METRICS as readonly string[]).concat(REGRESSION_METRICS).includes(m) &&
      !valid.includes(m)
    ) {
      a.add(
        a.keyAt(['optimize', 'gates', m]),
        'error',
        'metric-task-mismatch',
        `optimize.gates: '${m}' is not a ${String(task)} metric. Metrics for ${String(task)}: ${valid.join(', ')}.`,
      );
    }
    if (typeof expr === 'number') {
      a.add(
        a.at(['optimize', 'gates', m]),
        'error',
        'invalid-gate',
        `optimize.gates.${m}: a gate is a condition such as ">= parent - 0.005", not a bare number.`,
        { suggestion: '">= parent - 0.005"' },
      );
    } else if (typeof expr === 'string' && !parseGate(expr)) {
      a.add(
        a.at(['optimize', 'gates', m]),
        'error',
        'invalid-gate',
        `optimize.gates.${m}: '${clip(expr)}' is not a gate condition. Write ${GATE_GRAMMAR}, e.g. ">= parent - 0.005".`,
      );
    }
  }
}

/** tune: the search space against model.layers, ranges, grid size, budget, objective (checks in tuning/space.ts). */
function tuneMeaning(a: Analyzer, v: Record<string, unknown>): void {
  for (const p of checkTune(v)) a.add(p.onKey ? a.keyAt(p.path) : a.at(p.path), 'error', p.code, p.message);
}

/**
 * Unknown-metric diagnostics name only the metrics of the model's task (a classifier's gates list
 * no regression metrics) and suggest from those. New objects: the walk's are memoised per pair.
 */
function metricsOfTask(diagnostics: ConfigDiagnostic[], value: unknown): ConfigDiagnostic[] {
  const model =
    value && typeof value === 'object' && !Array.isArray(value) ? obj((value as Record<string, unknown>).model) : {};
  const task = model.task === 'classification' || model.task === 'regression' ? model.task : undefined;
  if (
    !task ||
    !diagnostics.some((d) => (d.code === 'unknown-metric' || d.code === 'invalid-enum') && d.data?.metric !== undefined)
  )
    return diagnostics;
  const metrics = task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  return diagnostics.map((d) => {
    const name = d.code === 'unknown-metric' || d.code === 'invalid-enum' ? d.data?.metric : undefined;
    if (typeof name !== 'string') return d;
    const s = didYouMean(name, metrics);
    const field = typeof d.data?.field === 'string' ? d.data.field : undefined;
    const message = `${field ? `${field}: ` : ''}${unknownMetricMessage(name, s, metrics, task)}`;
    return { ...d, message, data: { ...(s ? { suggestion: s } : {}), metric: name, ...(field ? { field } : {}) } };
  });
}

/** Syntax → schema → meaning. Never throws on any input text. A cache makes re-analysis of an edited text incremental. */
export function analyze(text: string, ctx: AnalysisContext = {}, cache?: ParseCache): Analysis {
  const parsed = parseConfig(text, cache);
  if (!parsed.doc) return { diagnostics: parsed.diagnostics, parsed, value: undefined };
  const a = new Analyzer(parsed, ctx);
  a.out.push(...parsed.diagnostics.slice(0, MAX_DIAGNOSTICS));
  const root = parsed.doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    a.add(
      parsed.lines.range(0, 0),
      'error',
      'empty-config',
      'modelops.yaml is empty. Run `modelops init` (or ModelOps: Create modelops.yaml) for a starter config.',
    );
    return { diagnostics: a.out, parsed, value: null };
  }
  a.walk(root, configSchema, [], parsed.lines.range(0, Math.min(text.length, parsed.lines.lineText(0).length)), false);
  a.scanValues(root, [], 0);
  const budget = { remaining: 1_000_000, aliasRemaining: MAX_ALIAS_EXPANSION, exceeded: false };
  const value = toJs(parsed.doc, root, budget);
  if (budget.exceeded) a.aliasLimit(parsed.lines.range(0, 0));
  const hasSyntaxErrors = parsed.diagnostics.some((d) => d.severity === 'error');
  if (!budget.exceeded && value && typeof value === 'object' && !Array.isArray(value) && !hasSyntaxErrors)
    a.meaning(value as Record<string, unknown>);
  const diagnostics = metricsOfTask(a.out, value);
  const result: Analysis = { diagnostics, parsed, value };
  if (!diagnostics.some((d) => d.severity === 'error') && value && typeof value === 'object')
    result.config = normalize(value as Record<string, unknown>, ctx);
  return result;
}

/** Fills defaults, all from the schema (`withDefaults`); called only on a document without errors. */
function normalize(v: Record<string, unknown>, _ctx: AnalysisContext): ModelOpsConfig {
  const model = obj(v.model);
  const evaluate = obj(v.evaluate);
  const task = model.task as ModelOpsConfig['model']['task'];
  const cfg = withDefaults(configSchema, v, task) as ModelOpsConfig;
  // The one default the schema cannot state: the format follows the extension of `train`.
  if (cfg.data.format === undefined) cfg.data.format = /\.(jsonl|ndjson|json)$/i.test(cfg.data.train) ? 'jsonl' : 'csv';
  const gates = obj(evaluate.gates) as Record<string, string>;
  const parsedGates: ModelOpsConfig['evaluate']['parsedGates'] = {};
  for (const [m, g] of Object.entries(gates)) {
    const p = parseGate(g);
    if (p) parsedGates[m] = p;
  }
  // Metrics and fairness.minGroupSize come filled from the schema; gates are parsed once here.
  cfg.evaluate = { ...cfg.evaluate, gates, parsedGates };
  const fairness = cfg.evaluate.fairness;
  if (fairness && !Array.isArray(fairness.sensitive)) delete cfg.evaluate.fairness;
  else if (fairness && fairness.metrics === undefined)
    fairness.metrics = task === 'regression' ? ['mae'] : ['accuracy'];
  if (cfg.model.card !== undefined) cfg.model.card = modelCard(obj(model.card));
  return cfg;
}

/** `model.card` as typed: strings kept, lists of strings kept (the schema has reported anything else). */
function modelCard(c: Record<string, unknown>): NonNullable<ModelOpsConfig['model']['card']> {
  const card: NonNullable<ModelOpsConfig['model']['card']> = {};
  for (const k of ['owner', 'description', 'license'] as const) if (typeof c[k] === 'string') card[k] = c[k] as string;
  for (const k of ['intendedUse', 'intendedUsers', 'outOfScopeUses', 'ethicalConsiderations', 'caveats'] as const) {
    if (Array.isArray(c[k])) card[k] = (c[k] as unknown[]).filter((x): x is string => typeof x === 'string');
  }
  return card;
}
