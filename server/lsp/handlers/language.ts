/**
 * The `modelops.yaml` language features over LSP: debounced diagnostics (dropping stale
 * results), completion, hover, quick fixes, outline and go to definition. The engine does the
 * work; this module only maps its LSP-shaped results onto the protocol types.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  CompletionItemKind,
  DiagnosticSeverity,
  InsertTextFormat,
  SymbolKind,
  type CodeAction as LspCodeAction,
  type CodeActionParams,
  type CompletionItem as LspCompletionItem,
  type CompletionParams,
  type DefinitionParams,
  type Diagnostic,
  type DocumentSymbol as LspDocumentSymbol,
  type DocumentSymbolParams,
  type Hover,
  type HoverParams,
  type Location,
} from 'vscode-languageserver/node';
import { core } from '../../protocol';
import type { ServerContext } from '../context';
import { ConfigAnalyzer, codeActions, complete, definition, documentSymbols, hover } from '../../engine/config';
import type { CompletionItem, DocumentSymbol, ParsedConfig } from '../../engine/config';
import type { AnalysisContext, ConfigDiagnostic, Severity } from '../../engine/config/types';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { preEncode } from '../messageWriter';

export function isConfigUri(uri: string): boolean {
  return /(^|\/)modelops\.ya?ml$/i.test(uri.split('?')[0]);
}

/** The analysis context of a document: its path, and the registry's answer to "does a version of this model hold this alias?" for gate diagnostics. */
function analysisContext(server: ServerContext, uri: string): AnalysisContext {
  const ctx: AnalysisContext = {};
  if (uri.startsWith('file:')) {
    try {
      ctx.path = fileURLToPath(uri);
    } catch {
      // not a local file: analyse the text alone
    }
  }
  ctx.aliasExists = (model, alias) => server.aliasExists(model, alias);
  return ctx;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLspDiagnostic(d: ConfigDiagnostic): Diagnostic {
  const out: Diagnostic = {
    range: d.range,
    severity: SEVERITY[d.severity],
    message: d.message,
    code: d.code,
    source: 'modelops',
  };
  if (d.data) out.data = d.data;
  return out;
}

function fromLspDiagnostic(d: Diagnostic): ConfigDiagnostic {
  const sev: Severity =
    d.severity === DiagnosticSeverity.Warning
      ? 'warning'
      : d.severity === DiagnosticSeverity.Information
        ? 'information'
        : d.severity === DiagnosticSeverity.Hint
          ? 'hint'
          : 'error';
  const out: ConfigDiagnostic = {
    range: d.range,
    severity: sev,
    message: typeof d.message === 'string' ? d.message : d.message.value,
    code: String(d.code ?? ''),
  };
  if (d.data && typeof d.data === 'object') out.data = d.data as Record<string, unknown>;
  return out;
}

const COMPLETION_KIND: Record<CompletionItem['kind'], CompletionItemKind> = {
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  enum: CompletionItemKind.EnumMember,
  column: CompletionItemKind.Field,
  metric: CompletionItemKind.Constant,
  file: CompletionItemKind.File,
  snippet: CompletionItemKind.Snippet,
  target: CompletionItemKind.Reference,
};

const SYMBOL_KIND: Record<DocumentSymbol['kind'], SymbolKind> = {
  module: SymbolKind.Module,
  object: SymbolKind.Object,
  property: SymbolKind.Property,
  array: SymbolKind.Array,
  string: SymbolKind.String,
  number: SymbolKind.Number,
  boolean: SymbolKind.Boolean,
  null: SymbolKind.Null,
};

export function toLspSymbol(s: DocumentSymbol): LspDocumentSymbol {
  const out: LspDocumentSymbol = {
    name: s.name || ' ',
    kind: SYMBOL_KIND[s.kind],
    range: s.range,
    selectionRange: s.selectionRange,
  };
  if (s.detail) out.detail = s.detail;
  if (s.children) out.children = s.children.map(toLspSymbol);
  return out;
}

/** The file path of a `file:` uri, normalised for comparison; null for any other uri. */
function pathOf(uri: string): string | null {
  if (!uri.startsWith('file:')) return null;
  try {
    return resolve(fileURLToPath(uri));
  } catch {
    return null;
  }
}

/** The workspace's own configs: checked from disk while closed, so Problems lists their errors. */
const ROOT_CONFIGS = ['modelops.yaml', 'modelops.yml'];

export function registerLanguage(ctx: ServerContext): void {
  const { connection, documents } = ctx;
  // The engine features are built never to throw on any text or position; should one still do,
  // the user gets an empty answer (and the log the stack), never a TypeError in the editor.
  const guarded =
    <P, R>(feature: string, empty: R, fn: (params: P) => R) =>
    (params: P): R => {
      try {
        return fn(params);
      } catch (e) {
        ctx.log(`${feature} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return empty;
      }
    };
  const timers = new Map<string, NodeJS.Timeout>();
  // One analyzer per open config: an edit re-parses only the chunks of the text it changed.
  const analyzers = new Map<string, ConfigAnalyzer>();
  const analyzerFor = (uri: string): ConfigAnalyzer => {
    let analyzer = analyzers.get(uri);
    if (!analyzer) {
      analyzer = new ConfigAnalyzer();
      analyzers.set(uri, analyzer);
    }
    return analyzer;
  };
  // Requests read the analyzer's latest parse: after the diagnostics of an edit, a hover,
  // completion, outline or definition costs no parse at all.
  const parsedOf = (doc: TextDocument) => analyzerFor(doc.uri).parsed(doc.getText());
  // The outline as sent, per parse: the editor asks again on focus, scroll and each edit's
  // refresh, and converting a large outline costs more than answering from this cache. Its JSON
  // is encoded once too, and the stdio writer sends those bytes (messageWriter.ts).
  const lspOutlines = new WeakMap<ParsedConfig, LspDocumentSymbol[]>();
  const lspOutline = (parsed: ParsedConfig): LspDocumentSymbol[] => {
    let out = lspOutlines.get(parsed);
    if (!out) {
      out = preEncode(documentSymbols(parsed).map(toLspSymbol));
      lspOutlines.set(parsed, out);
    }
    return out;
  };

  const validate = (uri: string): void => {
    const doc = documents.get(uri);
    if (!doc) return;
    const version = doc.version;
    const started = performance.now();
    let diagnostics: ConfigDiagnostic[];
    try {
      diagnostics = analyzerFor(uri).analyze(doc.getText(), analysisContext(ctx, uri)).diagnostics;
    } catch (e) {
      analyzers.delete(uri); // start from a clean cache next time
      // The analysis is built never to throw; if it does, say so in place of crashing.
      ctx.log(`validation of ${uri} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      diagnostics = [
        {
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          severity: 'error',
          code: 'internal',
          message: 'ModelOps could not check this file (see the ModelOps output channel).',
        },
      ];
    }
    const elapsedMs = performance.now() - started;
    const current = documents.get(uri);
    if (!current || current.version !== version) return; // a newer edit is already scheduled
    void connection.sendDiagnostics({ uri, version, diagnostics: diagnostics.map(toLspDiagnostic) });
    ctx.notify(core.validated, { uri, version, diagnostics: diagnostics.length, elapsedMs });
  };

  const schedule = (uri: string, delayMs = ctx.validationDelayMs()): void => {
    if (!isConfigUri(uri)) return;
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        validate(uri);
      }, delayMs),
    );
  };

  // ── the root config while it is not open: diagnostics from its text on disk ──
  const rootConfigUris = (): string[] => {
    const root = ctx.workspaceRoot();
    return root ? ROOT_CONFIGS.map((name) => pathToFileURL(join(root, name)).href) : [];
  };
  const isRootConfig = (uri: string): boolean => {
    const p = pathOf(uri);
    return p !== null && rootConfigUris().some((u) => pathOf(u) === p);
  };
  // Compared by path: the editor may spell a uri differently (percent-encoding) from ours.
  const isOpen = (uri: string): boolean => {
    const p = pathOf(uri);
    return documents.get(uri) !== undefined || (p !== null && documents.all().some((d) => pathOf(d.uri) === p));
  };
  /** Uris whose on-disk diagnostics we published, so deleting the file clears them. */
  const fromDisk = new Set<string>();
  const clearDisk = (uri: string): void => {
    if (fromDisk.delete(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
  };
  const validateOnDisk = (uri: string): void => {
    if (isOpen(uri)) return; // the open-document path owns it
    const path = pathOf(uri);
    if (!path) return;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      clearDisk(uri); // gone (or unreadable): nothing to list
      return;
    }
    let diagnostics: ConfigDiagnostic[];
    try {
      diagnostics = new ConfigAnalyzer().analyze(text, analysisContext(ctx, uri)).diagnostics;
    } catch (e) {
      ctx.log(`validation of ${uri} (on disk) failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return;
    }
    fromDisk.add(uri);
    void connection.sendDiagnostics({ uri, diagnostics: diagnostics.map(toLspDiagnostic) });
  };

  connection.onInitialized(() => {
    // Ask the editor to tell us when the config changes on disk; a client without dynamic
    // registration refuses, and then only start-up and close refresh the closed config.
    const root = ctx.workspaceRoot();
    if (root) {
      connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/modelops.{yaml,yml}' }] })
        .catch((e: unknown) => ctx.log(`watching modelops.yaml: ${e instanceof Error ? e.message : String(e)}`));
    }
    for (const uri of rootConfigUris()) validateOnDisk(uri);
  });

  // An opened config is checked at once: the debounce (150 ms in the editor) waits out a burst of
  // keystrokes, and an open is not one. The library fires onDidOpen, then onDidChangeContent.
  const opening = new Set<string>();
  documents.onDidChangeContent((e) =>
    schedule(e.document.uri, opening.delete(e.document.uri) ? 0 : ctx.validationDelayMs()),
  );
  documents.onDidOpen((e) => {
    opening.add(e.document.uri);
    // The open document's diagnostics replace the on-disk ones under the same uri.
    for (const uri of [...fromDisk]) if (pathOf(uri) === pathOf(e.document.uri)) fromDisk.delete(uri);
  });
  documents.onDidClose((e) => {
    if (!isConfigUri(e.document.uri)) return;
    const pending = timers.get(e.document.uri);
    if (pending) clearTimeout(pending);
    timers.delete(e.document.uri);
    analyzers.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    // Closed, the root config is checked from disk again: what is saved is what Train reads.
    if (isRootConfig(e.document.uri)) {
      const uri = rootConfigUris().find((u) => pathOf(u) === pathOf(e.document.uri)) ?? e.document.uri;
      validateOnDisk(uri);
    }
  });
  // A watched file changed: the closed root config is re-read (or cleared when deleted), and
  // open configs re-checked, as the data files they reference may have changed.
  connection.onDidChangeWatchedFiles((params) => {
    for (const change of params.changes) {
      if (!isRootConfig(change.uri)) continue;
      const uri = rootConfigUris().find((u) => pathOf(u) === pathOf(change.uri)) ?? change.uri;
      if (change.type === FileChangeType.Deleted) clearDisk(uri);
      else validateOnDisk(uri);
    }
    for (const doc of documents.all()) schedule(doc.uri);
  });
  ctx.onShutdown(() => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    analyzers.clear();
    fromDisk.clear();
  });

  connection.onCompletion(
    guarded('completion', [] as LspCompletionItem[], (params: CompletionParams): LspCompletionItem[] => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc || !isConfigUri(doc.uri)) return [];
      return complete(doc.getText(), params.position, analysisContext(ctx, doc.uri), parsedOf(doc)).map((c) => {
        const item: LspCompletionItem = {
          label: c.label,
          kind: COMPLETION_KIND[c.kind],
          textEdit: { range: c.range, newText: c.insertText },
          insertTextFormat: InsertTextFormat.PlainText,
        };
        if (c.detail) item.detail = c.detail;
        if (c.documentation) item.documentation = { kind: 'markdown', value: c.documentation };
        if (c.sortText) item.sortText = c.sortText;
        return item;
      });
    }),
  );

  connection.onHover(
    guarded('hover', null, (params: HoverParams): Hover | null => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc || !isConfigUri(doc.uri)) return null;
      const h = hover(parsedOf(doc), params.position);
      return h ? { contents: { kind: 'markdown', value: h.contents }, range: h.range } : null;
    }),
  );

  connection.onCodeAction(
    guarded('code actions', [] as LspCodeAction[], (params: CodeActionParams): LspCodeAction[] => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc || !isConfigUri(doc.uri)) return [];
      const diags = (params.context?.diagnostics ?? []).filter((d) => d?.source === 'modelops').map(fromLspDiagnostic);
      return codeActions(doc.getText(), params.range, diags).map((a) => ({
        title: a.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [toLspDiagnostic(a.diagnostic)],
        isPreferred: a.isPreferred,
        edit: { changes: { [doc.uri]: a.edits } },
      }));
    }),
  );

  connection.onDocumentSymbol(
    guarded('document symbols', [] as LspDocumentSymbol[], (params: DocumentSymbolParams): LspDocumentSymbol[] => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc || !isConfigUri(doc.uri)) return [];
      return lspOutline(parsedOf(doc));
    }),
  );

  connection.onDefinition(
    guarded('definition', null, (params: DefinitionParams): Location | null => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc || !isConfigUri(doc.uri)) return null;
      const d = definition(parsedOf(doc), params.position, analysisContext(ctx, doc.uri));
      if (!d) return null;
      return { uri: d.path ? pathToFileURL(d.path).href : doc.uri, range: d.range };
    }),
  );
}
