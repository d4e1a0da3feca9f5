import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { MonitorConfig } from '../../../server/engine/config/types';
import { monitor } from '../../../server/engine/monitoring/monitor';
import {
  liveConfigFromMonitor,
  WindowAccumulator,
  type LiveAlert,
  type LiveWindow,
} from '../../../server/engine/monitoring/live/window';
import { makeBundle, tempDir } from '../serving/fixtures';
import { runConfig } from '../fixtures/config';
import { LABELS, syntheticModel } from './synthetic';

// The live window and the batch monitor score with the same functions: the same predictions and
// feedback, written to a log for the batch monitor and fed to the accumulator as the server
// does, give the same windows, drift decisions and rule alerts.

const CATS = ['red', 'green', 'blue', 'grey'];
const model = syntheticModel();

interface Req {
  id: string;
  time: number;
  latencyMs: number;
  inputs: { x: number[]; c: string[] };
  pred: string[];
  truth: string[];
}

/** 600 requests of 5 rows; accuracy collapses in windows 22–23, the inputs drift from request 400 on. */
function traffic(): Req[] {
  const out: Req[] = [];
  for (let q = 0; q < 600; q++) {
    const rows = Array.from({ length: 5 }, (_, k) => q * 5 + k);
    const shift = q >= 400 ? 4 : 0;
    const pred = rows.map((i) => LABELS[(i * 7) % 3]);
    const bad = q >= 440 && q < 480;
    const truth = rows.map((i, k) =>
      bad
        ? LABELS[(((i * 7) % 3) + 1) % 3]
        : (LABELS[(((i * 7) % 3) + (i % 5 === 0 && q % 3 === 0 ? 1 : 0)) % 3] ?? pred[k]),
    );
    out.push({
      id: `r${q}`,
      time: Date.UTC(2026, 0, 1) + q * 1000,
      latencyMs: (q % 13) / 4,
      inputs: {
        x: rows.map((i) => ((i * 37) % 100) / 10 + shift),
        c: rows.map((i) => CATS[(i + (shift ? 1 : 0)) % 4]),
      },
      pred,
      truth,
    });
  }
  return out;
}

test('the same predictions and feedback give the live window what the batch monitor gives', async () => {
  const tmp = tempDir('live-batch');
  const registry = openRegistry(join(tmp.dir, 'ws'));
  try {
    await makeBundle(join(tmp.dir, 'bundle'), 1);
    await registry.registerVersion({
      model: 'weather',
      source: join(tmp.dir, 'bundle'),
      version: '1.0.0',
      format: 'modelops-tfjs',
    });
    const mc: MonitorConfig = {
      target: 'local',
      window: 100,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] },
      drift: { test: 'auto', window: 300 },
      alerts: { notify: false },
    } as MonitorConfig;
    const config = runConfig({ project: 'live-batch', monitor: mc });
    const reqs = traffic();
    // Batch: the log as the server writes it, each feedback right after its request.
    const logDir = join(tmp.dir, 'log');
    mkdirSync(logDir);
    const lines: string[] = [];
    for (const r of reqs) {
      lines.push(
        JSON.stringify({
          type: 'prediction',
          id: r.id,
          time: new Date(r.time).toISOString(),
          version: '1.0.0',
          latencyMs: r.latencyMs,
          inputs: r.inputs,
          outputs: { label: r.pred },
        }),
      );
      lines.push(JSON.stringify({ type: 'feedback', id: r.id, time: new Date(r.time).toISOString(), labels: r.truth }));
    }
    writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
    const batch = await monitor({
      registry,
      config,
      target: 'local',
      model: 'weather',
      logDir,
      alert: false,
      manifestFor: async () => model,
    });

    // Live: the accumulator, fed as the server feeds it.
    const windows: LiveWindow[] = [];
    const alerts: LiveAlert[] = [];
    const live = new WindowAccumulator('weather', liveConfigFromMonitor(mc), (e) =>
      e.type === 'window' ? windows.push(e.data) : alerts.push(e.data),
    );
    for (const r of reqs) {
      live.observe('1.0.0', model, r.id, r.inputs, r.pred, r.latencyMs, r.time);
      live.feedback(r.id, r.truth);
    }

    assert.equal(batch.windows.length, 30);
    assert.equal(windows.length, 30);
    for (let i = 0; i < 30; i++) {
      const b = batch.windows[i];
      const l = windows[i];
      const same = {
        index: l.index,
        start: l.start,
        end: l.end,
        count: l.count,
        labelled: l.labelled,
        version: l.version,
        accuracy: l.accuracy,
        distribution: l.distribution,
        drift: l.drift,
        predictionDrift: l.predictionDrift,
        p50LatencyMs: l.p50LatencyMs,
      };
      assert.deepEqual(
        same,
        {
          index: b.index,
          start: b.start,
          end: b.end,
          count: b.count,
          labelled: b.labelled,
          version: b.version,
          accuracy: b.accuracy,
          distribution: b.distribution,
          drift: b.drift,
          predictionDrift: b.predictionDrift,
          p50LatencyMs: b.p50LatencyMs,
        },
        `window ${i}`,
      );
      assert.equal(l.driftWindow, Math.min(300, (i + 1) * 100));
    }
    // The tests each column got, and the drift decisions of the latest window.
    assert.deepEqual(windows[29].driftTests, batch.driftTests);
    const batchDrifted = [
      ...batch.drift!.features.filter((f) => f.drifted).map((f) => f.name),
      ...(batch.drift!.predictions.drifted ? ['predictions'] : []),
    ];
    assert.deepEqual(windows[29].drifted, batchDrifted);
    assert.ok(
      batchDrifted.includes('x') && batchDrifted.includes('c'),
      `the shifted inputs drift: ${batchDrifted.join(', ')}`,
    );
    // Rule alerts: the batch chart's violations are the live alerts, window for window.
    const batchRules = batch.chart!.violations.map((v) => `we${v.rule}@${batch.chartWindows[v.index]}`).sort();
    const liveRules = alerts
      .filter((a) => a.rule.startsWith('we'))
      .map((a) => `${a.rule}@${a.window}`)
      .sort();
    assert.ok(
      batchRules.some((r) => r.startsWith('we1@')),
      `the collapse breaks rule 1: ${batchRules.join(', ')}`,
    );
    assert.deepEqual(liveRules, batchRules);
  } finally {
    registry.close();
    tmp.cleanup();
  }
});
