/** `modelops serve`: the local model server (Open Inference Protocol) in the foreground. */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { intFlag, parseCli } from '../shared/args';
import { ModelOpsError } from '../../engine/errors';
import { isLoopbackHost, startModelServer } from '../../engine/serving';
import type { ServerRecord } from '../../engine/serving/types';

const USAGE = `modelops serve [--host 127.0.0.1] [--port 8765] [--token-env VAR] [--store DIR]
               [--max-batch 64] [--max-wait-ms 0] [--no-log] [--no-monitor] [--log-max-mb 64] [--log-keep 4]
               [--record FILE]

Serves model versions over the Open Inference Protocol (KServe V2) until stopped (Ctrl+C).
  --host         address to bind (default 127.0.0.1: this machine only; any other address
                 needs --token-env, and then every request must carry the token)
  --port         port (default 8765; 0 picks a free one)
  --token-env    environment variable holding the management API token (no token: management off)
  --store        where uploaded bundles, state and prediction logs live (default .modelops/serving/default)
  --record       write {pid, port, url} here once listening (used to find the server again)
  --max-batch    most rows per model call; --max-wait-ms: how long a request waits for others
                 (0: requests that arrive in the same event-loop turn share a call)
  --no-log       turn the prediction log off
  --no-monitor   turn live monitoring off (windows, alerts, the monitor stream and its gauges;
                 also MODELOPS_LIVE_MONITOR=off)`;

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run the local model server (Open Inference Protocol / KServe V2)',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      {
        host: { type: 'string' },
        port: { type: 'string' },
        'token-env': { type: 'string' },
        store: { type: 'string' },
        record: { type: 'string' },
        'max-batch': { type: 'string' },
        'max-wait-ms': { type: 'string' },
        'no-log': { type: 'boolean' },
        'no-monitor': { type: 'boolean' },
        'log-max-mb': { type: 'string' },
        'log-keep': { type: 'string' },
      },
      USAGE,
    );
    if (positionals.length) throw new ModelOpsError('cli-usage', `Unexpected argument '${positionals[0]}'.`, USAGE);
    let token: string | null = null;
    const tokenEnv = values['token-env'];
    if (tokenEnv) {
      token = io.env[tokenEnv]?.trim() || null;
      if (!token)
        throw new ModelOpsError(
          'no-token',
          `The environment variable ${tokenEnv} is empty or unset.`,
          `Export ${tokenEnv}=<token> before starting the server, or leave out --token-env to run without the management API.`,
        );
    }
    const storeDir = resolve(io.cwd, values.store ?? join('.modelops', 'serving', 'default'));
    const server = await startModelServer({
      host: values.host ?? '127.0.0.1',
      port: intFlag(values.port, '--port', 0, 65535) ?? 8765,
      storeDir,
      token,
      maxBatchSize: intFlag(values['max-batch'], '--max-batch', 1) ?? 64,
      maxWaitMs: intFlag(values['max-wait-ms'], '--max-wait-ms') ?? 0,
      logging: !values['no-log'],
      ...(values['no-monitor'] ? { monitoring: false } : {}),
      log: {
        maxBytes: (intFlag(values['log-max-mb'], '--log-max-mb', 1) ?? 64) * 1024 * 1024,
        keep: intFlag(values['log-keep'], '--log-keep') ?? 4,
      },
      onLog: (m, level = 'info') => io.err(`[serve] ${level === 'info' ? '' : `${level}: `}${m}`),
    });
    const recordFile = values.record ? resolve(io.cwd, values.record) : null;
    if (recordFile) {
      const record: ServerRecord = {
        pid: process.pid,
        host: server.host,
        port: server.port,
        url: server.url,
        storeDir,
        startedAt: new Date().toISOString(),
      };
      mkdirSync(dirname(recordFile), { recursive: true, mode: 0o700 });
      writeFileSync(`${recordFile}.${process.pid}.tmp`, JSON.stringify(record, null, 1), { mode: 0o600 });
      renameSync(`${recordFile}.${process.pid}.tmp`, recordFile);
    }
    const exposed = !isLoopbackHost(server.host);
    io.out(
      `modelops serve: listening on ${server.url} (store ${storeDir}; management API ${token ? 'on' : 'off'}${exposed ? '; reachable from other machines, so every request needs the token' : ''})`,
    );
    await server.restored;
    io.out(`modelops serve: ready with ${server.repository.index().length} loaded version(s)`);
    return new Promise<number>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().finally(() => {
          if (recordFile) {
            try {
              const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as ServerRecord;
              if (rec.pid === process.pid) rmSync(recordFile, { force: true });
            } catch {
              /* already gone */
            }
          }
          done(0);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Buffered log lines must reach the disk even on an abrupt exit.
      process.on('exit', () => server.log?.flushSync());
    });
  },
};
