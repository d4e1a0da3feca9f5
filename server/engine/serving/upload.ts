/**
 * The body of a management `load` request, read as a stream: `{"path": "…"}` or
 * `{"files": {"model.json": "<base64>", …}}`, each with an optional `"digest"`. Base64 file
 * contents are decoded straight into files on disk as they arrive, so a 200 MB upload costs a
 * few chunks of memory, not 200 MB (plus its base64 text and a parsed copy).
 *
 * Only this shape is accepted: an object whose members are strings, except `files`, an object
 * of strings. Anything else is a 400 naming what was wrong.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { HttpError } from './v2';

export interface LoadBody {
  path: string | null;
  digest: string | null;
  /** Names of the files written into the upload folder; null when the body had no "files". */
  files: string[] | null;
}

const SHAPE =
  'Send {"path": "<bundle dir>"} or {"files": {"model.json": "<base64>", …}}, optionally with "digest": "sha256:<hex>".';
const MAX_SHORT = 4096;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const SPECIAL = /["\\\u0000-\u001f]/g;
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

type State =
  | 'start'
  | 'key-or-end'
  | 'key'
  | 'colon'
  | 'value'
  | 'comma'
  | 'fkey-or-end'
  | 'fkey'
  | 'fcolon'
  | 'fvalue'
  | 'fcomma'
  | 'done';

interface Str {
  data(s: string): void;
  end(): void;
}

class LoadBodyParser {
  private state: State = 'start';
  private str: Str | null = null;
  private esc: string | null = null;
  private key = '';
  private readonly short = new Map<string, string>();
  private readonly streams = new Map<string, WriteStream>();
  private hadFiles = false;
  /** A file stream whose buffer is full: the request waits for it to drain. */
  blocked: WriteStream | null = null;

  constructor(
    private readonly dir: string,
    private readonly allowed: ReadonlySet<string>,
  ) {}

  feed(text: string): void {
    let i = 0;
    while (i < text.length) {
      if (this.str) {
        if (this.esc !== null) {
          this.esc += text[i++];
          this.escape();
          continue;
        }
        SPECIAL.lastIndex = i;
        const m = SPECIAL.exec(text);
        const j = m ? m.index : text.length;
        if (j > i) this.str.data(text.slice(i, j));
        i = j;
        if (i >= text.length) break;
        const c = text[i++];
        if (c === '"') {
          const s = this.str;
          this.str = null;
          s.end();
        } else if (c === '\\') this.esc = '';
        else throw new HttpError(400, 'The load body has a control character inside a string; it is not valid JSON.');
        continue;
      }
      const c = text[i++];
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      this.token(c);
    }
  }

  private escape(): void {
    const e = this.esc ?? '';
    if (e[0] !== 'u') {
      const v = ESCAPES[e];
      if (v === undefined)
        throw new HttpError(400, `The load body has an invalid escape '\\${e}'; it is not valid JSON.`);
      this.esc = null;
      this.str?.data(v);
    } else if (e.length === 5) {
      if (!/^u[0-9a-fA-F]{4}$/.test(e))
        throw new HttpError(400, `The load body has an invalid escape '\\${e}'; it is not valid JSON.`);
      this.esc = null;
      this.str?.data(String.fromCharCode(parseInt(e.slice(1), 16)));
    }
  }

  /** A short string (a key, a path, a digest), capped so it cannot grow memory. */
  private readShort(what: string, done: (s: string) => void): void {
    let s = '';
    this.str = {
      data: (d) => {
        s += d;
        if (s.length > MAX_SHORT)
          throw new HttpError(400, `The load body's ${what} is longer than ${MAX_SHORT} characters.`);
      },
      end: () => done(s),
    };
  }

  private openFile(name: string): void {
    if (!this.allowed.has(name))
      throw new HttpError(
        400,
        `Bundle file '${name.slice(0, 64)}' is not allowed; send ${[...this.allowed].join(', ')}.`,
      );
    if (this.streams.has(name)) throw new HttpError(400, `Bundle file '${name}' appears twice in the upload.`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const out = createWriteStream(join(this.dir, name), { mode: 0o600 });
    out.on('error', () => undefined);
    this.streams.set(name, out);
    let pending = '';
    const write = (b64: string) => {
      if (NOT_BASE64.test(b64)) throw new HttpError(400, `Bundle file '${name}' is not base64 text.`);
      if (!out.write(Buffer.from(b64, 'base64'))) this.blocked = out;
    };
    this.str = {
      data: (d) => {
        pending += d;
        const n = pending.length - (pending.length % 4);
        if (n > 0) {
          write(pending.slice(0, n));
          pending = pending.slice(n);
        }
      },
      end: () => {
        if (pending) write(pending);
        out.end();
        this.state = 'fcomma';
      },
    };
  }

  private token(c: string): void {
    const bad = (): never => {
      throw new HttpError(
        400,
        `The load body is not valid JSON or not of the expected shape (unexpected '${c}'). ${SHAPE}`,
      );
    };
    switch (this.state) {
      case 'start':
        if (c !== '{') bad();
        this.state = 'key-or-end';
        return;
      case 'key-or-end':
      case 'key':
        if (c === '}' && this.state === 'key-or-end') {
          this.state = 'done';
          return;
        }
        if (c !== '"') bad();
        this.readShort('key', (k) => {
          this.key = k;
          this.state = 'colon';
        });
        return;
      case 'colon':
        if (c !== ':') bad();
        this.state = 'value';
        return;
      case 'value':
        if (this.key === 'files') {
          if (c !== '{' || this.hadFiles)
            throw new HttpError(400, `"files" must be one object of base64 strings. ${SHAPE}`);
          this.hadFiles = true;
          this.state = 'fkey-or-end';
          return;
        }
        if (c !== '"') throw new HttpError(400, `"${this.key.slice(0, 64)}" must be a string. ${SHAPE}`);
        if (this.key !== 'path' && this.key !== 'digest')
          throw new HttpError(400, `Unknown member "${this.key.slice(0, 64)}" in the load body. ${SHAPE}`);
        this.readShort(`"${this.key}"`, (v) => {
          this.short.set(this.key, v);
          this.state = 'comma';
        });
        return;
      case 'comma':
        if (c === '}') this.state = 'done';
        else if (c === ',') this.state = 'key';
        else bad();
        return;
      case 'fkey-or-end':
      case 'fkey':
        if (c === '}' && this.state === 'fkey-or-end') {
          this.state = 'comma';
          return;
        }
        if (c !== '"') bad();
        this.readShort('file name', (k) => {
          this.key = k;
          this.state = 'fcolon';
        });
        return;
      case 'fcolon':
        if (c !== ':') bad();
        this.state = 'fvalue';
        return;
      case 'fvalue':
        if (c !== '"') throw new HttpError(400, `Bundle file '${this.key.slice(0, 64)}' must be base64 text.`);
        this.openFile(this.key);
        return;
      case 'fcomma':
        if (c === '}') this.state = 'comma';
        else if (c === ',') this.state = 'fkey';
        else bad();
        return;
      case 'done':
        bad();
    }
  }

  async finish(): Promise<LoadBody> {
    if (this.state === 'start') throw new HttpError(400, 'The request body is empty; send a JSON object.');
    if (this.state !== 'done' || this.str)
      throw new HttpError(400, `The load body ended early; it is not valid JSON. ${SHAPE}`);
    await this.settle();
    return {
      path: this.short.get('path') ?? null,
      digest: this.short.get('digest') ?? null,
      files: this.hadFiles ? [...this.streams.keys()] : null,
    };
  }

  /** Waits until every file is closed, so the caller can rename or remove the folder. */
  async settle(): Promise<void> {
    await Promise.all(
      [...this.streams.values()].map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            if (s.closed) return s.errored ? reject(s.errored) : resolve();
            s.once('close', () => (s.errored ? reject(s.errored) : resolve()));
            if (!s.writableEnded) s.destroy();
          }),
      ),
    );
  }
}

/**
 * Reads a load body of at most `limit` bytes, writing uploaded files into `dir` (created only
 * when the body has files). On any error the caller removes `dir`.
 */
export function receiveLoadBody(
  req: IncomingMessage,
  limit: number,
  dir: string,
  allowed: ReadonlySet<string>,
): Promise<LoadBody> {
  return new Promise<LoadBody>((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new HttpError(413, `The request body is ${declared} bytes; the limit is ${limit}.`, { connection: 'close' }),
      );
      return;
    }
    const parser = new LoadBodyParser(dir, allowed);
    const decoder = new StringDecoder('utf8');
    let size = 0;
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      req.pause();
      // Close what was opened before the caller removes the folder.
      void parser
        .settle()
        .catch(() => undefined)
        .then(() => reject(e));
    };
    req.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit)
        return fail(
          new HttpError(413, `The request body is larger than the limit of ${limit} bytes.`, { connection: 'close' }),
        );
      try {
        parser.feed(decoder.write(c));
      } catch (e) {
        return fail(e instanceof HttpError ? new HttpError(e.status, e.message, { connection: 'close' }) : e);
      }
      const blocked = parser.blocked;
      if (blocked) {
        parser.blocked = null;
        req.pause();
        // An ended stream never emits 'drain': its 'close' resumes the request instead.
        const go = () => {
          blocked.off('drain', go);
          blocked.off('close', go);
          if (!settled) req.resume();
        };
        blocked.on('drain', go);
        blocked.on('close', go);
      }
    });
    req.on('end', () => {
      if (settled) return;
      try {
        parser.feed(decoder.end());
      } catch (e) {
        return fail(e);
      }
      parser.finish().then(
        (body) => {
          settled = true;
          resolve(body);
        },
        (e: unknown) => fail(e),
      );
    });
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'The client closed the connection before the upload was complete.'));
    });
  });
}
