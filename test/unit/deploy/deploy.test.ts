import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import { deploy, rollback, listEndpoints, readServerRecord, type StepEvent } from '../../../server/engine/deploy';
import { loadModelBundle } from '../../../server/engine/model/bundle';
import { startModelServer } from '../../../server/engine/serving';
import { isModelOpsError } from '../../../server/engine/errors';
import { makeBundle, makeRows, inferBody, tempDir, writeCsv } from '../serving/fixtures';
import { localTarget, runConfig } from '../fixtures/config';
import { serveCommand, stopServer } from '../fixtures/serve';

const TOKEN = 'tok-deploy-5b9d0c7a1e';
const REMOTE_TOKEN = 'tok-remote-77aa31f0';

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;
let config: ModelOpsConfig;
const errors: string[] = [];

function makeConfig(): ModelOpsConfig {
  return runConfig({
    project: 'test',
    data: { train: 'data/val.csv', validation: 'data/val.csv', split: { seed: 42 } },
    targets: {
      local: localTarget({ rows: 20 }),
      remote: {
        type: 'http',
        url: 'http://127.0.0.1:1',
        requireApproval: true,
        smokeTest: { rows: 10, tolerance: 1e-6 },
      },
    },
  });
}

const access = () => ({
  registry,
  config,
  tokenFor: (t: string) =>
    t === 'local' ? TOKEN : t === 'remote' || t === 'slow' || t === 'down' ? REMOTE_TOKEN : null,
  serveCommand,
});

before(async () => {
  tmp = tempDir('deploy');
  mkdirSync(join(tmp.dir, 'data'));
  writeCsv(
    join(tmp.dir, 'data', 'val.csv'),
    makeRows(60, 5).map((r, i) => ({ ...r, weather: ['rain', 'sun', 'fog'][i % 3] })),
  );
  for (const [v, seed] of [
    ['1.0.0', 1],
    ['1.1.0', 2],
    ['1.2.0', 3],
  ] as const) {
    const dir = join(tmp.dir, `bundle-${v}`);
    await makeBundle(dir, seed);
    registry = registry ?? openRegistry(tmp.dir);
    await registry.registerVersion({ model: 'weather', source: dir, version: v, format: 'modelops-tfjs' });
  }
  config = makeConfig();
});

after(async () => {
  await stopServer(registry.storeDir, TOKEN);
  registry.close();
  tmp.cleanup();
});

function serverUrl(): string {
  return readServerRecord(registry.storeDir, 'local')!.url;
}

async function servedVersion(): Promise<string> {
  const res = await fetch(serverUrl() + '/v2/models/weather/infer', {
    method: 'POST',
    body: JSON.stringify(inferBody(makeRows(1))),
  });
  return ((await res.json()) as { model_version: string }).model_version;
}

function record(e: unknown): string {
  const text = isModelOpsError(e) ? e.describe() : String(e);
  errors.push(text);
  return text;
}

test('deploy to a local target starts a real server process, smoke-tests, switches and records', async () => {
  const events: StepEvent[] = [];
  const r1 = await deploy({ ...access(), ref: 'weather@1.0.0', target: 'local', onStep: (e) => events.push(e) });
  assert.equal(r1.deployment.status, 'active');
  assert.deepEqual(
    events.filter((e) => e.status === 'ok').map((e) => e.step),
    ['package', 'load', 'ready', 'smoke test', 'switch', 'record'],
  );
  assert.match(events.find((e) => e.step === 'smoke test' && e.status === 'ok')!.detail, /^20\/20 matched/);
  const rec = readServerRecord(registry.storeDir, 'local')!;
  assert.notEqual(rec.pid, process.pid, 'the server is a child process');
  assert.equal(await servedVersion(), '1.0.0');

  const r2 = await deploy({ ...access(), ref: 'weather@1.1.0', target: 'local' });
  assert.equal(r2.deployment.previousVersion, '1.0.0');
  assert.equal(await servedVersion(), '1.1.0');
  assert.equal(readServerRecord(registry.storeDir, 'local')!.pid, rec.pid, 'the running server was found again');
  const index = (await (
    await fetch(serverUrl() + '/v2/repository/index', { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as Array<{ version: string }>;
  assert.deepEqual(
    index.map((e) => e.version),
    ['1.0.0', '1.1.0'],
    'the previous version stays loaded',
  );
  assert.equal(registry.activeDeployment('local', 'weather')!.version, '1.1.0');
});

test('a failing smoke test rolls back by itself and the previous version keeps serving', async () => {
  // Local predictions that disagree with the endpoint: what a wrongly served model looks like.
  const loader = async (dir: string) => {
    const m = await loadModelBundle(dir);
    return {
      ...m,
      predict: async (rows: Array<Record<string, unknown>>) =>
        (await m.predict(rows)).map((p) => ({ ...p, probabilities: p.probabilities!.map((x) => x + 0.01) })),
    };
  };
  const events: StepEvent[] = [];
  await assert.rejects(
    deploy({ ...access(), ref: 'weather@1.2.0', target: 'local', loader, onStep: (e) => events.push(e) }),
    (e: unknown) => {
      const text = record(e);
      assert.match(text, /failed at step 'smoke test'/);
      assert.match(text, /weather@1\.1\.0 keeps serving/);
      return true;
    },
  );
  assert.ok(events.some((e) => e.step === 'rollback' && e.status === 'ok'));
  assert.equal(await servedVersion(), '1.1.0');
  const failed = registry.listDeployments({ target: 'local', model: 'weather' }).find((d) => d.status === 'failed')!;
  assert.equal(failed.version, '1.2.0');
  assert.equal(failed.steps.find((s) => !s.ok)!.step, 'smoke test');
  assert.equal(registry.activeDeployment('local', 'weather')!.version, '1.1.0');
  const loaded = await (await fetch(serverUrl() + '/v2/models/weather/versions/1.2.0/ready')).status;
  assert.equal(loaded, 404, 'the failed version was unloaded');
});

test('a deploy and a rollback under load: zero failed requests', async () => {
  const url = serverUrl();
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; i < 5000 && !stop; i++) {
      try {
        const res = await fetch(url + '/v2/models/weather/infer', {
          method: 'POST',
          body: JSON.stringify(inferBody(makeRows(2, w * 1000 + i + 1))),
        });
        if (res.status === 200) ok++;
        else failures.push(`${res.status} ${await res.text()}`);
        await res.arrayBuffer().catch(() => undefined);
      } catch (e) {
        failures.push(String(e));
      }
    }
  };
  const load = Promise.all([1, 2, 3, 4].map(worker));
  await new Promise((r) => setTimeout(r, 200));
  await deploy({ ...access(), ref: 'weather@1.2.0', target: 'local' });
  assert.equal(await servedVersion(), '1.2.0');
  const back = await rollback({ ...access(), target: 'local', model: 'weather' });
  assert.equal(back.version, '1.1.0');
  assert.equal(back.previousVersion, '1.2.0');
  assert.match(
    back.steps.find((st) => st.step === 'smoke test')?.detail ?? '',
    /^20\/20 matched/,
    'rollback smoke-tests the version it switches to',
  );
  assert.equal(await servedVersion(), '1.1.0');
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await load;
  assert.deepEqual(failures, []);
  assert.ok(ok > 20, `only ${ok} requests ran`);
});

test('endpoints list health and what each target serves', async () => {
  const eps = await listEndpoints(access());
  const local = eps.find((e) => e.target === 'local')!;
  assert.equal(local.live, true);
  assert.equal(local.deployments[0].version, '1.1.0');
  assert.ok(local.models!.some((m) => m.version === '1.1.0' && m.active));
  const remote = eps.find((e) => e.target === 'remote')!;
  assert.equal(remote.live, false);
});

test('the server killed mid-deploy: a clear error, and after restart the previous version serves', async () => {
  const pid = readServerRecord(registry.storeDir, 'local')!.pid;
  await assert.rejects(
    deploy({
      ...access(),
      ref: 'weather@1.0.0',
      target: 'local',
      onStep: (e) => {
        if (e.step === 'smoke test' && e.status === 'running') process.kill(pid, 'SIGKILL');
      },
    }),
    (e: unknown) => {
      const text = record(e);
      assert.match(text, /target 'local'/);
      assert.match(text, /http:\/\/127\.0\.0\.1:\d+/);
      return true;
    },
  );
  // The next deploy starts a new server, which reloads what served before.
  const events: StepEvent[] = [];
  await deploy({ ...access(), ref: 'weather@1.1.0', target: 'local', onStep: (e) => events.push(e) });
  assert.notEqual(readServerRecord(registry.storeDir, 'local')!.pid, pid);
  const load = events.find((e) => e.step === 'load' && e.status === 'ok')!;
  assert.match(
    load.detail,
    /already loaded .*; 1\.1\.0 serves until the switch/,
    'the restarted server reloaded 1.1.0 as the active version',
  );
  assert.equal(await servedVersion(), '1.1.0');
});

test('protected http target: gates block without a reason; with one the upload deploy works', async () => {
  const remote = await startModelServer({
    port: 0,
    storeDir: join(tmp.dir, 'remote-store'),
    token: REMOTE_TOKEN,
    allowPathLoads: false,
  });
  try {
    config.deploy!.targets.remote.url = remote.url;
    await assert.rejects(deploy({ ...access(), ref: 'weather@1.0.0', target: 'remote' }), (e: unknown) =>
      /requires approval/.test(record(e)),
    );
    // A protected target needs an approval record as well as passing (or overridden) gates.
    await assert.rejects(
      deploy({ ...access(), ref: 'weather@1.0.0', target: 'remote', overrideReason: 'x' }),
      (e: unknown) => /has no approval/.test(record(e)),
    );
    for (const v of ['1.0.0', '1.1.0', '1.2.0'])
      registry.approve(`weather@${v}`, { scope: 'target', name: 'remote', comment: 'reviewed' });
    const r = await deploy({
      ...access(),
      ref: 'weather@1.0.0',
      target: 'remote',
      overrideReason: 'hotfix approved by ops',
    });
    assert.equal(r.deployment.reason, 'hotfix approved by ops');
    assert.ok(existsSync(join(tmp.dir, 'remote-store', 'bundles', 'weather', '1.0.0', 'weights.bin')));
    // Failing gates are named; an override is recorded on the version's gate report too.
    registry.recordGates('weather@1.2.0', {
      passed: false,
      evaluatedAt: new Date().toISOString(),
      override: null,
      results: [
        {
          metric: 'accuracy',
          expression: '>= 0.9',
          op: '>=',
          threshold: 0.9,
          actual: 0.5,
          passed: false,
          reference: null,
          message: 'accuracy 0.500 < 0.900',
        },
      ],
    });
    await assert.rejects(deploy({ ...access(), ref: 'weather@1.2.0', target: 'remote' }), (e: unknown) =>
      /fails its gates \(accuracy 0\.500 < 0\.900\)/.test(record(e)),
    );
    await deploy({
      ...access(),
      ref: 'weather@1.2.0',
      target: 'remote',
      overrideReason: 'known regression, fix in 1.2.1',
    });
    assert.equal(registry.getVersion('weather@1.2.0').gates!.override!.reason, 'known regression, fix in 1.2.1');
    // A wrong token is refused with a message that names the fix, not the token.
    const wrong = { ...access(), tokenFor: () => 'not-the-token' };
    await assert.rejects(
      deploy({ ...wrong, ref: 'weather@1.1.0', target: 'remote', overrideReason: 'x' }),
      (e: unknown) => /answered 403/.test(record(e)),
    );
  } finally {
    await remote.close();
  }
});

test('unreachable and slow endpoints fail with the target and URL named', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const downPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const slow: Server = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  try {
    config.deploy!.targets.down = {
      type: 'http',
      url: `http://127.0.0.1:${downPort}`,
      requireApproval: false,
      smokeTest: { rows: 5, tolerance: 1e-6 },
    };
    config.deploy!.targets.slow = {
      type: 'http',
      url: slowUrl,
      requireApproval: false,
      smokeTest: { rows: 5, tolerance: 1e-6 },
    };
    await assert.rejects(deploy({ ...access(), ref: 'weather@1.0.0', target: 'down' }), (e: unknown) => {
      const text = record(e);
      assert.match(text, new RegExp(`target 'down' at http://127.0.0.1:${downPort} did not answer`, 'i'));
      assert.match(text, /ECONNREFUSED/);
      return true;
    });
    await assert.rejects(
      deploy({ ...access(), ref: 'weather@1.0.0', target: 'slow', timeoutMs: 300 }),
      (e: unknown) => {
        const text = record(e);
        assert.ok(isModelOpsError(e) && e.code === 'endpoint-timeout', text);
        assert.match(text, /no answer within 300 ms/);
        assert.ok(text.includes(slowUrl));
        return true;
      },
    );
  } finally {
    slow.closeAllConnections();
    await new Promise<void>((r) => slow.close(() => r()));
  }
});

test('no token in the registry database, server logs, prediction logs or error messages', async () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(tmp.dir, '.modelops'));
  walk(join(tmp.dir, 'remote-store'));
  assert.ok(files.some((f) => f.endsWith('registry.db')));
  assert.ok(files.some((f) => f.endsWith('local.log')));
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const t of [TOKEN, REMOTE_TOKEN]) assert.equal(bytes.includes(t), false, `${f} contains a token`);
  }
  assert.ok(errors.length >= 5);
  for (const e of errors) for (const t of [TOKEN, REMOTE_TOKEN]) assert.ok(!e.includes(t), e);
});
