/**
 * Responses from endpoints and webhook receivers are validated, not trusted: a malformed answer is
 * a clear ModelOpsError (never a TypeError), redirects are not followed, and secrets in webhook
 * URLs stay out of logs and out of modelops.yaml.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ModelServerClient, deploy } from '../../server/engine/deploy';
import { isModelOpsError } from '../../server/engine/errors';
import { sendWebhook } from '../../server/engine/monitoring';
import { analyzeConfig, codeActions } from '../../server/engine/config';
import { openRegistry } from '../../server/engine/registry';
import { BASE, prng, SAMPLE_CONFIG_PATH } from '../unit/config/helpers';
import { makeBundle, makeRows, tempDir, writeCsv } from '../unit/serving/fixtures';
import { runConfig } from '../unit/fixtures/config';
import { listen } from './helpers';

const JUNK: Array<string | (() => string)> = [
  '',
  'not json',
  'null',
  '[]',
  '{}',
  '"a string"',
  '42',
  '{"outputs": null}',
  '{"outputs": [null]}',
  '{"outputs": [{"name": 1}]}',
  '{"outputs": [{"name": "label", "shape": "x", "datatype": "BYTES", "data": [1]}]}',
  '{"outputs": [{"name": "label", "shape": [1], "datatype": "BYTES", "data": {}}]}',
  '{"outputs": [{"name": "probabilities", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}',
  '{"name": "weather", "active": 3, "versions": "1.0.0"}',
  '{"name": "weather", "active": null, "versions": [1]}',
  '[{"name": 1}]',
  '[null]',
  '{"active": null}',
  '{"error": {"nested": true}}',
  () => '{"deep":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
  () => '\u0000\u0001\u001b[2J',
];

test('the http client answers malformed responses with ModelOpsErrors, never a TypeError (seeded fuzz)', async () => {
  const rand = prng(0x5eed);
  let current = '{}';
  let status = 200;
  const l = await listen((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(current);
  });
  const client = new ModelServerClient({ target: 'fuzz', url: l.url, token: 'tok', timeoutMs: 2000 });
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['index', () => client.index()],
    ['modelInfo', () => client.modelInfo('weather')],
    ['switchTo', () => client.switchTo('weather', '1.0.0')],
    ['infer', () => client.infer('weather', '1.0.0', { inputs: [] })],
    ['load', () => client.load('weather', '1.0.0', { path: '/x' })],
    ['unload', () => client.unload('weather', '1.0.0')],
    ['versionReady', () => client.versionReady('weather', '1.0.0')],
    ['live', () => client.live()],
    ['ready', () => client.ready()],
  ];
  try {
    for (let i = 0; i < 300; i++) {
      const j = JUNK[Math.floor(rand() * JUNK.length)];
      current = typeof j === 'function' ? j() : j;
      status = [200, 200, 200, 201, 204, 400, 401, 403, 404, 500, 503][Math.floor(rand() * 11)];
      const [name, call] = calls[Math.floor(rand() * calls.length)];
      try {
        await call();
      } catch (e) {
        assert.ok(
          isModelOpsError(e),
          `case ${i}: ${name} on HTTP ${status} ${JSON.stringify(current.slice(0, 60))} threw ${String(e)}`,
        );
      }
    }
  } finally {
    await l.close();
  }
});

test('a 200 that is not an inference response fails the smoke test clearly and rolls back', async () => {
  const tmp = tempDir('sec-smoke');
  const l = await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // A server that accepts everything: no model is known, every call "succeeds".
    if (req.url?.startsWith('/v2/repository/models/weather/versions/')) res.end('{}');
    else if (req.url === '/v2/repository/models/weather')
      res.end('{"name":"weather","active":null,"previous":null,"versions":[]}');
    else res.end('{}');
  });
  try {
    mkdirSync(join(tmp.dir, 'data'));
    writeCsv(
      join(tmp.dir, 'data', 'val.csv'),
      makeRows(20, 5).map((r, i) => ({ ...r, weather: ['rain', 'sun', 'fog'][i % 3] })),
    );
    await makeBundle(join(tmp.dir, 'bundle'), 1);
    const registry = openRegistry(tmp.dir);
    await registry.registerVersion({
      model: 'weather',
      source: join(tmp.dir, 'bundle'),
      version: '1.0.0',
      format: 'modelops-tfjs',
    });
    const config = runConfig({
      project: 'sec',
      data: { train: 'data/val.csv', validation: 'data/val.csv', split: { seed: 42 } },
      targets: {
        remote: { type: 'http', url: l.url, requireApproval: false, smokeTest: { rows: 5, tolerance: 1e-6 } },
      },
    });
    await assert.rejects(
      deploy({ registry, config, configDir: tmp.dir, tokenFor: () => 'tok', ref: 'weather@1.0.0', target: 'remote' }),
      (e: unknown) => {
        assert.ok(isModelOpsError(e), String(e));
        assert.match(
          (e as Error).message,
          /failed at step 'smoke test'.*not an Open Inference Protocol response|failed at step 'smoke test'.*something other than/,
        );
        assert.doesNotMatch((e as Error).message, /Cannot read properties/);
        return true;
      },
    );
    registry.close();
  } finally {
    await l.close();
    tmp.cleanup();
  }
});

test('endpoint redirects are refused: the token never follows to another origin', async () => {
  const elsewhere = await listen();
  const redirector = await listen((_req, res) => {
    res.writeHead(307, { location: `${elsewhere.url}/v2/repository/index` });
    res.end();
  });
  try {
    const client = new ModelServerClient({ target: 'r', url: redirector.url, token: 'bound-token' });
    await assert.rejects(
      client.index(),
      /redirect \(307\) to http:\/\/127\.0\.0\.1:\d+; ModelOps does not follow redirects/,
    );
    assert.equal(elsewhere.requests.length, 0);
  } finally {
    await redirector.close();
    await elsewhere.close();
  }
});

test('webhooks: the path secret stays out of logs, and redirects are not followed', async () => {
  const elsewhere = await listen();
  const redirector = await listen((_req, res) => {
    res.writeHead(308, { location: `${elsewhere.url}/collect` });
    res.end();
  });
  try {
    const logs: string[] = [];
    const secretPath = '/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX';
    assert.equal(await sendWebhook(`${redirector.url}${secretPath}`, { alerts: [] }, 2000, (m) => logs.push(m)), false);
    assert.equal(elsewhere.requests.length, 0, 'the alert body did not follow the redirect');
    assert.match(logs.join('\n'), /redirect \(308\)/);
    assert.ok(!logs.join('\n').includes('XXXXXXXX'), 'the path is redacted');
    assert.equal(await sendWebhook(`http://127.0.0.1:1${secretPath}`, {}, 500, (m) => logs.push(m)), false);
    assert.ok(!logs.join('\n').includes('T000'), 'failures are logged without the path too');
  } finally {
    await redirector.close();
    await elsewhere.close();
  }
});

const withAlerts = (line: string) =>
  BASE.replace('monitor:\n  target: local\n', `monitor:\n  target: local\n  alerts:\n    ${line}\n`);

test('a webhook URL that carries a secret is a diagnostic, pointing at webhookSecret', () => {
  for (const url of [
    'https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnopqrstuvwx',
    'https://discord.com/api/webhooks/1234567890/abcdefgh-ijklmnop',
    'https://contoso.webhook.office.com/webhookb2/0000-1111/IncomingWebhook/abc/def',
    'https://hooks.example.com/in/8f14e45fceea167a5a36dedd4bea2543',
  ]) {
    const text = withAlerts(`webhook: ${url}`);
    const a = analyzeConfig(text, { path: SAMPLE_CONFIG_PATH });
    const d = a.diagnostics.find((x) => x.code === 'webhook-secret');
    assert.ok(d, `${url}: ${JSON.stringify(a.diagnostics.map((x) => x.code))}`);
    assert.match(d.message, /webhookSecret: alerts/);
    const fix = codeActions(text, d.range, a.diagnostics).find((x) => x.diagnostic === d);
    assert.ok(fix, 'a quick fix is offered');
    const e = fix.edits[0];
    const lines = text.split('\n');
    lines[e.range.start.line] =
      lines[e.range.start.line].slice(0, e.range.start.character) +
      e.newText +
      lines[e.range.end.line].slice(e.range.end.character);
    const fixed = analyzeConfig(lines.join('\n'), { path: SAMPLE_CONFIG_PATH });
    assert.deepEqual(
      fixed.diagnostics.filter((x) => x.severity === 'error'),
      [],
      'the fixed config is clean',
    );
    assert.equal(fixed.config?.monitor?.alerts.webhookSecret, 'alerts');
  }
  const clean = analyzeConfig(withAlerts('webhook: https://hooks.example.com/modelops'), { path: SAMPLE_CONFIG_PATH });
  assert.equal(clean.diagnostics.filter((x) => x.code === 'webhook-secret').length, 0);
  const named = analyzeConfig(withAlerts('webhookSecret: alerts'), { path: SAMPLE_CONFIG_PATH });
  assert.deepEqual(
    named.diagnostics.filter((x) => x.severity === 'error'),
    [],
  );
  assert.equal(named.config?.monitor?.alerts.webhookSecret, 'alerts');
});
