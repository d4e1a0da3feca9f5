/**
 * Self-contained HTML chart reports: the webview bundle and the data inlined into one file,
 * under the same strict CSP as the editor panels (a fresh nonce, no network), drawn by the same
 * renderer. For CI artifacts and sharing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ModelOpsError } from '../engine/errors';
import { chartPageHtml } from '../../webview/html';
import type { ChartDataMap, ChartKind, InitMessage } from '../../webview/protocol';

export interface ChartReportInput<K extends ChartKind = ChartKind> {
  kind: K;
  data: ChartDataMap[K];
  title: string;
}

export interface WriteChartReportInput<K extends ChartKind = ChartKind> extends ChartReportInput<K> {
  /** Output path of the HTML file. */
  out: string;
  /** Path of the webview bundle; default: found next to the running code (see locateWebviewBundle). */
  bundle?: string;
}

/**
 * dist/webview.js: next to the running file when bundled (dist/cli.js → dist/webview.js), or
 * from the source tree when run through tsx (server/report → ../../dist/webview.js).
 */
export function locateWebviewBundle(
  candidates = [join(__dirname, 'webview.js'), resolve(__dirname, '../../dist/webview.js')],
): string {
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new ModelOpsError(
      'report-bundle-missing',
      `The chart renderer dist/webview.js was not found (looked at ${candidates.join(', ')}).`,
      'Run `npm run build` in the ModelOps folder, then try again.',
    );
  }
  return found;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

/** The report page as a string. */
export function renderChartReport<K extends ChartKind>(
  input: ChartReportInput<K>,
  bundlePath = locateWebviewBundle(),
): string {
  const code = readFileSync(bundlePath, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  const init = { type: 'init', kind: input.kind, title: input.title, data: input.data } as InitMessage;
  return chartPageHtml({ title: input.title, nonce: newNonce(), script: { code }, init });
}

/** Writes the report (creating folders; replaced atomically) and returns its absolute path and size. */
export function writeChartReport<K extends ChartKind>(
  input: WriteChartReportInput<K>,
): { path: string; bytes: number } {
  const html = renderChartReport(input, input.bundle ?? locateWebviewBundle());
  const out = resolve(input.out);
  try {
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, html);
    renameSync(tmp, out);
  } catch (e) {
    throw new ModelOpsError(
      'report-write',
      `Could not write the report ${out}: ${e instanceof Error ? e.message : String(e)}.`,
      'Choose an --out path in a folder you can write to.',
    );
  }
  return { path: out, bytes: Buffer.byteLength(html) };
}
