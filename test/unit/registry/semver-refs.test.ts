import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bump,
  bumpKind,
  compareSemver,
  nextVersion,
  parseSemver,
  requireSemver,
  canonicalJson,
} from '../../../server/engine/registry/semver';
import { parseRef, validateAlias, validateModelName } from '../../../server/engine/registry/refs';
import { ModelOpsError } from '../../../server/engine/errors';
import { openRegistry } from '../../../server/engine/registry';
import { signatureA, signatureB, tempWorkspace } from './helpers';

test('semver parses MAJOR.MINOR.PATCH only and orders numerically', () => {
  assert.deepEqual(parseSemver('1.2.3'), [1, 2, 3]);
  for (const bad of ['1.2', '01.2.3', '1.2.3-beta', 'a.b.c', '1.2.3.4', '', ' 1.2.3'])
    assert.equal(parseSemver(bad), null, bad);
  assert.ok(compareSemver('1.10.0', '1.9.9') > 0);
  assert.ok(compareSemver('2.0.0', '10.0.0') < 0);
  assert.equal(compareSemver('1.2.3', '1.2.3'), 0);
  assert.deepEqual(requireSemver('v2.0.1'), [2, 0, 1]);
  assert.throws(
    () => requireSemver('1.2'),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'invalid-version' && e.message.includes("'1.2'"),
  );
});

test('bump rules: signature → major, artifact → minor, same artifact → patch', () => {
  const sig = canonicalJson(signatureA);
  const latest = { version: '1.4.2', signature: sig, artifactDigest: 'sha256:aa' };
  assert.equal(bumpKind(latest, { signature: canonicalJson(signatureB), artifactDigest: 'sha256:bb' }), 'major');
  assert.equal(bumpKind(latest, { signature: sig, artifactDigest: 'sha256:bb' }), 'minor');
  assert.equal(bumpKind(latest, { signature: sig, artifactDigest: 'sha256:aa' }), 'patch');
  // An unknown signature on either side is not evidence of a change.
  assert.equal(bumpKind(latest, { signature: null, artifactDigest: 'sha256:bb' }), 'minor');
  assert.equal(bump('1.4.2', 'major'), '2.0.0');
  assert.equal(bump('1.4.2', 'minor'), '1.5.0');
  assert.equal(bump('1.4.2', 'patch'), '1.4.3');
  assert.equal(nextVersion(null, { signature: null, artifactDigest: 'x' }), '1.0.0');
  // Key order does not make a signature "different".
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), canonicalJson({ a: [{ c: 2, d: 1 }], b: 1 }));
});

test('refs: model@version, model@alias, model; names are validated', () => {
  assert.deepEqual(parseRef('weather@1.2.0'), { model: 'weather', version: '1.2.0' });
  assert.deepEqual(parseRef('weather@v1.2.0'), { model: 'weather', version: '1.2.0' });
  assert.deepEqual(parseRef('weather@production'), { model: 'weather', alias: 'production' });
  assert.deepEqual(parseRef('weather-classifier.v2'), { model: 'weather-classifier.v2' });
  for (const bad of [
    '../etc',
    'a/b',
    'A',
    '.hidden',
    '-x',
    'a..b',
    'x'.repeat(65),
    'm@',
    'm@1.2',
    'm@../x',
    '',
    'a\\b',
  ]) {
    assert.throws(() => parseRef(bad), ModelOpsError, bad);
  }
  assert.equal(validateModelName('x'.repeat(64)), 'x'.repeat(64));
  assert.throws(() => validateModelName('con/..'), ModelOpsError);
  assert.throws(() => validateAlias('1prod'), ModelOpsError);
  assert.equal(validateAlias('champion'), 'champion');
});

test('registerVersion applies the bump rules and refuses duplicate or invalid explicit versions', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('a.pt', 'weights-a');
    ws.file('b.pt', 'weights-b');
    const v1 = await reg.registerVersion({ model: 'm', source: 'a.pt', signature: signatureA });
    assert.equal(v1.version, '1.0.0');
    assert.equal(v1.parentVersion, null);
    assert.equal(
      (await reg.registerVersion({ model: 'm', source: 'a.pt', signature: signatureA, note: 'metadata only' })).version,
      '1.0.1',
    );
    const v3 = await reg.registerVersion({ model: 'm', source: 'b.pt', signature: signatureA });
    assert.equal(v3.version, '1.1.0');
    assert.equal(v3.parentVersion, '1.0.1');
    assert.equal((await reg.registerVersion({ model: 'm', source: 'b.pt', signature: signatureB })).version, '2.0.0');
    assert.equal((await reg.registerVersion({ model: 'm', source: 'a.pt', version: '5.0.0' })).version, '5.0.0');
    // Bumps continue from the highest version.
    assert.equal((await reg.registerVersion({ model: 'm', source: 'a.pt' })).version, '5.0.1');
    await assert.rejects(
      reg.registerVersion({ model: 'm', source: 'a.pt', version: '1.1.0' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'version-exists' && e.message.includes('m@1.1.0'),
    );
    await assert.rejects(
      reg.registerVersion({ model: 'm', source: 'a.pt', version: '1.1' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'invalid-version',
    );
    await assert.rejects(
      reg.registerVersion({ model: '../evil', source: 'a.pt' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'invalid-model-name',
    );
    await assert.rejects(
      reg.registerVersion({ model: 'm', source: 'missing.pt' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'artifact-not-found' && e.message.includes('missing.pt'),
    );
    assert.equal(reg.getVersion('m').version, '5.0.1');
    assert.deepEqual(
      reg.listModels().map((m) => [m.name, m.versionCount, m.latestVersion]),
      [['m', 6, '5.0.1']],
    );
  } finally {
    reg.close();
    ws.cleanup();
  }
});
