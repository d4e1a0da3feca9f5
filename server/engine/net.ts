import { createServer } from 'node:net';

/** A TCP port that is free on `host` right now (the OS picks it; another process may still take it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((done, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => done(port));
    });
  });
}

/** Whether some process already listens on `host:port` (binding it fails with EADDRINUSE). */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((done, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? done(true) : reject(e)));
    s.listen(port, host, () => s.close(() => done(false)));
  });
}
