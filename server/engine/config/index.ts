/**
 * The `modelops.yaml` language: analysis (syntax → schema → meaning), editor features
 * (completion, hover, quick fixes, symbols, definition), loading for the engine, and the
 * starter config written by `modelops init`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { analyze, type Analysis } from './validate';
import { ParseCache, type ParseStats } from './incremental';
import { parseConfig, type ParsedConfig } from './parse';
import type { AnalysisContext, ConfigDiagnostic, LoadedConfig } from './types';

export type * from './types';
export { CLASSIFICATION_METRICS, REGRESSION_METRICS } from './types';
export { parseGate, gateThreshold, GATE_GRAMMAR } from './gate';
export { configSchema, jsonSchemaDocument } from './schema';
export { complete, type CompletionItem } from './complete';
export { hover, type HoverResult } from './hover';
export { codeActions, type CodeAction, type TextEdit } from './fixes';
export { documentSymbols, type DocumentSymbol } from './symbols';
export { definition, type DefinitionTarget } from './definition';
export { starterConfig } from './starter';
export type { Analysis, ParsedConfig, ParseStats };

/** Analyses a config text. Never throws; bounded in time and memory for any input. */
export function analyzeConfig(text: string, ctx: AnalysisContext = {}): Analysis {
  return analyze(text, ctx);
}

/**
 * Analysis of one document as it is edited: unchanged parts of the previous text are neither
 * parsed nor schema-checked again. Results equal `analyzeConfig`'s. Keep one per open document
 * and drop it when the document closes. A result's `parsed.doc` shares nodes with the cache (read
 * it before the next call) and its diagnostic objects may be shared with later results: treat
 * both as read-only.
 */
export class ConfigAnalyzer {
  private readonly cache = new ParseCache();
  /** The latest parse handed out: valid until the next parse through the cache. */
  private latest: ParsedConfig | undefined;

  analyze(text: string, ctx: AnalysisContext = {}): Analysis {
    const a = analyze(text, ctx, this.cache);
    this.latest = a.parsed;
    return a;
  }

  /**
   * The parse of `text` for an editor request: the last analysis's when the text has not changed
   * since (the usual case: requests follow the diagnostics), else an incremental parse. Read it
   * before the next call.
   */
  parsed(text: string): ParsedConfig {
    if (this.latest?.text !== text) this.latest = parseConfig(text, this.cache);
    return this.latest;
  }

  /** How the parses went (whole text vs assembled from chunks, chunks re-used). */
  get stats(): Readonly<ParseStats> {
    return this.cache.stats;
  }

  clear(): void {
    this.cache.clear();
    this.latest = undefined;
  }
}

/** `file:line:col severity message [code]` with one-based line and column, as compilers print. */
export function formatDiagnostic(file: string, d: ConfigDiagnostic): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity} ${d.message} [${d.code}]`;
}

/** Reads, analyses and returns the typed config; throws ModelOpsError listing every error. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const abs = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelOpsError(
      'config-not-found',
      code === 'ENOENT' ? `No config at ${abs}.` : `Cannot read ${abs} (${code ?? 'error'}).`,
      code === 'ENOENT'
        ? 'Run `modelops init` to create a starter modelops.yaml, or pass the path of your config.'
        : 'Check the file permissions.',
    );
  }
  const text = bytes.toString('utf8');
  const a = analyze(text, { path: abs });
  const errors = a.diagnostics
    .filter((d) => d.severity === 'error')
    .sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.character - y.range.start.character);
  if (errors.length > 0 || !a.config) {
    const shown = errors.slice(0, 10).map((d) => `  ${formatDiagnostic(abs, d)}`);
    if (errors.length > 10) shown.push(`  … and ${errors.length - 10} more`);
    throw new ModelOpsError(
      'config-invalid',
      `${abs} has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${shown.join('\n')}`,
      'Fix them (the editor shows them inline; `modelops validate` lists them) and run again.',
    );
  }
  return { config: a.config, path: abs, digest: createHash('sha256').update(bytes).digest('hex'), text };
}
