/**
 * The extension ↔ sidecar contract: one naming scheme, trust declared on the request. The wire
 * snapshot (docs/protocol.md) is checked by snapshot.slow.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protocol from '../../../server/protocol';

const DOMAINS = ['core', 'workspace', 'registry', 'training', 'deploy'] as const;

function messages(): Array<{
  domain: string;
  name: string;
  kind: string;
  method: string;
  requiresTrust?: boolean;
  direction?: string;
}> {
  return DOMAINS.flatMap((domain) =>
    Object.entries(protocol[domain] as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'object' && v !== null && 'method' in v)
      .map(([name, v]) => ({
        domain,
        name,
        ...(v as { kind: string; method: string; requiresTrust?: boolean; direction?: string }),
      })),
  );
}

test('every method is modelops/<domain>/<name>, named after the file that declares it, and unique', () => {
  const all = messages();
  assert.ok(all.length > 30);
  for (const m of all)
    assert.match(m.method, new RegExp(`^modelops/${m.domain}/[a-z][A-Za-z]*$`), `${m.domain}.${m.name}`);
  assert.equal(new Set(all.map((m) => m.method)).size, all.length, 'no method is declared twice');
});

test('what runs workspace-named things declares requiresTrust; notifications say their direction', () => {
  const trusted = messages()
    .filter((m) => m.kind === 'request' && m.requiresTrust)
    .map((m) => m.method)
    .sort();
  assert.deepEqual(trusted, [
    'modelops/deploy/deploy',
    'modelops/deploy/rollback',
    'modelops/registry/confirmNewRegistry',
    'modelops/registry/importVersion',
    'modelops/training/evaluate',
    'modelops/training/predictFile',
    'modelops/training/train',
  ]);
  for (const m of messages().filter((x) => x.kind === 'notification'))
    assert.ok(m.direction === 'toServer' || m.direction === 'toClient', m.method);
});

test('error codes: one list, kebab-case, unique; the model server maps them to statuses through one table', async () => {
  const { ERROR_CODES, isErrorCode } = await import('../../../shared/errorCodes');
  const { httpStatusOf } = await import('../../../server/engine/errors');
  for (const c of ERROR_CODES) assert.match(c, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, c);
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  assert.equal(isErrorCode('gates-failed'), true);
  assert.equal(isErrorCode('spc.baseline'), false);
  assert.equal(httpStatusOf('not-loaded'), 404);
  assert.equal(httpStatusOf('version-serving'), 409);
  assert.equal(httpStatusOf('bundle-digest'), 422);
  assert.equal(httpStatusOf('bad-input'), 400);
});
