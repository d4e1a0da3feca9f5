/**
 * A closed-loop HTTP/1.1 load generator for the serving benchmarks: `concurrency` keep-alive
 * connections, each with one request in flight, the next sent when the answer is in (no
 * pipelining). The request is built once as bytes and the answer read with just enough parsing
 * for its status and its Content-Length body. It exists because the load generator
 * shares this machine's 2 cores with the server: `http.request` spent about 60 µs of CPU per
 * request, as much as the server it measured; this spends a fraction of that, so the server
 * gets most of a core more, as it would with its load coming from the network.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ClientResult {
  /** Latency of each answered request, ms. */
  latencies: number[];
  /** Answers that were not 200, and connections that failed. */
  errors: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One connection's read state: bytes not yet consumed and the answer being read. */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private sentAt = 0;
  /** Body bytes still to come of the current answer (−1: headers not read yet). */
  private remaining = -1;
  private status = 0;
  private closed = false;
  private socket: Socket;

  constructor(
    host: string,
    port: number,
    private readonly request: Buffer,
    private readonly until: number,
    private readonly result: ClientResult,
    private readonly done: () => void,
  ) {
    this.socket = connect({ host, port, noDelay: true }, () => this.send());
    this.socket.on('data', (d: Buffer) => this.read(d));
    this.socket.on('error', () => {
      this.result.errors++;
      this.finish();
    });
    this.socket.on('close', () => this.finish());
  }

  private send(): void {
    if (performance.now() >= this.until) return this.finish();
    this.sentAt = performance.now();
    this.remaining = -1;
    this.socket.write(this.request);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.done();
  }

  private read(d: Buffer): void {
    this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
    if (this.remaining < 0) {
      const end = this.buffered.indexOf(CRLFCRLF);
      if (end < 0) return;
      const head = this.buffered.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      // The servers measured here answer with a Content-Length (no chunked bodies).
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.remaining = length ? Number(length[1]) : 0;
      this.buffered = this.buffered.subarray(end + 4);
    }
    if (this.buffered.length < this.remaining) return;
    this.buffered = this.buffered.subarray(this.remaining);
    this.result.latencies.push(performance.now() - this.sentAt);
    if (this.status !== 200) this.result.errors++;
    this.send();
  }
}

/** Sends `body` as POST `path` from `concurrency` connections, each request after the last answer, until `seconds` have passed. */
export type ClosedLoop = (
  url: string,
  path: string,
  body: string,
  concurrency: number,
  seconds: number,
) => Promise<ClientResult>;

export const closedLoop: ClosedLoop = (url, path, body, concurrency, seconds) => {
  const { hostname, port } = new URL(url);
  const payload = Buffer.from(body);
  const message = Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${payload.length}\r\nconnection: keep-alive\r\n\r\n`,
      'latin1',
    ),
    payload,
  ]);
  const result: ClientResult = { latencies: [], errors: 0 };
  const until = performance.now() + seconds * 1000;
  return new Promise((resolve) => {
    let open = concurrency;
    const done = () => {
      if (--open === 0) resolve(result);
    };
    for (let i = 0; i < concurrency; i++) new Connection(hostname, Number(port), message, until, result, done);
  });
};

/** The same closed loop through Node's `http.request` (`--node-http-client`: how this benchmark measured before). */
export const httpClosedLoop: ClosedLoop = async (url, path, body, concurrency, seconds) => {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(url);
  const one = () =>
    new Promise<number>((done, fail) => {
      const req = request(
        {
          host: hostname,
          port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  const result: ClientResult = { latencies: [], errors: 0 };
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const status = await one().catch(() => -1);
        result.latencies.push(performance.now() - s);
        if (status !== 200) result.errors++;
      }
    }),
  );
  agent.destroy();
  return result;
};
