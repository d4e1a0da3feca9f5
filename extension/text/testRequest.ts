/** Text for the deploy toast's test-request actions (no vscode import: unit-tested). */
import type { EndpointTestResult } from '../../server/protocol/endpoint';

/** A POSIX shell single-quoted word. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The curl of a test request; the token stays out of it (read from $MODELOPS_TOKEN when set). */
export function curlCommand(t: Pick<EndpointTestResult, 'url' | 'body'>): string {
  return [
    `curl -sS -X POST ${shellQuote(t.url)}`,
    `-H 'Content-Type: application/json'`,
    `-H "Authorization: Bearer $MODELOPS_TOKEN"`,
    `-d ${shellQuote(JSON.stringify(t.body))}`,
  ].join(' \\\n  ');
}

/** What one test prediction says: the label and its probability, or the value, and the time. */
export function predictionText(res: EndpointTestResult): string {
  const p = res.prediction;
  if (!p) return 'no prediction';
  const top = p.probabilities?.length ? Math.max(...p.probabilities) : undefined;
  const ms = res.latencyMs === undefined ? '' : ` in ${Math.round(res.latencyMs)} ms`;
  return `${typeof p.value === 'number' ? String(Number(p.value.toPrecision(6))) : p.value}${top !== undefined ? ` (p ${top.toFixed(3)})` : ''}${ms}`;
}
