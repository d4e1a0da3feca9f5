/** The registry over JSON-RPC against the built sidecar (run `npm run build` first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { core, registry as rpc, type ParamsOf, type RequestType, type ResultOf } from '../../server/protocol';
import type { ChangedParams } from '../../server/protocol/core';
import { openRegistry } from '../../server/engine/registry';

const SERVER = resolve(__dirname, '..', '..', 'dist', 'server.js');

interface Sidecar {
  conn: MessageConnection;
  changes: ChangedParams[];
  request<T extends RequestType<unknown, unknown>>(type: T, params: ParamsOf<T>): Promise<ResultOf<T>>;
  waitForChange(pred: (c: ChangedParams) => boolean, timeoutMs?: number): Promise<ChangedParams>;
  stop(): Promise<void>;
}

async function startSidecar(root: string): Promise<Sidecar> {
  assert.ok(existsSync(SERVER), `${SERVER} is missing: run npm run build first`);
  const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const changes: ChangedParams[] = [];
  const waiters: Array<{ pred: (c: ChangedParams) => boolean; resolve: (c: ChangedParams) => void }> = [];
  conn.onNotification(core.changed.method, (p: ChangedParams) => {
    changes.push(p);
    for (const w of waiters.splice(0)) {
      if (w.pred(p)) w.resolve(p);
      else waiters.push(w);
    }
  });
  conn.onNotification(() => undefined);
  conn.onRequest(() => null);
  conn.listen();
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'ws' }],
    capabilities: {},
    initializationOptions: { trusted: true },
  });
  await conn.sendNotification('initialized', {});
  return {
    conn,
    changes,
    request: (type, params) => conn.sendRequest(type.method, params) as never,
    waitForChange(pred, timeoutMs = 5000) {
      const seen = changes.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolveP, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching modelops/changed within ${timeoutMs} ms; got ${JSON.stringify(changes)}; stderr: ${stderr}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ pred, resolve: (c) => (clearTimeout(timer), resolveP(c)) });
      });
    },
    async stop() {
      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
      await new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        const t = setTimeout(() => (child.kill('SIGKILL'), r()), 3000);
        child.on('exit', () => (clearTimeout(t), r()));
      });
      conn.dispose();
    },
  };
}

test('list, register, promote, gate refusal and change notifications over JSON-RPC', async () => {
  const root = mkdtempSync(join(tmpdir(), 'modelops-proto-reg-'));
  const side = await startSidecar(root);
  try {
    assert.deepEqual(await side.request(rpc.listModels, {}), []);
    // Listing alone does not create the workspace store.
    assert.equal(existsSync(join(root, '.modelops')), false);
    writeFileSync(join(root, 'model.pt'), 'weights one');
    writeFileSync(join(root, 'model2.pt'), 'weights two');
    const v1 = await side.request(rpc.registerVersion, {
      model: 'proto',
      source: 'model.pt',
      note: 'first',
      metrics: { accuracy: 0.91 },
    });
    assert.equal(v1.version, '1.0.0');
    await side.waitForChange((c) => c.kind === 'versions' && c.model === 'proto');
    const v2 = await side.request(rpc.registerVersion, {
      model: 'proto',
      source: join(root, 'model2.pt'),
      tags: ['candidate'],
    });
    assert.equal(v2.version, '1.1.0');

    const page = await side.request(rpc.listVersions, { model: 'proto', sort: 'version', order: 'desc', limit: 10 });
    assert.equal(page.total, 2);
    assert.deepEqual(
      page.items.map((v) => v.version),
      ['1.1.0', '1.0.0'],
    );
    assert.equal((await side.request(rpc.listVersions, { model: 'proto', filter: 'candid' })).total, 1);

    const move = await side.request(rpc.setAlias, {
      model: 'proto',
      alias: 'production',
      version: '1.0.0',
      reason: 'first release',
    });
    assert.deepEqual([move.fromVersion, move.toVersion], [null, '1.0.0']);
    await side.waitForChange((c) => c.kind === 'aliases' && c.model === 'proto');
    assert.equal((await side.request(rpc.getVersion, { ref: 'proto@production' })).version, '1.0.0');
    assert.deepEqual((await side.request(rpc.listModels, {}))[0].aliases, { production: '1.0.0' });

    // A failed gate report (written by another process) makes promotion refuse with the reason.
    const other = openRegistry(root);
    other.recordGates('proto@1.1.0', {
      passed: false,
      evaluatedAt: new Date().toISOString(),
      override: null,
      results: [
        {
          metric: 'accuracy',
          expression: '>= 0.95',
          op: '>=',
          threshold: 0.95,
          actual: 0.9,
          passed: false,
          reference: null,
          message: 'accuracy 0.900 < 0.950',
        },
      ],
    });
    other.close();
    await assert.rejects(
      side.request(rpc.setAlias, { model: 'proto', alias: 'production', version: '1.1.0' }),
      (e: Error & { code?: number; data?: { code?: string } }) =>
        e.message.includes('accuracy 0.900 < 0.950') && e.data?.code === 'gates-failed',
    );
    const forced = await side.request(rpc.setAlias, {
      model: 'proto',
      alias: 'production',
      version: '1.1.0',
      forceReason: 'accepted by QA',
    });
    assert.equal(forced.forceReason, 'accepted by QA');
    const history = await side.request(rpc.aliasHistory, { model: 'proto', alias: 'production' });
    assert.deepEqual(
      history.map((m) => [m.toVersion, m.forceReason]),
      [
        ['1.1.0', 'accepted by QA'],
        ['1.0.0', null],
      ],
    );
    const back = await side.request(rpc.rollbackAlias, { model: 'proto', alias: 'production' });
    assert.deepEqual([back.fromVersion, back.toVersion], ['1.1.0', '1.0.0']);

    const cmp = await side.request(rpc.compareVersions, { a: 'proto@1.0.0', b: 'proto@1.1.0' });
    assert.equal(cmp.sameArtifact, false);
    assert.deepEqual(cmp.metrics.accuracy, [0.91, null, null]);
    const lineage = await side.request(rpc.lineage, { ref: 'proto@1.1.0' });
    assert.deepEqual(
      lineage.ancestors.map((a) => a.version),
      ['1.0.0'],
    );
    assert.ok(lineage.lines.some((l) => l.label === 'artifact' && l.value.includes('torch')));
    const art = await side.request(rpc.artifactPath, { ref: 'proto@1.0.0' });
    assert.ok(art.path.startsWith(join(root, '.modelops', 'artifacts')));

    await assert.rejects(
      side.request(rpc.getVersion, { ref: 'nope@1.0.0' }),
      (e: Error & { data?: { code?: string } }) => e.data?.code === 'model-not-found' && e.message.includes("'nope'"),
    );
    await assert.rejects(side.request(rpc.deleteVersion, { ref: 'proto@1.0.0' }), /holds the alias production/);
    assert.deepEqual(await side.request(rpc.listRuns, {}), []);
    assert.deepEqual(await side.request(rpc.listDatasets, {}), []);
    assert.deepEqual(await side.request(rpc.listDeployments, {}), []);
    assert.deepEqual(await side.request(rpc.listAlerts, {}), []);

    // A write by another process (the CLI, say) reaches the tree as a change notification too.
    const before = side.changes.length;
    const cli = openRegistry(root);
    writeFileSync(join(root, 'model3.pt'), 'weights three');
    await cli.registerVersion({ model: 'from-cli', source: 'model3.pt' });
    cli.close();
    await side.waitForChange((c) => c.kind === 'models' && side.changes.indexOf(c) >= before, 5000);
    assert.ok((await side.request(rpc.listModels, {})).some((m) => m.name === 'from-cli'));

    // An alert recorded by a monitor run elsewhere is acknowledged from the editor: the counts drop.
    const mon = openRegistry(root);
    const recorded = mon.recordAlert({
      target: 'local',
      model: 'proto',
      version: '1.0.0',
      rule: 'we1',
      metric: 'accuracy',
      message: 'accuracy 0.4 beyond 3σ',
    });
    mon.close();
    const acked = await side.request(rpc.acknowledgeAlerts, { target: 'local' });
    assert.deepEqual(
      acked.map((a) => [a.id, a.acknowledged]),
      [[recorded.id, true]],
    );
    assert.deepEqual(await side.request(rpc.listAlerts, { unacknowledgedOnly: true }), []);
  } finally {
    await side.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a store created by another process while the sidecar shows an empty registry is picked up', async () => {
  const root = mkdtempSync(join(tmpdir(), 'modelops-proto-reg-'));
  const side = await startSidecar(root);
  try {
    assert.deepEqual(
      await side.request(rpc.listVersions, { model: 'x' }).catch((e: Error) => e.message),
      "No model named 'x' in the registry. — List models with `modelops versions list`, or register one with `modelops versions register <path> --model <name>`.",
    );
    const cli = openRegistry(root);
    writeFileSync(join(root, 'm.pt'), 'w');
    await cli.registerVersion({ model: 'late', source: 'm.pt' });
    cli.close();
    await side.waitForChange((c) => c.kind === 'models', 5000);
    assert.deepEqual(
      (await side.request(rpc.listModels, {})).map((m) => m.name),
      ['late'],
    );
  } finally {
    await side.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
