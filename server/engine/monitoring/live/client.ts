/**
 * The subscriber side of the live monitor: `followMonitor` reads a model server's
 * `GET /v2/models/{m}/monitor/stream` (Server-Sent Events) and yields each event, reconnecting
 * with Last-Event-ID after a dropped connection so no event still in the server's backlog is
 * missed. Used by `modelops monitor --follow`; the editor's sidecar can use it as is.
 *
 *   for await (const e of followMonitor({ url, model, token, signal })) {
 *     if (e.event === 'alert') …   // e.data: LiveAlert
 *   }
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelOpsError } from '../../errors';
import type { LiveAlert, LiveWindow } from './window';

export type FollowedEvent =
  | { id: string; model: string; event: 'window'; data: LiveWindow }
  | { id: string; model: string; event: 'alert'; data: LiveAlert }
  /** The server restarted (ids start over) or events after the last id left its backlog. */
  | { id: null; model: string; event: 'reset' | 'gap'; data: { reason: string; missed?: number } }
  /** The connection dropped; the follower reconnects (with Last-Event-ID) after `retryMs`. */
  | { id: null; model: string; event: 'disconnected'; data: { reason: string; retryMs: number } };

export interface FollowOptions {
  /** The model server's base URL. */
  url: string;
  model: string;
  /** Bearer token (needed when the server listens beyond this machine). */
  token?: string | null;
  /** Resume after this event id ("0": the whole backlog). */
  lastEventId?: string | null;
  signal?: AbortSignal;
  /** Wait before reconnecting (default 1 s, doubling to 15 s while the server is away). */
  retryMs?: number;
  /** Stop after this many failed connection attempts in a row (default: never). */
  maxRetries?: number;
}

/** Parses SSE frames out of a text buffer; returns the frames and what is left over. */
export function parseFrames(buffer: string): {
  frames: Array<{ id: string | null; event: string; data: string }>;
  rest: string;
} {
  const frames: Array<{ id: string | null; event: string; data: string }> = [];
  let start = 0;
  for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n', start)) {
    const block = buffer.slice(start, end);
    start = end + 2;
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) frames.push({ id, event, data: data.join('\n') });
  }
  return { frames, rest: buffer.slice(start) };
}

export async function* followMonitor(options: FollowOptions): AsyncGenerator<FollowedEvent> {
  const { model, signal } = options;
  let lastId = options.lastEventId ?? null;
  const base = options.retryMs ?? 1000;
  let wait = base;
  let failures = 0;
  const url = `${options.url.replace(/\/$/, '')}/v2/models/${encodeURIComponent(model)}/monitor/stream`;
  while (!signal?.aborted) {
    let reason = '';
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (lastId !== null) headers['last-event-id'] = lastId;
      const res = await fetch(url, { headers, signal, redirect: 'manual' });
      if (res.status !== 200 || !res.body) {
        const text = await res.text().catch(() => '');
        let why = text;
        try {
          why = (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {
          /* not JSON */
        }
        reason = `${url} answered ${res.status}: ${why.slice(0, 300)}`;
        // Refusals that a retry cannot fix end the stream.
        if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 409) {
          throw new ModelOpsError(
            'monitor-stream',
            `The monitor stream of '${model}' was refused: ${reason}`,
            res.status === 409
              ? 'Start the server with live monitoring on (MODELOPS_LIVE_MONITOR unset).'
              : 'Check the target, the model name and the endpoint token.',
          );
        }
      } else {
        failures = 0;
        wait = base;
        const decoder = new TextDecoder();
        let buffer = '';
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const { frames, rest } = parseFrames(buffer);
          buffer = rest;
          for (const f of frames) {
            const data = JSON.parse(f.data) as Record<string, unknown>;
            if (f.event === 'window' || f.event === 'alert') {
              lastId = f.id;
              yield data as unknown as FollowedEvent;
            } else if (f.event === 'reset' || f.event === 'gap') {
              yield { id: null, model, event: f.event, data: data as { reason: string; missed?: number } };
            }
          }
        }
        reason = 'the server closed the stream';
      }
    } catch (e) {
      if (signal?.aborted) return;
      if (e instanceof ModelOpsError) throw e;
      reason = e instanceof Error ? e.message : String(e);
    }
    failures++;
    if (options.maxRetries !== undefined && failures > options.maxRetries)
      throw new ModelOpsError(
        'monitor-stream',
        `The monitor stream of '${model}' at ${url} was lost: ${reason}`,
        `Check that the model server at ${options.url} is running (the editor's Endpoints view, or GET ${options.url.replace(/\/$/, '')}/v2/health/ready).`,
      );
    yield { id: null, model, event: 'disconnected', data: { reason, retryMs: wait } };
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return;
    }
    wait = Math.min(15_000, wait * 2);
  }
}
