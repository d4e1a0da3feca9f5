/**
 * No token leaves for a place the user did not bind it to: the editor path (the built sidecar over
 * JSON-RPC, trusted and untrusted) and the CLI (the real `modelops` process). The listener stands
 * for a server that a hostile modelops.yaml names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, workspace } from '../../server/protocol';
import { tokenResolver } from '../../server/engine/deploy';
import type { TargetConfig } from '../../server/engine/config/types';
import { openRegistry } from '../../server/engine/registry';
import { REPO, startSidecar, ensureBuilt } from '../protocol/client';
import { makeBundle } from '../unit/serving/fixtures';
import { leaks, listen } from './helpers';

const TOKEN = 'prod-secret-7d1c0e55aa';
const rows = readFileSync(join(REPO, 'examples/sample/data/seattle-weather.csv'), 'utf8').trim().split('\n');
const data = [rows[0], ...rows.slice(1, 200)].join('\n') + '\n';

const config = (url: string, extra = '') => `version: 1
project: hostile
data:
  train: data/weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 5, activation: softmax }
deploy:
  targets:
    innocent: { type: http, url: "${url}", tokenSecret: production }
${extra}monitor:
  target: innocent
`;

test('untrusted sidecar: no stored or environment token reaches a URL the workspace names', async () => {
  ensureBuilt();
  const l = await listen();
  const c = await startSidecar({
    files: { 'modelops.yaml': config(`${l.url}/`), 'data/weather.csv': data },
    initializationOptions: { trusted: false },
    env: { MODELOPS_TOKEN_PRODUCTION: TOKEN, MODELOPS_TOKEN_PRODUCTION_ORIGIN: l.url },
  });
  try {
    // Even a token bound to exactly this origin is not used while the workspace is untrusted.
    await c.connection.sendNotification(deploy.setToken.method, {
      secret: 'production',
      token: TOKEN,
      origins: [l.url],
    });
    const eps = await c.request(deploy.listEndpoints, {});
    assert.equal(eps[0].target, 'innocent');
    assert.match(eps[0].error ?? '', /Restricted Mode/);
    await c.request(deploy.monitor, { target: 'innocent' }).catch(() => undefined);
    await assert.rejects(c.request(deploy.deploy, { ref: 'weather@1.0.0', target: 'innocent' }), /untrusted workspace/);
    assert.deepEqual(leaks(l, TOKEN), []);
    assert.equal(l.requests.length, 0, 'no request at all to a URL named by an untrusted workspace');
  } finally {
    await c.close();
    await l.close();
  }
});

test('trusted sidecar: a stored token goes only to the origin it is bound to', async () => {
  ensureBuilt();
  const l = await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/v2/repository/index' ? '[]' : '{}');
  });
  const c = await startSidecar({ files: { 'modelops.yaml': config(`${l.url}/`), 'data/weather.csv': data } });
  try {
    const [t] = await c.request(workspace.targets, {});
    assert.equal(t.origin, l.url.replace('http://127.0.0.1', 'http://127.0.0.1'));
    assert.equal(t.secret, 'production');

    // Bound elsewhere (the user stored it for the real production server).
    await c.connection.sendNotification(deploy.setToken.method, {
      secret: 'production',
      token: TOKEN,
      origins: ['https://models.example.com:443'],
    });
    let eps = await c.request(deploy.listEndpoints, {});
    assert.match(
      eps[0].error ?? '',
      /not allowed to go to http:\/\/127\.0\.0\.1:\d+.*bound to https:\/\/models\.example\.com:443/,
    );
    assert.deepEqual(leaks(l, TOKEN), []);

    // A bare (unbound) token is not sent either.
    await c.connection.sendNotification(deploy.setToken.method, { secret: 'production', token: TOKEN, origins: [] });
    eps = await c.request(deploy.listEndpoints, {});
    assert.match(eps[0].error ?? '', /not bound to any origin/);
    assert.deepEqual(leaks(l, TOKEN), []);

    // The user allowed this origin: now it goes there, and only in the Authorization header.
    await c.connection.sendNotification(deploy.setToken.method, {
      secret: 'production',
      token: TOKEN,
      origins: [l.url],
    });
    eps = await c.request(deploy.listEndpoints, {});
    assert.equal(eps[0].error, null);
    assert.ok(leaks(l, TOKEN).length > 0);
    assert.ok(leaks(l, TOKEN).every((r) => r.authorization === `Bearer ${TOKEN}`));
  } finally {
    await c.close();
    await l.close();
  }
});

test('trusted sidecar: an environment token needs MODELOPS_TOKEN_<NAME>_ORIGIN', async () => {
  ensureBuilt();
  const l = await listen();
  const c = await startSidecar({
    files: { 'modelops.yaml': config(`${l.url}/`), 'data/weather.csv': data },
    env: { MODELOPS_TOKEN_PRODUCTION: TOKEN },
  });
  try {
    const eps = await c.request(deploy.listEndpoints, {});
    assert.match(eps[0].error ?? '', /MODELOPS_TOKEN_PRODUCTION_ORIGIN/);
    assert.deepEqual(leaks(l, TOKEN), []);
  } finally {
    await c.close();
    await l.close();
  }
});

function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'dist', 'cli.js'), ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => done({ code: code ?? -1, out, err }));
  });
}

test('CLI: deploy and rollback send an environment token only to an allowed origin', async () => {
  ensureBuilt();
  const l = await listen();
  const dir = mkdtempSync(join(tmpdir(), 'modelops-sec-cli-'));
  try {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/weather.csv'), data);
    writeFileSync(join(dir, 'modelops.yaml'), config(`${l.url}/`));
    // A registered version, so deploy gets as far as contacting the target.
    await makeBundle(join(dir, 'bundle'), 1);
    const registry = openRegistry(dir);
    await registry.registerVersion({
      model: 'weather',
      source: join(dir, 'bundle'),
      version: '1.0.0',
      format: 'modelops-tfjs',
    });
    registry.close();
    const env = { MODELOPS_TOKEN_PRODUCTION: TOKEN };
    for (const args of [
      ['deploy', 'weather@1.0.0', '--target', 'innocent'],
      ['rollback', '--target', 'innocent', '--model', 'weather'],
    ]) {
      const r = await cli(dir, args, env);
      assert.notEqual(r.code, 0);
      assert.match(r.err + r.out, /not allowed to go to http:\/\/127\.0\.0\.1/);
      assert.ok(!(r.err + r.out).includes(TOKEN), 'the token is never printed');
    }
    assert.deepEqual(leaks(l, TOKEN), []);
    assert.equal(l.requests.length, 0);

    // Allowed by the user's own environment or command line: it is sent (and only as a bearer token).
    const allowed = await cli(
      dir,
      ['rollback', '--target', 'innocent', '--model', 'weather', '--token-origin', l.url],
      env,
    );
    assert.notEqual(allowed.code, 0, 'the listener is no model server, so rollback still fails');
    assert.ok(leaks(l, TOKEN).length > 0);
    assert.ok(leaks(l, TOKEN).every((r) => r.authorization === `Bearer ${TOKEN}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await l.close();
  }
});

test('the resolver: bound origins, default ports, untrusted, local targets', () => {
  const t: TargetConfig = {
    type: 'http',
    url: 'https://models.example.com/v2',
    tokenSecret: 'production',
    requireApproval: false,
    smokeTest: { rows: 5, tolerance: 1e-6 },
  };
  const stored = { token: TOKEN, origins: ['https://models.example.com:443'] };
  const resolve = (trusted: boolean, env: NodeJS.ProcessEnv = {}) =>
    tokenResolver({ trusted: () => trusted, stored: () => stored, env, consentHint: 'allow it' });
  assert.equal(resolve(true)('prod', t), TOKEN, 'https default port 443 is the same origin');
  assert.equal(resolve(false)('prod', t), null);
  assert.throws(() => resolve(true)('prod', { ...t, url: 'https://models.example.com.evil.test/' }), /not allowed/);
  assert.throws(
    () => resolve(true)('prod', { ...t, url: 'http://models.example.com/' }),
    /not allowed/,
    'scheme is part of the origin',
  );
  assert.throws(
    () => resolve(true)('prod', { ...t, url: 'https://models.example.com:8443/' }),
    /not allowed/,
    'port is part of the origin',
  );
  const envOnly = tokenResolver({
    trusted: () => true,
    env: { MODELOPS_TOKEN_PRODUCTION: TOKEN, MODELOPS_TOKEN_PRODUCTION_ORIGIN: 'https://models.example.com' },
    consentHint: '',
  });
  assert.equal(envOnly('prod', t), TOKEN);
  assert.throws(
    () => envOnly('prod', { ...t, url: 'https://elsewhere.example.com' }),
    (e: Error & { hint?: string }) =>
      /MODELOPS_TOKEN_PRODUCTION_ORIGIN=https:\/\/elsewhere\.example\.com:443/.test(e.hint ?? ''),
  );
});

test('target names are not paths: validate reports them, the engine refuses them, nothing is created outside', async () => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'modelops-sec-names-'));
  const ws = join(dir, 'ws');
  try {
    mkdirSync(join(ws, 'data'), { recursive: true });
    writeFileSync(join(ws, 'data/weather.csv'), data);
    const yaml = config('https://models.example.com').replace(
      '    innocent: { type: http, url: "https://models.example.com", tokenSecret: production }',
      '    "../../../outside": { type: local, port: 8799 }',
    );
    writeFileSync(join(ws, 'modelops.yaml'), yaml.replace('target: innocent', 'target: "../../../outside"'));
    const v = await cli(ws, ['validate'], {});
    assert.notEqual(v.code, 0);
    assert.match(v.out + v.err, /not a valid target name/);
    for (const args of [
      ['deploy', 'weather@1.0.0', '--target', '../../../outside'],
      ['monitor', '--target', '../../../outside'],
      ['rollback', '--target', '../../../outside', '--model', 'weather'],
    ]) {
      const r = await cli(ws, args, {});
      assert.notEqual(r.code, 0);
    }
    assert.deepEqual(
      ['outside.token', 'outside.json', 'outside.log', 'outside'].filter(
        (f) => existsSync(join(dir, f)) || existsSync(join(dir, '..', f)),
      ),
      [],
      'nothing was created outside the workspace store',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
