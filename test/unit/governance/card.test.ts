import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cardCommand } from '../../../server/cli/commands/card';
import { buildModelCard, renderCardHtml, renderCardMarkdown, mdText } from '../../../server/engine/governance/card';
import { ALICE, as, runCli, tempWorkspace } from './helpers';
import { recordActive } from '../fixtures/deployments';

const XSS = `<script>alert(1)</script><img src=x onerror=alert(2)>"'\`](javascript:alert(3))`;

const CONFIG = `version: 1
project: weather
data:
  train: d.csv
  target: weather
  features: [temp_max, wind]
  split: { train: 0.8, validation: 0.1, test: 0.1, seed: 7 }
model:
  name: weather
  task: classification
  card:
    owner: "Forecast team ${XSS.replace(/"/g, '\\"')}"
    intendedUse: [Daily summaries]
    outOfScopeUses: [Severe-weather warnings]
    ethicalConsiderations: [No personal data]
    caveats: [Seattle only]
`;

async function workspace() {
  const ws = tempWorkspace('modelops-card-');
  ws.file('modelops.yaml', CONFIG);
  ws.file('d.csv', 'temp_max,wind,weather\n1,2,rain\n');
  ws.file('model.pt', 'weights');
  const reg = as(ws, ALICE);
  const ds = reg.recordDataset({
    digest: `sha256:${'a'.repeat(64)}`,
    path: 'd.csv',
    rows: 1,
    columns: [
      { name: 'temp_max', type: 'number' },
      { name: 'wind', type: 'number' },
      { name: 'weather', type: 'string' },
    ],
  });
  await reg.registerVersion({
    model: 'weather',
    source: 'model.pt',
    configPath: 'modelops.yaml',
    note: XSS,
    tags: ['t<b>'],
    metrics: { accuracy: 0.91 },
    datasets: [{ role: 'train', path: 'd.csv', digest: ds.digest }],
  });
  reg.recordGates('weather@1.0.0', {
    passed: true,
    evaluatedAt: '2024-01-01T00:00:00.000Z',
    override: null,
    results: [
      {
        metric: 'accuracy',
        expression: '>= 0.9',
        op: '>=',
        threshold: 0.9,
        actual: 0.91,
        passed: true,
        reference: null,
        message: 'accuracy 0.910 ≥ 0.900',
      },
    ],
  });
  reg.close();
  const bob = as(ws, `Bob ${XSS}`);
  bob.approve('weather@1.0.0', { scope: 'alias', name: 'production', comment: XSS });
  recordActive(bob, 'local', 'weather@1.0.0', XSS);
  return { ws, reg: bob };
}

test('the card has the sections of Mitchell et al. (2019), from the registry and model.card', async () => {
  const { ws, reg } = await workspace();
  try {
    const card = await buildModelCard(reg, 'weather@1.0.0');
    assert.equal(card.cardSource, 'version config');
    assert.deepEqual(card.features, ['temp_max', 'wind']);
    assert.equal(card.gateState, 'passed');
    assert.equal(card.approvals.length, 1);
    assert.equal(card.deployments.length, 1);
    const md = renderCardMarkdown(card);
    for (const h of [
      'Model details',
      'Intended use',
      'Out-of-scope uses',
      'Training and evaluation data',
      'Metrics and gates',
      'Fairness by group',
      'Global explanations',
      'Ethical considerations',
      'Caveats and recommendations',
      'Approvals',
      'Audit entries',
      'Deployment history',
    ]) {
      assert.match(md, new RegExp(`^## ${h}$`, 'm'), h);
    }
    assert.match(md, /Not computed: per-group metrics/);
    assert.match(md, /Severe-weather warnings/);
    assert.match(md, /train 0\.8, validation 0\.1, test 0\.1 \\\(seed 7/);
    assert.match(md, /sha256:a{64}/);
    assert.match(md, /accuracy 0\.910 ≥ 0\.900/);
    assert.match(md, /approval\.grant/);
    // Stored strings are shown as typed, never as HTML or links.
    assert.doesNotMatch(md, /<script|<img|\]\(javascript/);
    assert.equal(mdText('[x](javascript:y)'), '\\[x\\]\\(javascript:y\\)');
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('the HTML card is self-contained under a strict CSP and escapes every stored string (XSS)', async () => {
  const { ws, reg } = await workspace();
  try {
    const html = renderCardHtml(await buildModelCard(reg, 'weather@1.0.0'));
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    assert.ok(csp);
    const policy = csp[1].replace(/&#39;/g, "'");
    assert.match(
      policy,
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'; base-uri 'none'; form-action 'none'$/,
    );
    assert.doesNotMatch(policy, /script-src|unsafe/);
    // No markup from stored strings: only the page's own tags appear.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1].toLowerCase()));
    assert.deepEqual(
      [...tags].filter(
        (t) =>
          ![
            'html',
            'head',
            'meta',
            'title',
            'style',
            'body',
            'h1',
            'h2',
            'p',
            'section',
            'dl',
            'dt',
            'dd',
            'ul',
            'li',
            'table',
            'thead',
            'tbody',
            'tr',
            'th',
            'td',
          ].includes(t),
      ),
      [],
    );
    assert.doesNotMatch(html, /<script|<img/i);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.doesNotMatch(html, /<[^>]*\b(src|href)=/);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('modelops card writes Markdown or HTML by --out, and names a missing version', async () => {
  const { ws, reg } = await workspace();
  reg.close();
  try {
    const md = await runCli(cardCommand, ws.root, ['weather@1.0.0', '--out', 'card.md']);
    assert.equal(md.code, 0, md.err);
    assert.match(readFileSync(join(ws.root, 'card.md'), 'utf8'), /^# Model card: weather@1\.0\.0/);
    const html = await runCli(cardCommand, ws.root, ['weather@1.0.0', '--out', 'card.html']);
    assert.equal(html.code, 0, html.err);
    assert.match(readFileSync(join(ws.root, 'card.html'), 'utf8'), /^<!DOCTYPE html>/);
    const bad = await runCli(cardCommand, ws.root, ['weather@1.0.0', '--out', 'card.pdf']);
    assert.equal(bad.code, 1);
    assert.ok(!existsSync(join(ws.root, 'card.pdf')));
    const missing = await runCli(cardCommand, ws.root, ['weather@3.0.0']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /No version weather@3\.0\.0/);
  } finally {
    ws.cleanup();
  }
});
