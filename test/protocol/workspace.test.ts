/**
 * The workspace requests the extension's commands use, against the built sidecar: the sample
 * into an empty folder, deploy targets from the config, and the config a version was
 * registered with (served to the diff editor as `modelops-config:` documents): the copy kept in
 * the workspace store, else the workspace file or git by digest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { registry, workspace, type ParamsOf, type RequestType, type ResultOf } from '../../server/protocol';

const SERVER = resolve(__dirname, '..', '..', 'dist', 'server.js');

test(
  'workspace requests: sample, targets, and a version’s config (stored, then by digest: workspace, git, none)',
  { timeout: 20_000 },
  async () => {
    assert.ok(existsSync(SERVER), `${SERVER} is missing: run npm run build first`);
    const root = mkdtempSync(join(tmpdir(), 'modelops-ws-'));
    const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    conn.onNotification(() => undefined);
    conn.onRequest(() => null);
    conn.listen();
    const request = <T extends RequestType<unknown, unknown>>(type: T, params: ParamsOf<T>): Promise<ResultOf<T>> =>
      conn.sendRequest(type.method, params) as Promise<ResultOf<T>>;
    try {
      await conn.sendRequest('initialize', {
        processId: process.pid,
        rootUri: pathToFileURL(root).href,
        workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'ws' }],
        capabilities: {},
        initializationOptions: { trusted: true },
      });
      await conn.sendNotification('initialized', {});

      // The sample goes into an empty folder only.
      const sample = await request(workspace.openSample, { folder: root });
      assert.ok(existsSync(join(root, 'data', 'seattle-weather.csv')));
      await assert.rejects(request(workspace.openSample, { folder: root }), /already has a modelops\.yaml/);

      // Targets come from the config, with approval and the secret's name (never a token).
      const targets = await request(workspace.targets, {});
      assert.deepEqual(
        targets.find((t) => t.name === 'local'),
        {
          name: 'local',
          type: 'local',
          url: 'http://127.0.0.1:8765',
          origin: null,
          requireApproval: false,
          tokenSecret: null,
          secret: 'local',
        },
      );

      // A version registered with this config keeps it in the workspace store: its text comes
      // back over JSON-RPC after the file on disk has changed.
      writeFileSync(join(root, 'model.pt'), Buffer.alloc(512, 3));
      const config = readFileSync(sample.configPath, 'utf8');
      const v1 = await request(registry.registerVersion, {
        model: 'm',
        source: join(root, 'model.pt'),
        configPath: sample.configPath,
      });
      const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
      assert.equal(v1.configDigest, digest);
      const edited = config.replace('epochs: 40', 'epochs: 39');
      assert.notEqual(edited, config);
      writeFileSync(sample.configPath, edited);
      assert.deepEqual(await request(registry.configText, { ref: 'm' }), {
        ref: 'm@1.0.0',
        configDigest: digest,
        text: config,
      });
      assert.deepEqual(await request(workspace.versionConfig, { ref: 'm@1.0.0' }), {
        ref: 'm@1.0.0',
        digest,
        text: config,
        source: 'registry',
        note: 'the config m@1.0.0 was registered with (kept in the workspace store)',
      });
      await assert.rejects(request(registry.configText, { ref: 'm@9.9.9' }), /No version m@9\.9\.9/);

      // Versions registered before configs were kept have the digest but no stored copy (removing
      // the blob makes exactly that store): the current file serves while its digest matches…
      const blob = join(root, '.modelops', 'artifacts', 'sha256', digest.slice(7, 9), digest.slice(9));
      const forget = (): void => rmSync(blob, { force: true });
      forget();
      writeFileSync(sample.configPath, config);
      assert.deepEqual(await request(registry.configText, { ref: 'm@1.0.0' }), {
        ref: 'm@1.0.0',
        configDigest: digest,
        text: null,
      });
      assert.deepEqual(await request(workspace.versionConfig, { ref: 'm@1.0.0' }), {
        ref: 'm@1.0.0',
        digest,
        text: config,
        source: 'workspace',
        note: `modelops.yaml in the workspace (unchanged since m@1.0.0)`,
      });

      // …then git at the version's commit.
      const git = (...args: string[]): void => {
        const r = spawnSync('git', ['-c', 'user.email=t@e', '-c', 'user.name=t', ...args], {
          cwd: root,
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
      };
      writeFileSync(join(root, '.gitignore'), '.modelops/\n');
      git('init', '-q');
      git('add', 'modelops.yaml', '.gitignore');
      git('commit', '-q', '-m', 'config');
      writeFileSync(join(root, 'model.pt'), Buffer.alloc(512, 4));
      const v2 = await request(registry.registerVersion, {
        model: 'm',
        source: join(root, 'model.pt'),
        configPath: sample.configPath,
      });
      assert.ok(v2.gitCommit && v1.configDigest === v2.configDigest);
      forget();
      writeFileSync(sample.configPath, config.replace('epochs: 40', 'epochs: 41'));
      const fromGit = await request(workspace.versionConfig, { ref: `m@${v2.version}` });
      assert.equal(fromGit.source, 'git');
      assert.equal(fromGit.text, config);
      // v1 was registered before the repository existed: no way to recover it now.
      const none = await request(workspace.versionConfig, { ref: 'm@1.0.0' });
      assert.equal(none.source, 'none');
      assert.equal(none.text, null);
      assert.match(none.note, /neither the current modelops\.yaml nor committed in git/);

      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
    } finally {
      conn.dispose();
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  },
);
