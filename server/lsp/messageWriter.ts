/**
 * The sidecar's message writer over stdio: the framing of vscode-jsonrpc's `StreamMessageWriter`
 * (`Content-Length: N\r\n\r\n` + UTF-8 body), with one difference. A response whose result was
 * encoded ahead (`preEncode`, the outline of a parse) is spliced from those bytes instead of
 * being stringified again: at 5,000 lines the outline is ~170 KB of JSON, and stringifying and
 * UTF-8 encoding it cost more than the rest of the request. Every other message is encoded
 * exactly as the library does.
 */
import { format, inspect, type InspectOptions } from 'node:util';
import { StreamMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';

/** Encoded JSON of values returned as results, by identity. */
const encoded = new WeakMap<object, Buffer>();
/** Set by `splicingWriter`: over Node IPC the channel stringifies each message itself, so encoding ahead would be wasted. */
let splicing = false;

/**
 * Keeps the JSON of `value` for the responses that return this same object. The value must not
 * change afterwards (the outline of a parse is read-only). A no-op unless the splicing writer is
 * in use.
 */
export function preEncode<T extends object>(value: T): T {
  if (splicing && !encoded.has(value)) encoded.set(value, Buffer.from(JSON.stringify(value), 'utf8'));
  return value;
}

const CLOSE = Buffer.from('}');

/**
 * The body of `msg`: byte for byte what `JSON.stringify` gives, spliced from a pre-encoded result
 * when the message is exactly `{ jsonrpc, id, result }` (the shape and key order of
 * vscode-jsonrpc's responses).
 */
export function encodeMessage(msg: Message, charset: 'utf-8' | 'ascii' = 'utf-8'): Buffer {
  const m = msg as Message & { id?: unknown; result?: unknown };
  const bytes =
    charset === 'utf-8' && typeof m.result === 'object' && m.result !== null ? encoded.get(m.result) : undefined;
  if (bytes) {
    const keys = Object.keys(m);
    if (keys.length === 3 && keys[0] === 'jsonrpc' && keys[1] === 'id' && keys[2] === 'result') {
      const head = `{"jsonrpc":${JSON.stringify(m.jsonrpc)},"id":${JSON.stringify(m.id)},"result":`;
      return Buffer.concat([Buffer.from(head, 'utf8'), bytes, CLOSE]);
    }
  }
  return Buffer.from(JSON.stringify(msg, undefined, 0), charset);
}

/** A writer over `out` (the sidecar's stdout) that splices pre-encoded results. */
export function splicingWriter(out: NodeJS.WritableStream): MessageWriter {
  splicing = true;
  return new StreamMessageWriter(out, {
    contentTypeEncoder: {
      name: 'application/json',
      encode: (msg, options) => {
        try {
          return Promise.resolve(encodeMessage(msg, options.charset));
        } catch (e) {
          return Promise.reject(e);
        }
      },
    },
  });
}

export interface LogSink {
  log(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Sends what the process prints with `console` to the client's log instead of stdout, where it
 * would corrupt the stdio message stream (vscode-languageserver does this itself only when it
 * opens stdio from the command line, not for a writer it is given). Node's `console.table`,
 * `count`, `time*`, `group`, `trace` and `assert` print through these methods.
 */
export function consoleToLog(sink: LogSink): void {
  const to =
    (send: (message: string) => void) =>
    (...args: unknown[]): void =>
      send(format(...args));
  console.log = to((m) => sink.log(m));
  console.debug = to((m) => sink.log(m));
  console.info = to((m) => sink.info(m));
  console.warn = to((m) => sink.warn(m));
  console.error = to((m) => sink.error(m));
  console.dir = (item: unknown, options?: InspectOptions) => sink.log(inspect(item, options));
}
