import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChartDelivery } from '../../../extension/panels/delivery';
import type { AppendMessage, HostToWebview, InitMessage } from '../../../webview/protocol';

const control = (title: string): InitMessage =>
  ({
    type: 'init',
    kind: 'control',
    title,
    data: { windows: [], center: 0, ucl: 1, lcl: -1 },
  }) as unknown as InitMessage;
const epoch = (step: number): AppendMessage => ({
  type: 'append',
  kind: 'runMetrics',
  runId: 'r1',
  points: [{ step, metrics: { loss: 1 / step } }],
});
const run = (title: string): InitMessage => ({ type: 'init', kind: 'runMetrics', title, data: { runs: [] } });

/** A page of a panel: what it received since it was loaded. */
function harness() {
  let page: HostToWebview[] = [];
  const d = new ChartDelivery((m) => page.push(m));
  return {
    d,
    received: () => page,
    /** VS Code dropped the page (a background tab without retained context) and loads a new one. */
    reload: () => {
      page = [];
    },
  };
}

test('messages wait for the first ready, then arrive in order', () => {
  const h = harness();
  h.d.post(run('weather-classifier · training'));
  h.d.post(epoch(1));
  assert.deepEqual(h.received(), []);
  h.d.ready();
  assert.deepEqual(
    h.received().map((m) => m.type),
    ['init', 'append'],
  );
  h.d.post(epoch(2));
  assert.equal(h.received().length, 3);
});

// Issue 16: a panel hidden behind another one lost its page; the second Check Drift posted the new
// data into the void, and the reloaded page said `ready` to a host whose queue was empty, so it
// stayed on "Loading chart…". Every ready must get the current dataset.
test('a page reloaded after the panel was hidden and retargeted gets the current dataset', () => {
  const h = harness();
  h.d.post(control('first check'));
  h.d.ready();
  h.reload(); // hidden: the page is gone
  h.d.post(control('second check')); // lost: no page listens
  h.reload();
  h.d.ready(); // shown again: a fresh page
  const got = h.received();
  assert.equal(got.length, 1);
  assert.equal(got[0].type === 'init' && got[0].title, 'second check');
});

test('a reloaded training page gets the init and every epoch appended since, not older runs', () => {
  const h = harness();
  h.d.post(run('old'));
  h.d.post(epoch(1));
  h.d.ready();
  h.d.post(run('weather-classifier · training'));
  for (let i = 1; i <= 3; i++) h.d.post(epoch(i));
  h.reload();
  h.d.ready();
  const got = h.received();
  assert.equal(got[0].type === 'init' && got[0].title, 'weather-classifier · training');
  assert.deepEqual(
    got.slice(1).map((m) => (m.type === 'append' && m.kind === 'runMetrics' ? m.points[0].step : -1)),
    [1, 2, 3],
  );
});

test('appends of another kind, or before any init, are not replayed', () => {
  const h = harness();
  h.d.post(epoch(1));
  h.d.post(control('c'));
  h.d.post(epoch(2));
  h.d.ready();
  assert.deepEqual(
    h.received().map((m) => m.type),
    ['init'],
  );
});

test('an export asked for before the page is live is sent once it is', () => {
  const h = harness();
  h.d.post(control('c'));
  h.d.post({ type: 'export', format: 'png' });
  h.d.ready();
  assert.deepEqual(
    h.received().map((m) => m.type),
    ['init', 'export'],
  );
  h.reload();
  h.d.ready();
  assert.deepEqual(
    h.received().map((m) => m.type),
    ['init'],
  );
});
