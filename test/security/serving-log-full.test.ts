/**
 * A full disk loses prediction log lines visibly and corrupts nothing: `modelops serve` runs
 * under `ulimit -f` (SIGXFSZ ignored, so appends past the limit fail with EFBIG as on ENOSPC).
 * Every request still gets 200; the log file holds only whole lines; every line not in it is
 * counted in /metrics and GET /v2; the server log says so at error level, once per burst.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, makeRows, inferBody, tempDir } from '../unit/serving/fixtures';
import { startServeChild } from '../unit/serving/child';

const TOKEN = 'log-full-token-5d1e';
const LIMIT_KIB = 64;
const REQUESTS = 600;

test('appends past a full disk are truncated back, counted in /metrics and /v2, and logged once per burst', async () => {
  const tmp = tempDir('sec-logfull');
  const bundle = join(tmp.dir, 'bundle');
  await makeBundle(bundle, 1);
  const store = join(tmp.dir, 'store');
  const server = await startServeChild(['--store', store], { token: TOKEN, fileLimitKiB: LIMIT_KIB });
  try {
    const load = await fetch(`${server.url}/v2/repository/models/weather/versions/1.0.0/load`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: bundle }),
    });
    assert.equal(load.status, 200, await load.text());
    // Bursts of concurrent requests, so each flush appends many lines at once.
    for (let i = 0; i < REQUESTS; i += 50) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(`${server.url}/v2/models/weather/infer`, {
            method: 'POST',
            body: JSON.stringify(inferBody(makeRows(2, i + j + 1), `req-${i + j}`)),
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      assert.ok(
        statuses.every((s) => s === 200),
        `statuses ${statuses.join(',')}`,
      );
    }
    const file = join(store, 'logs', 'weather', 'predictions.jsonl');
    const stats = async () => {
      const meta = (await (await fetch(`${server.url}/v2`)).json()) as {
        modelops?: { predictionLog?: { dropped: number; lastError: string | null } };
      };
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return { meta: meta.modelops?.predictionLog, metrics, text };
    };
    // Wait until every line is either in the file or counted as dropped.
    let s = await stats();
    const deadline = Date.now() + 20_000;
    const lines = (t: string) => (t === '' ? 0 : t.split('\n').length - 1);
    while (Date.now() < deadline && (s.meta?.dropped ?? 0) + lines(s.text) < REQUESTS) {
      await new Promise((r) => setTimeout(r, 200));
      s = await stats();
    }
    const dropped = s.meta?.dropped ?? 0;
    assert.ok(
      dropped > 0,
      `some lines must have been dropped under a ${LIMIT_KIB} KiB limit: ${JSON.stringify(s.meta)}`,
    );
    assert.match(String(s.meta?.lastError), /EFBIG|too large/i);
    // Only whole lines: every line parses and the file ends with a newline.
    assert.ok(s.text.endsWith('\n'), 'the log ends with a complete line');
    const parsed = s.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string });
    assert.ok(parsed.every((l) => l.type === 'prediction' && /^req-\d+$/.test(l.id)));
    assert.ok(statSync(file).size <= LIMIT_KIB * 1024);
    assert.equal(parsed.length + dropped, REQUESTS, 'every request is either logged or counted as dropped');
    const m = /^modelops_prediction_log_dropped_total (\d+)$/m.exec(s.metrics);
    assert.ok(m, 'the dropped counter is in /metrics');
    assert.equal(Number(m[1]), dropped);
    // The server log reports it at error level, not once per line.
    const reports = server
      .stderr()
      .split('\n')
      .filter((l) => /error: prediction log of 'weather': dropping lines/.test(l));
    assert.ok(reports.length >= 1, `the server log reports the drops: ${server.stderr()}`);
    assert.ok(reports.length <= Math.ceil(dropped / 10), `${reports.length} reports for ${dropped} dropped lines`);
    // The server keeps serving.
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
  } finally {
    await server.stop();
    tmp.cleanup();
  }
});
