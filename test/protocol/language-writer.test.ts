/**
 * The sidecar's stdio writer (server/lsp/messageWriter.ts): the outline's JSON is encoded once
 * per parse and spliced into its responses; every message keeps the bytes JSON.stringify gives.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Message } from 'vscode-jsonrpc/node';
import { consoleToLog, encodeMessage, preEncode, splicingWriter } from '../../server/lsp/messageWriter';
import { toLspSymbol } from '../../server/lsp/handlers/language';
import { documentSymbols } from '../../server/engine/config';
import { ensureBuilt, REPO, SERVER } from './client';

const SAMPLE = readFileSync(join(REPO, 'examples', 'sample', 'modelops.yaml'), 'utf8');
const DATA = join(REPO, 'examples', 'sample', 'data');

before(() => ensureBuilt());

/** Frames of an LSP byte stream: each header's Content-Length and the body it frames. */
class Frames {
  private buf = Buffer.alloc(0);
  readonly bodies: Buffer[] = [];
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const header = this.buf.subarray(0, end).toString('ascii');
      const m = /^Content-Length: (\d+)$/.exec(header);
      assert.ok(m, `a header that is exactly Content-Length: ${JSON.stringify(header)}`);
      const length = Number(m[1]);
      if (this.buf.length < end + 4 + length) return;
      this.bodies.push(this.buf.subarray(end + 4, end + 4 + length));
      this.buf = this.buf.subarray(end + 4 + length);
    }
  }
  get rest(): number {
    return this.buf.length;
  }
}

const stringified = (msg: unknown): Buffer => Buffer.from(JSON.stringify(msg), 'utf8');

test('encodeMessage: JSON.stringify bytes for every message, spliced from a pre-encoded result', async () => {
  // The splicing writer turns pre-encoding on; its output is framed as the library frames it.
  const out = new PassThrough();
  const frames = new Frames();
  out.on('data', (b: Buffer) => frames.push(b));
  const writer = splicingWriter(out);

  const outline = preEncode([
    { name: 'modèle ✓ "q"', kind: 2, range: { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } } },
    { name: '\u2028 \ud83d\ude00', kind: 15, children: [] },
  ]);
  const messages: Message[] = [
    { jsonrpc: '2.0', id: 7, result: outline } as Message,
    { jsonrpc: '2.0', id: 'ïd "x","result":0', result: outline } as Message,
    { jsonrpc: '2.0', id: 8, result: [{ name: 'not pre-encoded' }] } as Message,
    { jsonrpc: '2.0', id: 9, result: null } as Message,
    { jsonrpc: '2.0', id: 10, error: { code: 1, message: 'ü' } } as Message,
    {
      jsonrpc: '2.0',
      method: 'textDocument/publishDiagnostics',
      params: { uri: 'file:///a', diagnostics: [] },
    } as Message,
    { jsonrpc: '2.0', id: 3, method: 'client/registerCapability', params: { registrations: [] } } as Message,
  ];
  for (const m of messages) assert.deepEqual(encodeMessage(m), stringified(m), JSON.stringify(m).slice(0, 60));
  for (const m of messages) await writer.write(m);
  assert.equal(frames.bodies.length, messages.length);
  assert.equal(frames.rest, 0);
  frames.bodies.forEach((b, i) => assert.deepEqual(b, stringified(messages[i])));

  // Spliced, not re-encoded: the bytes are the ones kept when the outline was pre-encoded (hence
  // the rule that a pre-encoded value is read-only). A message of another shape is re-encoded.
  outline[0].name = 'changed';
  const spliced = encodeMessage({ jsonrpc: '2.0', id: 1, result: outline } as Message).toString('utf8');
  assert.match(spliced, /modèle ✓/);
  const other = { jsonrpc: '2.0', id: 1, result: outline, extra: true } as Message;
  assert.deepEqual(encodeMessage(other), stringified(other));
  writer.dispose();
});

test('consoleToLog: console output goes to the log sink, formatted as Node formats it', () => {
  const saved = { ...console };
  const got: string[] = [];
  try {
    consoleToLog({
      log: (m) => got.push(`log ${m}`),
      info: (m) => got.push(`info ${m}`),
      warn: (m) => got.push(`warn ${m}`),
      error: (m) => got.push(`error ${m}`),
    });
    console.log('a %d', 1);
    console.info('i');
    console.warn('w', { x: 1 });
    console.error('e');
    console.count('n');
    console.dir({ y: [2] });
  } finally {
    Object.assign(console, saved);
  }
  assert.deepEqual(got, ['log a 1', 'info i', 'warn w { x: 1 }', 'error e', 'log n: 1', 'log { y: [ 2 ] }']);
});

test('over a real sidecar on stdio: the outline response is the bytes JSON.stringify sends, other messages unchanged', async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'modelops-writer-'));
  cpSync(DATA, join(workspace, 'data'), { recursive: true });
  const child = spawn(process.execPath, [SERVER, '--stdio'], { cwd: workspace, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => {
    child.kill();
    rmSync(workspace, { recursive: true, force: true });
  });
  const frames = new Frames();
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (b: Buffer) => {
    const before = frames.bodies.length;
    frames.push(b);
    for (const body of frames.bodies.slice(before)) {
      const msg = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      messages.push(msg);
      // The server's own requests (watchers, progress) get an empty answer.
      if (typeof msg.method === 'string' && 'id' in msg) send({ jsonrpc: '2.0', id: msg.id, result: null });
    }
    for (const w of waiters.splice(0)) w();
  });
  const send = (msg: unknown): void => {
    const body = stringified(msg);
    child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    child.stdin.write(body);
  };
  const until = async (pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = messages.find(pred);
      if (found) return found;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no such message within 20 s')), 20_000);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  // Many targets (past the outline's budget for their keys) and names that are not ASCII, so the
  // Content-Length is a byte count that differs from the string's length.
  let text = SAMPLE.replace(/\ndeploy:\n(?: .*\n|\n)*/, '\n').replace('  target: local', '  target: t0');
  text += '\ndeploy:\n  targets:\n';
  for (let i = 0; i < 300; i++)
    text += `    t${i}:\n      type: http\n      url: https://modèle-${i}.example.com/v2\n      tokenSecret: clé${i}\n`;
  text += '    été✓:\n      type: local\n';
  const uri = pathToFileURL(join(workspace, 'modelops.yaml')).href;

  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).href,
      capabilities: { textDocument: { documentSymbol: { hierarchicalDocumentSymbolSupport: true } } },
      initializationOptions: { trusted: true, validationDelayMs: 0 },
    },
  });
  await until((m) => m.id === 1);
  send({ jsonrpc: '2.0', method: 'initialized', params: {} });
  send({
    jsonrpc: '2.0',
    method: 'textDocument/didOpen',
    params: { textDocument: { uri, languageId: 'yaml', version: 1, text } },
  });
  await until((m) => m.method === 'textDocument/publishDiagnostics' && (m.params as { uri: string }).uri === uri);
  // Twice (the second from the cache of the parse), with a number id and a string id.
  send({ jsonrpc: '2.0', id: 2, method: 'textDocument/documentSymbol', params: { textDocument: { uri } } });
  send({ jsonrpc: '2.0', id: 'sym-ü', method: 'textDocument/documentSymbol', params: { textDocument: { uri } } });
  const line = text.split('\n').findIndex((l) => l.includes('url: https://modèle-299'));
  send({
    jsonrpc: '2.0',
    id: 4,
    method: 'textDocument/hover',
    params: { textDocument: { uri }, position: { line, character: 7 } },
  });
  await until((m) => m.id === 4);
  await until((m) => m.id === 'sym-ü');

  // The old path: the engine's outline of the same text, converted, in a message JSON.stringify encodes.
  const expected = documentSymbols(text).map(toLspSymbol);
  assert.ok(expected.find((s) => s.name === 'deploy')?.children?.[0].children?.some((s) => s.name === 'été✓'));
  const bodyOf = (id: unknown): Buffer => frames.bodies[messages.findIndex((m) => m.id === id && !('method' in m))];
  for (const id of [2, 'sym-ü'])
    assert.deepEqual(bodyOf(id), stringified({ jsonrpc: '2.0', id, result: expected }), `outline response ${id}`);
  assert.ok(bodyOf(2).length > 30_000 && bodyOf(2).length !== bodyOf(2).toString('utf8').length);

  // Every message (responses, notifications, the server's requests) is the canonical encoding of
  // what it holds, framed with its byte length.
  assert.ok(messages.some((m) => m.method === 'textDocument/publishDiagnostics'));
  assert.ok(
    messages.some((m) => m.id === 4 && (m.result as { contents: { value: string } }).contents.value.includes('url')),
  );
  assert.equal(frames.rest, 0);
  messages.forEach((m, i) => assert.deepEqual(frames.bodies[i], stringified(m)));

  send({ jsonrpc: '2.0', id: 5, method: 'shutdown' });
  await until((m) => m.id === 5);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  send({ jsonrpc: '2.0', method: 'exit' });
  assert.equal(await exited, 0);
});
