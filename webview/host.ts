/**
 * Where the chart runs: inside a VS Code webview (messages to the extension, state kept with
 * setState) or in a standalone HTML report (data inlined, exports downloaded directly).
 */
import type { ChartState, ExportMessage, WebviewToHost } from './protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Host {
  readonly standalone: boolean;
  post(message: WebviewToHost): void;
  getState(): ChartState | undefined;
  setState(state: ChartState): void;
  /** Saves an export: through the extension's save dialog, or as a browser download. */
  save(file: ExportMessage): void;
}

export function createHost(): Host {
  if (typeof acquireVsCodeApi === 'function') {
    const api = acquireVsCodeApi();
    return {
      standalone: false,
      post: (m) => api.postMessage(m),
      getState: () => (api.getState() as ChartState | undefined) ?? undefined,
      setState: (s) => api.setState(s),
      save: (file) => api.postMessage(file),
    };
  }
  let state: ChartState | undefined;
  return {
    standalone: true,
    post: () => undefined,
    getState: () => state,
    setState: (s) => {
      state = s;
    },
    save: (file) => download(file),
  };
}

function download(file: ExportMessage): void {
  const bytes =
    file.encoding === 'base64'
      ? Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(file.content);
  const type = file.format === 'png' ? 'image/png' : file.format === 'svg' ? 'image/svg+xml' : 'text/csv';
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
