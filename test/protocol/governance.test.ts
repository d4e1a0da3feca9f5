/**
 * Governance over JSON-RPC against the built sidecar: explain (trust, progress, additivity,
 * importance stored and read back), fairness stored by evaluate, approvals refused and granted
 * exactly as the engine rules (separation of duties), a version's history with the chain's
 * verify status, and the model card filled from stored results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { governance, registry, training } from '../../server/protocol';
import { openRegistry } from '../../server/engine/registry';
import { startSidecar } from './client';
import { quarterSample, weatherConfig } from './weather';

// The weather sample (every 4th row) with a sensitive column that is not a feature.
const data = quarterSample({ column: 'site', value: (i) => (i % 3 === 0 ? 'north' : 'south') });
const config = weatherConfig({
  epochs: 2,
  units: 8,
  rest: `evaluate:
  metrics: [accuracy]
  fairness: { sensitive: [site], metrics: [accuracy], minGroupSize: 5 }
  gates: { accuracy: ">= 0.1", demographic_parity_difference: "<= 1" }
registry:
  protectedAliases: [production]
  separationOfDuties: true
`,
});

const codeOf = (e: unknown): string | undefined => (e as { data?: { code?: string } }).data?.code;

test('an untrusted workspace refuses Explain (it runs the model)', async () => {
  const c = await startSidecar({
    files: { 'modelops.yaml': config, 'data/weather.csv': data },
    initializationOptions: { trusted: false },
  });
  try {
    await assert.rejects(
      c.request(governance.explain, { ref: 'weather@1.0.0' }),
      (e: Error) => /untrusted workspace/.test(e.message) && codeOf(e) === 'untrusted-workspace',
    );
  } finally {
    await c.close();
  }
});

test('explain, fairness, approvals, history and the card through the sidecar', async () => {
  const c = await startSidecar({
    files: { 'modelops.yaml': config, 'data/weather.csv': data },
    env: { MODELOPS_ACTOR: 'Alice <alice@example.com>' },
  });
  try {
    const trained = await c.request(training.train, { configUri: c.uri('modelops.yaml') });
    const ref = `weather@${trained.version.version}`;
    assert.equal(trained.version.registeredBy, 'Alice <alice@example.com>');

    // Explain: work-done progress, additivity on every row, global importance stored with the version.
    const x = await c.request(governance.explain, { ref, background: 20, workDoneToken: 'explain-1' });
    const events = c.progress.filter((p) => p.token === 'explain-1').map((p) => p.value);
    assert.equal(events[0].kind, 'begin');
    assert.equal(events[0].cancellable, true);
    assert.equal(events.at(-1)?.kind, 'end');
    assert.equal(x.method, 'exact');
    assert.deepEqual(x.features, ['precipitation', 'temp_max', 'temp_min', 'wind']);
    assert.equal(x.outputs.length, 5);
    assert.ok(x.rows.length > 10);
    for (const row of x.rows) {
      for (let k = 0; k < x.outputs.length; k++) {
        const sum = x.base[k] + row.values.reduce((s, v) => s + v[k], 0);
        assert.ok(Math.abs(sum - row.output[k]) < 1e-6, `row ${row.id} output ${k}: ${sum} vs ${row.output[k]}`);
      }
      assert.equal(row.input.length, 4);
    }
    assert.ok(x.stored && existsSync(x.stored));
    assert.equal(x.permutation?.features.length, 4);
    const stored = await c.request(governance.storedImportance, { ref });
    assert.deepEqual(stored?.meanAbsShap.overall, x.meanAbsShap?.overall);

    // Fairness: training computed and stored the per-group report, evaluate stores it again; the
    // tree's status summarises its worst gap and gate.
    const fromTraining = await c.request(governance.storedFairness, { ref });
    assert.deepEqual(fromTraining?.report.sensitive, ['site']);
    const ev = await c.request(training.evaluate, { ref });
    assert.ok(ev.fairness);
    const fair = await c.request(governance.storedFairness, { ref });
    assert.deepEqual(fair?.report.sensitive, ['site']);
    assert.deepEqual(fair?.report.breakdowns[0].groups.map((g) => g.name).sort(), ['site=north', 'site=south']);
    let status = await c.request(governance.versionStatus, { model: 'weather' });
    assert.equal(status.fairness[trained.version.version].worst?.name.endsWith('_difference'), true);
    assert.deepEqual(
      status.fairness[trained.version.version].gates.map((g) => [g.metric, g.passed]),
      [['demographic_parity_difference', true]],
    );
    assert.deepEqual(status.protectedAliases, ['production']);
    assert.equal(status.separationOfDuties, true);
    assert.equal(status.actor, 'Alice <alice@example.com>');

    // Approvals: the editor path refuses alike — no approval, then the author's own.
    await assert.rejects(
      c.request(registry.setAlias, { model: 'weather', alias: 'production', version: trained.version.version }),
      (e: Error) => codeOf(e) === 'approval-required' && e.message.includes(`modelops approve ${ref} --for production`),
    );
    await assert.rejects(
      c.request(governance.approve, { ref, for: 'production', comment: 'mine' }),
      (e: Error) => codeOf(e) === 'approval-by-author' && /separation of duties/.test(e.message),
    );
    await assert.rejects(
      c.request(governance.approve, { ref: 'weather@9.9.9', for: 'production' }),
      (e: Error) => codeOf(e) === 'version-not-found',
    );
    // A name nothing asks an approval for: refused as `modelops approve` refuses it, with a guess.
    await assert.rejects(
      c.request(governance.approve, { ref, for: 'prodction' }),
      (e: Error) =>
        codeOf(e) === 'approval-unused' && /neither a protected alias .* Did you mean 'production'\?/.test(e.message),
    );
    // Another person approves (as the CLI would); the sidecar then lets the alias move.
    const reviewer = openRegistry(c.workspace, { actor: 'Bob <bob@example.com>' });
    try {
      reviewer.approve(ref, { scope: 'alias', name: 'production', comment: 'reviewed the explanation and fairness' });
    } finally {
      reviewer.close();
    }
    status = await c.request(governance.versionStatus, { model: 'weather' });
    assert.deepEqual(
      status.approvals.map((a) => [a.approver, a.name, a.valid]),
      [['Bob <bob@example.com>', 'production', true]],
    );
    const move = await c.request(registry.setAlias, {
      model: 'weather',
      alias: 'production',
      version: trained.version.version,
      reason: 'ship it',
    });
    assert.equal(move.toVersion, trained.version.version);

    // History: the version's audit entries, oldest first, and an intact chain.
    const h = await c.request(governance.history, { ref });
    const actions = h.entries.map((e) => e.action);
    assert.deepEqual(
      actions.filter((a) => ['version.register', 'approval.grant', 'alias.set'].includes(a)),
      ['version.register', 'approval.grant', 'alias.set'],
    );
    assert.ok(h.entries.every((e, i) => i === 0 || e.seq > h.entries[i - 1].seq));
    assert.equal(h.entries.find((e) => e.action === 'approval.grant')?.actor, 'Bob <bob@example.com>');
    assert.equal(h.verification.ok, true);
    assert.equal(h.verification.firstBad, null);

    // The card: fairness and explanations filled from what is stored.
    const card = await c.request(governance.card, { ref });
    assert.match(card.markdown, /## Fairness by group/);
    assert.doesNotMatch(card.markdown, /Not computed/);
    assert.match(card.markdown, /## Fairness by site/);
    assert.match(card.markdown, /\| temp\\_max \| \d/);
    assert.match(card.markdown, /demographic\\_parity\\_difference\*\*: [\d.]+ \\\(&lt;= 1: passed\\\)/);
  } finally {
    await c.close();
  }
});
