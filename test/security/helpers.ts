/** Shared pieces of the security tests: a listener that records every request it receives. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

export interface Listener {
  url: string;
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records requests and answers with `respond` (default: 200 `{}`). */
export async function listen(
  respond?: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<Listener> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      if (respond) respond(req, res, body);
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Every request that carried `token` in any form (header or body). */
export function leaks(l: Listener, token: string): Recorded[] {
  return l.requests.filter(
    (r) => (r.authorization ?? '').includes(token) || r.body.includes(token) || r.url.includes(token),
  );
}
