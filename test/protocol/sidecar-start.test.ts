/**
 * The sidecar starts the way the extension starts it: the runtime from resolveSidecarRuntime
 * (the same function extension/client.ts uses), Node IPC transport, dist/server.js. It must
 * answer initialize and modelops/status, and load better-sqlite3 (a registry request opens
 * .modelops/registry.db). Needs `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { core, registry, workspace } from '../../server/protocol';
import type { SidecarStatus } from '../../server/protocol/core';
import type { ModelRecord, VersionRecord } from '../../server/engine/registry/types';
import type { InitResult } from '../../server/protocol/workspace';
import { resolveSidecarRuntime } from '../../extension/sidecarRuntime';

const SERVER = resolve(__dirname, '..', '..', 'dist', 'server.js');

test(
  'the sidecar starts on the resolved runtime over IPC, answers status, and loads better-sqlite3',
  { timeout: 20_000 },
  async () => {
    assert.ok(existsSync(SERVER), `${SERVER} is missing: run npm run build first`);
    const runtime = resolveSidecarRuntime({ execPath: process.execPath });
    // On this machine `node` is on PATH: the extension uses it, not its own runtime.
    assert.equal(runtime.source, 'path');
    const abi = spawnSync(runtime.path, ['-p', 'process.version + " (modules " + process.versions.modules + ")"'], {
      encoding: 'utf8',
    }).stdout.trim();

    const root = mkdtempSync(join(tmpdir(), 'modelops-start-'));
    // Exactly what vscode-languageclient does for { module, transport: ipc, runtime }.
    const child = spawn(runtime.path, [SERVER, '--node-ipc', `--clientProcessId=${process.pid}`], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.onNotification(() => undefined);
    conn.onRequest(() => null);
    conn.listen();
    try {
      const init = (await conn.sendRequest('initialize', {
        processId: process.pid,
        rootUri: pathToFileURL(root).href,
        workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'ws' }],
        capabilities: {},
        initializationOptions: { trusted: false },
      })) as { serverInfo?: { name: string }; capabilities: Record<string, unknown> };
      assert.equal(init.serverInfo?.name, 'modelops-sidecar');
      assert.ok(init.capabilities.hoverProvider, 'the sidecar announces its language features');
      await conn.sendNotification('initialized', {});

      const status = (await conn.sendRequest(core.status.method, {})) as SidecarStatus;
      assert.equal(status.runtime, abi, 'the sidecar runs on the resolved Node');
      assert.equal(status.workspaceRoot, root);
      assert.equal(status.trusted, false);

      // Trust granted after start-up reaches the sidecar.
      await conn.sendNotification(core.setTrust.method, { trusted: true });
      const after = (await conn.sendRequest(core.status.method, {})) as SidecarStatus;
      assert.equal(after.trusted, true);

      // Registering writes SQLite: better-sqlite3's native addon loads in this runtime.
      writeFileSync(join(root, 'm.pt'), Buffer.alloc(64, 1));
      const v = (await conn.sendRequest(registry.registerVersion.method, {
        model: 'm',
        source: join(root, 'm.pt'),
      })) as VersionRecord;
      assert.equal(v.version, '1.0.0');
      assert.ok(existsSync(join(root, '.modelops', 'registry.db')), 'registry.db was created');
      const models = (await conn.sendRequest(registry.listModels.method, {})) as ModelRecord[];
      assert.deepEqual(
        models.map((m) => m.name),
        ['m'],
      );

      // The init request the "Create modelops.yaml" command uses.
      const written = (await conn.sendRequest(workspace.init.method, { folder: root })) as InitResult;
      assert.equal(written.configPath, join(root, 'modelops.yaml'));
      assert.ok(existsSync(join(root, 'data', 'seattle-weather.csv')));
      await assert.rejects(conn.sendRequest(workspace.init.method, { folder: root }), /already exists/);

      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
      const code = await new Promise<number | null>((r) => {
        if (child.exitCode !== null) return r(child.exitCode);
        child.once('exit', (c) => r(c));
      });
      assert.equal(code, 0, `the sidecar exits cleanly after shutdown/exit; stderr: ${stderr}`);
    } finally {
      conn.dispose();
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  },
);
