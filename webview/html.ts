/**
 * The chart page, shared by the webview panel (script loaded from dist/) and the standalone HTML
 * report (script and data inlined). Both run under the same strict CSP: nothing but the nonced
 * script and styles, images only from data: URIs (PNG export), no network.
 */
import { REPORT_DATA_ELEMENT_ID, type InitMessage } from './protocol';
import { packNumberColumns } from './packed';

export interface ChartPageOptions {
  title: string;
  /** Fresh per render; base64 of at least 128 random bits. */
  nonce: string;
  /** `webview.cspSource` inside VS Code; absent for a standalone report. */
  cspSource?: string;
  /** The webview bundle: a URL (panel) or its code (report). */
  script: { src: string } | { code: string };
  /** Data for a standalone report, inlined as JSON (long number columns packed, see packed.ts). */
  init?: InitMessage;
  /** Pack long number columns of `init` (default true; false only to measure the difference). */
  packNumbers?: boolean;
}

export function chartCsp(nonce: string, cspSource?: string): string {
  const src = cspSource ? `${cspSource} ` : '';
  return `default-src 'none'; img-src ${src}data:; style-src ${src}'nonce-${nonce}'; script-src 'nonce-${nonce}'`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** JSON that can sit inside a <script> element: no "</script>", no "<!--". */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function chartPageHtml(o: ChartPageOptions): string {
  const standalone = 'code' in o.script;
  const script =
    'src' in o.script
      ? `<script nonce="${o.nonce}" src="${escapeHtml(o.script.src)}"></script>`
      : `<script nonce="${o.nonce}">${o.script.code.replace(/<\/(script)/gi, '<\\/$1')}</script>`;
  const data = o.init
    ? `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${scriptSafeJson(o.packNumbers === false ? o.init : packNumberColumns(o.init))}</script>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"${standalone ? ' class="mo-standalone"' : ''}>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${chartCsp(o.nonce, o.cspSource)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ModelOps">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<div id="app" aria-live="off"><p>Loading chart…</p></div>
${data}
${script}
</body>
</html>
`;
}
