/**
 * The extension ↔ sidecar contract: one naming scheme, trust declared on the request. The wire
 * snapshot (docs/protocol.md) is checked by snapshot.slow.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protocol from '../../../server/protocol';

const DOMAINS = ['core', 'workspace', 'registry', 'training', 'deploy'] as const;

function messages(): Array<{ domain: string; name: string; kind: string; method: string; requiresTrust?: boolean; direction?: string }> {
  return DOMAINS.flatMap((domain) =>
    Object.entries(protocol[domain] as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'object' && v !== null && 'method' in v)
      .map(([name, v]) => ({ domain, name, ...(v as { kind: string; method: string; requiresTrust?: boolean; direction?: string }) })),
  );
}

test('every method is modelops/<domain>/<name>, named after the file that declares it, and unique', () => {
  const all = messages();
  assert.ok(all.length > 30);
  for (const m of all) assert.match(m.method, new RegExp(`^modelops/${m.domain}/[a-z][A-Za-z]*$`), `${m.domain}.${m.name}`);
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
    'modelops/training/evaluate',
    'modelops/training/train',
  ]);
  for (const m of messages().filter((x) => x.kind === 'notification')) assert.ok(m.direction === 'toServer' || m.direction === 'toClient', m.method);
});
