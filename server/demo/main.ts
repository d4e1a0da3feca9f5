/**
 * `npm run demo` — the whole ModelOps loop, headless, in a fresh temporary workspace, through
 * the same engine the editor's sidecar uses. Every stage checks what it claims; the process
 * exits 0 only when all of them did, so CI runs it as an end-to-end test.
 */
import { cp, mkdtemp, readFile, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDocument } from 'yaml';
import { analyzeConfig, formatDiagnostic, loadConfig } from '../engine/config';
import { initWorkspace, examplesDir } from '../engine/init';
import { openRegistry } from '../engine/registry';
import { registerModel } from '../engine/registry/registerModel';
import { loadPredictor } from '../engine/serving';
import { freePort } from '../engine/net';
import type { Registry, VersionRecord } from '../engine/registry/types';
import { readDataset } from '../engine/data/read';
import { train, type TrainResult } from '../engine/training/trainer';
import { evaluateVersion } from '../engine/evaluation/evaluate';
import { explainVersion } from '../engine/explain';
import { isModelOpsError } from '../engine/errors';
import { connectTarget, deploy, rollback, type StepEvent, type TargetAccess } from '../engine/deploy';
import { stopLocalServer } from '../engine/deploy/localServer';
import { loadModelBundle } from '../engine/model/bundle';
import type { ModelManifest } from '../engine/model/types';
import { monitor, type MonitorResult } from '../engine/monitoring';
import { trainFromTraffic } from '../engine/training/fromTraffic';
import { predictFile } from '../engine/evaluation/predictFile';
import { predictionsFromResponse, rowsToInferRequest } from '../engine/serving/v2';
import { predictionSummaryText } from '../../shared/format';
import { writeChartReport } from '../report';
import { controlPoints } from '../engine/spc';
import { compareDataWithGovernance, driftData, explainData, fairnessData, runMetricsData } from '../report/chartData';
import type { ExplainSummary } from '../protocol/governance';
import type { FairnessReport } from '../engine/evaluation/fairness';
import { displayPath, formatNumber, table } from '../cli/output';
import { buildScenario, writeCsv, type Scenario } from './scenario';
import { replay, startLoad } from './traffic';
import { Story, DemoStageFailed } from './story';

const MODEL = 'weather-classifier';
const TARGET = 'local';
const WINDOW = 50;
const BASELINE_WINDOWS = 5;
const ONNX_MODEL = 'weather-onnx';
const ONNX_TARGET = 'local-onnx';
const COLUMNS = ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather'];
/** Who approves in the demo: someone other than the author (the OS or git user running it). */
const REVIEWER = 'Riley Reviewer <riley@example.com>';

interface Demo {
  story: Story;
  dir: string;
  configPath: string;
  registry: Registry;
  scenario: Scenario;
  runs: string[];
  charts: string[];
  explanation?: ExplainSummary;
  fairness?: { report: FairnessReport; data: string; version: VersionRecord };
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Edits modelops.yaml in place, keeping its comments. */
async function editConfig(path: string, edits: Array<[Array<string | number>, unknown]>): Promise<void> {
  const doc = parseDocument(await readFile(path, 'utf8'));
  for (const [keyPath, value] of edits) doc.setIn(keyPath, value);
  await writeFile(path, doc.toString());
}

async function access(demo: Demo): Promise<TargetAccess> {
  const { config } = await loadConfig(demo.configPath);
  return { registry: demo.registry, config, tokenFor: () => null };
}

async function manifestOf(registry: Registry, ref: string): Promise<ModelManifest> {
  const model = await loadModelBundle(await registry.artifactPath(ref));
  model.dispose();
  return model.manifest;
}

/** A second person approves `ref` for production (as `modelops approve` run by them would). */
function approveAs(demo: Demo, ref: string, comment: string): number {
  const reviewer = openRegistry(demo.dir, { actor: REVIEWER });
  try {
    return reviewer.approve(ref, { scope: 'alias', name: 'production', comment }).id;
  } finally {
    reviewer.close();
  }
}

/** Runs `f` and returns the engine's error code it fails with (null when it does not fail). */
function refusal(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (isModelOpsError(e)) return e.code;
    throw e;
  }
}

function gateLines(v: VersionRecord): string[] {
  return (v.gates?.results ?? []).map((g) => `gate ${g.passed ? '✔' : '✘'} ${g.metric} ${g.expression}: ${g.message}`);
}

async function trainStage(demo: Demo, note: string): Promise<TrainResult> {
  const result = await train({
    configPath: demo.configPath,
    registry: demo.registry,
    note,
    trusted: true,
    onProgress: (p) => demo.story.progress(p.fraction, p.message),
  });
  demo.runs.push(result.run.id);
  return result;
}

function deployProgress(story: Story): (e: StepEvent) => void {
  return (e) => {
    if (e.status === 'running') story.progress(e.index / e.total, e.step);
    else story.say(`${e.status === 'ok' ? '✔' : '✘'} ${e.step}: ${e.detail}`);
  };
}

async function monitorNow(demo: Demo): Promise<MonitorResult> {
  await sleep(500); // the server appends its prediction log every 200 ms
  const { config } = await loadConfig(demo.configPath);
  return monitor({ registry: demo.registry, config, target: TARGET, model: MODEL });
}

function windowTable(result: MonitorResult, from = 0): string {
  const violations = new Map<number, string>();
  (result.chart ? controlPoints(result.chart) : []).forEach((p, i) => {
    if (p.violations.length)
      violations.set(result.chartWindows[i], p.violations.map((v) => `rule ${v.rule}`).join(', '));
  });
  const rows = result.windows
    .slice(from)
    .map((w) => [
      w.index + 1,
      w.version,
      w.count,
      formatNumber(w.accuracy),
      formatNumber(w.drift.precipitation ?? null),
      violations.get(w.index) ?? '',
    ]);
  return table(['window', 'version', 'rows', 'accuracy', 'KS D(precip)', 'violation'], rows);
}

async function run(demo: Demo): Promise<void> {
  const { story } = demo;

  // 1. init + validate ---------------------------------------------------------------------------
  await story.stage('Init the workspace and validate modelops.yaml', async () => {
    initWorkspace(demo.dir);
    const all = await readDataset(join(demo.dir, 'data', 'seattle-weather.csv'));
    demo.scenario = buildScenario(all.rows, { driftAt: WINDOW * BASELINE_WINDOWS, retrainRows: WINDOW * 5 });
    const { history, traffic } = demo.scenario;
    // The season of each day is the demo's sensitive column: in the data, not a model feature.
    await writeCsv(
      join(demo.dir, 'data', 'history.csv'),
      [...COLUMNS, 'season'],
      history.map((r) => ({ ...r, season: seasonOf(String(r.date)) })),
    );
    const port = await freePort();
    await editConfig(demo.configPath, [
      [['data', 'train'], 'data/history.csv'],
      [['train', 'classWeights'], 'none'],
      [['evaluate', 'gates'], { accuracy: '>= 0.65', f1_weighted: '>= production - 0.1' }],
      [['deploy', 'targets', TARGET, 'port'], port],
      [['monitor', 'window'], WINDOW],
      [['monitor', 'controlChart', 'baseline'], BASELINE_WINDOWS],
      [['monitor', 'drift'], { method: 'ks', threshold: 0.3, features: ['precipitation', 'temp_max', 'wind'] }],
      [['registry'], { protectedAliases: ['production'], separationOfDuties: true }],
    ]);
    story.say(
      `data: ${history.length} days of history (2012–2013) to train on, ${traffic.length} days (2014–2015) replayed as traffic`,
    );

    // A deliberately broken copy first: what the editor would underline.
    const brokenDir = join(demo.dir, 'broken');
    await mkdir(brokenDir, { recursive: true });
    const brokenPath = join(brokenDir, 'modelops.yaml');
    await copyFile(join(examplesDir(), 'broken', 'modelops.yaml'), brokenPath);
    await mkdir(join(demo.dir, 'sample'), { recursive: true });
    await copyFile(join(examplesDir(), 'sample', 'modelops.yaml'), join(demo.dir, 'sample', 'modelops.yaml'));
    await mkdir(join(demo.dir, 'sample', 'data'), { recursive: true });
    await copyFile(
      join(demo.dir, 'data', 'seattle-weather.csv'),
      join(demo.dir, 'sample', 'data', 'seattle-weather.csv'),
    );
    const broken = analyzeConfig(await readFile(brokenPath, 'utf8'), { path: brokenPath });
    const errors = broken.diagnostics.filter((d) => d.severity === 'error');
    story.say(`broken/modelops.yaml — ${errors.length} errors:`);
    for (const d of broken.diagnostics) story.say(`  ${formatDiagnostic(relative(demo.dir, brokenPath), d)}`);
    check(errors.length >= 4, `expected the broken config to show at least 4 errors, got ${errors.length}`);

    const clean = analyzeConfig(await readFile(demo.configPath, 'utf8'), { path: demo.configPath });
    check(
      clean.diagnostics.filter((d) => d.severity === 'error').length === 0,
      `modelops.yaml has errors: ${clean.diagnostics.map((d) => d.message).join('; ')}`,
    );
    return { value: undefined, detail: `modelops.yaml is clean; the broken copy shows ${errors.length} errors` };
  });

  // 2. train → evaluate → gates → register 1.0.0 → promote ------------------------------------
  const v1 = await story.stage('Train version 1.0.0 with TensorFlow.js', async () => {
    const r = await trainStage(demo, 'first model: 2012–2013 history');
    check(r.version.version === '1.0.0', `expected 1.0.0, registered ${r.version.version}`);
    return {
      value: r.version,
      detail: `${MODEL}@1.0.0 registered (${r.backend} backend, ${r.epochsRun} epochs, ${Math.round(r.samplesPerSecond)} samples/s, test accuracy ${formatNumber(r.metrics.accuracy)})`,
    };
  });

  await story.stage('Evaluate 1.0.0 with a fairness gate by season', async () => {
    // A fairness gate by season for this evaluation: per-group accuracy and demographic parity.
    // Weather is seasonal, so how often each class is predicted differs by season by nature; the
    // bound catches a model that makes it much worse (here about 0.56, worst class one-vs-rest).
    await editConfig(demo.configPath, [
      [['evaluate', 'fairness'], { sensitive: ['season'], metrics: ['accuracy'], minGroupSize: 20 }],
      [['evaluate', 'gates', 'demographic_parity_difference'], '<= 0.65'],
    ]);
    const ev = await evaluateVersion({
      registry: demo.registry,
      ref: `${MODEL}@1.0.0`,
      configPath: demo.configPath,
      gate: true,
    });
    // The retrain data (exported predictions) has no season column: the fairness check stays with this stage.
    const doc = parseDocument(await readFile(demo.configPath, 'utf8'));
    doc.deleteIn(['evaluate', 'fairness']);
    doc.deleteIn(['evaluate', 'gates', 'demographic_parity_difference']);
    await writeFile(demo.configPath, doc.toString());
    check(ev.fairness !== null, 'no fairness report');
    const by = ev.fairness!.breakdowns[0];
    story.say(
      `accuracy by season: ${by.groups.map((g) => `${g.name.replace('season=', '')} ${formatNumber(g.values.accuracy)} (${g.count})`).join(' · ')}; difference ${formatNumber(by.gaps.accuracy?.difference ?? null)}`,
    );
    demo.fairness = { report: ev.fairness!, data: ev.data, version: ev.version };
    story.say(
      `accuracy ${formatNumber(ev.metrics.accuracy)} · f1_weighted ${formatNumber(ev.metrics.f1_weighted)} · roc_auc ${formatNumber(ev.metrics.roc_auc)} on ${ev.rows} rows (${ev.data})`,
    );
    for (const line of gateLines(ev.version)) story.say(line);
    check(ev.gates?.passed === true, 'the gates of 1.0.0 failed');
    check(
      Math.abs(ev.metrics.accuracy - v1.metrics.accuracy) < 1e-9,
      'evaluation did not reproduce the training metrics',
    );
    return {
      value: undefined,
      detail: `gates passed, fairness gate included (demographic parity difference ${formatNumber(ev.metrics.demographic_parity_difference ?? null)})`,
    };
  });

  await story.stage('Explain 1.0.0: Shapley values and permutation importance', async () => {
    const r = await explainVersion({
      registry: demo.registry,
      ref: `${MODEL}@1.0.0`,
      configPath: demo.configPath,
      background: 25,
    });
    const k = r.shap.outputs.length;
    const worst = Math.max(
      ...r.shap.rows.map((row) =>
        Math.max(...row.output.map((o, j) => Math.abs(r.shap.base[j] + row.values.reduce((a, v) => a + v[j], 0) - o))),
      ),
    );
    check(worst < 1e-6, `additivity off by ${worst}`);
    check(r.stored !== null && r.meanAbsShap !== null && r.permutation !== null, 'global importance was not stored');
    const order = r
      .meanAbsShap!.features.map((f, i) => ({ f, v: r.meanAbsShap!.overall[i], p: r.permutation!.features[i] }))
      .sort((a, b) => b.v - a.v);
    story.say(
      order
        .map(
          (o) =>
            `${o.f}: mean |SHAP| ${formatNumber(o.v)}, permutation ${formatNumber(o.p.mean)} ± ${formatNumber(o.p.std)}`,
        )
        .join('\n    '),
    );
    demo.explanation = {
      ref: `${MODEL}@1.0.0`,
      data: r.data,
      method: r.shap.method,
      features: r.shap.features,
      outputs: r.shap.outputs,
      base: r.shap.base,
      background: r.shap.background,
      rows: r.shap.rows.map((row, i) => ({
        id: r.rowIds[i],
        input: r.shap.features.map((f) => String(r.inputs[i][f] ?? '')),
        output: row.output,
        values: row.values,
      })),
      meanAbsShap: r.meanAbsShap,
      permutation: r.permutation,
      stored: r.stored,
    };
    return {
      value: undefined,
      detail: `${r.shap.rows.length} rows × ${k} classes, ${r.shap.method}; base + Σ values = f(x) within ${worst.toExponential(1)}; most important: ${order[0].f}`,
    };
  });

  await story.stage('Approve 1.0.0 for production (separation of duties) and promote it', async () => {
    const ref = `${MODEL}@1.0.0`;
    const author = demo.registry.getVersion(ref).registeredBy ?? 'unknown';
    const without = refusal(() => demo.registry.setAlias(MODEL, 'production', '1.0.0', 'passed its gates'));
    check(without === 'approval-required', `promoting without an approval gave ${without}`);
    const own = refusal(() =>
      demo.registry.approve(ref, { scope: 'alias', name: 'production', comment: 'my own work' }),
    );
    check(own === 'approval-by-author', `the author approving gave ${own}`);
    story.say(
      `refused: promote without an approval (approval-required); ${author} approving their own version (approval-by-author)`,
    );
    const id = approveAs(demo, ref, 'evaluation, fairness by season and the explanation reviewed');
    demo.registry.setAlias(MODEL, 'production', '1.0.0', 'passed its gates; approved');
    check(demo.registry.verifyAudit().ok, 'the audit trail does not verify');
    return { value: undefined, detail: `approval #${id} by ${REVIEWER}; production → 1.0.0; audit trail verified` };
  });

  // 3. deploy ----------------------------------------------------------------------------------
  await story.stage('Deploy production (1.0.0) to the local endpoint', async () => {
    const res = await deploy({
      ...(await access(demo)),
      ref: `${MODEL}@production`,
      target: TARGET,
      configDir: demo.dir,
      onStep: deployProgress(story),
    });
    check(res.deployment.status === 'active', `deployment is ${res.deployment.status}`);
    return {
      value: undefined,
      detail: `${MODEL}@${res.deployment.version} serves at ${res.url} (Open Inference Protocol)`,
    };
  });

  const client = await connectTarget(await access(demo), TARGET, { start: false });
  if (!client) throw new DemoStageFailed('deploy', 'the local endpoint is not running');
  const m1 = await manifestOf(demo.registry, `${MODEL}@1.0.0`);
  const { traffic, driftAt, retrainUntil } = demo.scenario;

  // 4. traffic before the drift ------------------------------------------------------------------
  await story.stage('Replay production traffic with feedback labels', async () => {
    const r = await replay({
      client,
      model: MODEL,
      manifest: m1,
      rows: traffic.slice(0, driftAt),
      onProgress: (d, t) => story.progress(d / t, `${d}/${t} requests`),
    });
    check(r.failed === 0, `${r.failed} requests failed`);
    const mon = await monitorNow(demo);
    story.say(windowTable(mon).split('\n').join('\n    '));
    check(
      mon.alerts.length === 0,
      `unexpected alerts before the drift: ${mon.alerts.map((a) => a.message).join('; ')}`,
    );
    return {
      value: undefined,
      detail: `${r.sent} predictions, live accuracy ${formatNumber(r.correct / r.sent)}; ${mon.windows.length} windows, all within control limits`,
    };
  });

  // 5. drift -----------------------------------------------------------------------------------
  const drifted = await story.stage('The station switches to imperial units (inches, °F): traffic drifts', async () => {
    const r = await replay({
      client,
      model: MODEL,
      manifest: m1,
      rows: traffic.slice(driftAt, retrainUntil),
      onProgress: (d, t) => story.progress(d / t, `${d}/${t} requests`),
    });
    check(r.failed === 0, `${r.failed} requests failed`);
    const mon = await monitorNow(demo);
    story.say(windowTable(mon).split('\n').join('\n    '));
    for (const a of mon.alerts.slice(0, 6)) story.warn(`⚠ alert [${a.rule}] ${a.message}`);
    if (mon.alerts.length > 6) story.warn(`⚠ … and ${mon.alerts.length - 6} more alerts`);
    check(
      mon.alerts.some((a) => a.rule.startsWith('we')),
      'the control chart raised no alert',
    );
    check(
      mon.alerts.some((a) => a.rule.startsWith('drift')),
      'the drift check raised no alert',
    );
    return {
      value: mon,
      detail: `live accuracy fell to ${formatNumber(r.correct / r.sent)}; ${mon.alerts.length} alerts (control chart and drift)`,
    };
  });

  // 6. retrain on recent data → 1.1.0 → gates relative to production → deploy -------------------
  const v2 = await story.stage('Retrain on recent traffic and its feedback: version 1.1.0', async () => {
    // Monitoring feeds the retrain: the logged inputs of the drifted windows joined with the
    // labels that arrived as feedback.
    // The same path as `modelops train --from-traffic` and the alert's Retrain: a data version
    // of the drifted windows' logged inputs and feedback labels, trained on and gated.
    const loaded = await loadConfig(demo.configPath);
    const t = await trainFromTraffic(loaded, {
      registry: demo.registry,
      target: TARGET,
      model: MODEL,
      from: driftAt,
      to: retrainUntil,
      note: 'retrained after the station switched to imperial units',
      trusted: true,
      onProgress: (p) => story.progress(p.fraction, p.message),
    });
    demo.runs.push(t.train.run.id);
    check(
      t.dataset.traffic.labelled === retrainUntil - driftAt,
      `expected ${retrainUntil - driftAt} labelled predictions, found ${t.dataset.traffic.labelled}`,
    );
    story.say(
      `${t.dataset.displayPath}: ${t.dataset.rows} labelled predictions from the endpoint's log (data version ${t.dataset.digest.slice(0, 19)})`,
    );
    const r = t.train;
    check(
      r.version.version === '1.1.0',
      `expected 1.1.0 (same signature, new weights), registered ${r.version.version}`,
    );
    for (const line of gateLines(r.version)) story.say(line);
    check(r.gates?.passed === true, 'the gates of 1.1.0 failed');
    approveAs(demo, `${MODEL}@1.1.0`, 'retrain reviewed');
    demo.registry.setAlias(MODEL, 'production', '1.1.0', 'retrained after drift; passed gates relative to production');
    return {
      value: r.version,
      detail: `1.1.0 passed its gates (test accuracy ${formatNumber(r.metrics.accuracy)}); production → 1.1.0`,
    };
  });

  await story.stage('Deploy 1.1.0 and watch the control chart recover', async () => {
    const res = await deploy({
      ...(await access(demo)),
      ref: `${MODEL}@production`,
      target: TARGET,
      configDir: demo.dir,
      onStep: deployProgress(story),
    });
    check(res.deployment.version === v2.version, `deployed ${res.deployment.version}`);
    const m2 = await manifestOf(demo.registry, `${MODEL}@1.1.0`);
    const r = await replay({
      client,
      model: MODEL,
      manifest: m2,
      rows: traffic.slice(retrainUntil),
      onProgress: (d, t) => story.progress(d / t, `${d}/${t} requests`),
    });
    check(r.failed === 0, `${r.failed} requests failed`);
    const mon = await monitorNow(demo);
    const after = mon.windows.filter((w) => w.version === v2.version).map((w) => w.index);
    story.say(
      windowTable(mon, after[0] ?? 0)
        .split('\n')
        .join('\n    '),
    );
    const outOfControl = (mon.chart ? controlPoints(mon.chart) : []).filter(
      (p, i) => after.includes(mon.chartWindows[i]) && p.violations.length > 0,
    );
    check(after.length > 0, 'no window was served by 1.1.0');
    check(outOfControl.length === 0, `${outOfControl.length} windows of 1.1.0 are out of control`);
    return {
      value: mon,
      detail: `live accuracy ${formatNumber(r.correct / r.sent)}; ${after.length} windows of 1.1.0, all within control limits`,
    };
  });

  // 7. roll back and forward under load --------------------------------------------------------
  await story.stage('Roll back to 1.0.0 and forward again under load', async () => {
    const load = startLoad({ client, model: MODEL, manifest: m1, rows: traffic, concurrency: 8 });
    await sleep(500);
    const back = await rollback({ ...(await access(demo)), target: TARGET, model: MODEL });
    story.say(`rolled back: ${back.previousVersion} → ${back.version}`);
    check(back.version === '1.0.0', `rolled back to ${back.version}`);
    await sleep(500);
    const fwd = await deploy({
      ...(await access(demo)),
      ref: `${MODEL}@production`,
      target: TARGET,
      configDir: demo.dir,
      onStep: deployProgress(story),
    });
    story.say(`forward again: ${fwd.deployment.previousVersion} → ${fwd.deployment.version}`);
    await sleep(500);
    const counts = await load.stop();
    check(counts.requests > 100, `the load generator sent only ${counts.requests} requests`);
    check(counts.failed === 0, `${counts.failed} of ${counts.requests} requests failed: ${counts.errors.join('; ')}`);
    return {
      value: undefined,
      detail: `${counts.requests} requests during rollback and redeploy, 0 failed; 1.1.0 serves`,
    };
  });

  // 8. charts ----------------------------------------------------------------------------------
  await story.stage('Write the charts', async () => {
    const out = join(demo.dir, 'charts');
    await mkdir(out, { recursive: true });
    const final = await monitorNow(demo);
    const write = (file: string, w: () => { path: string }) => demo.charts.push(w().path) && file;
    write('training', () =>
      writeChartReport({
        kind: 'runMetrics',
        data: runMetricsData(demo.registry, demo.runs),
        title: `Training — ${MODEL} 1.0.0 and 1.1.0`,
        out: join(out, 'training.html'),
      }),
    );
    const compare = await compareDataWithGovernance(demo.registry, [`${MODEL}@1.0.0`, `${MODEL}@1.1.0`]);
    write('compare', () =>
      writeChartReport({
        kind: 'compare',
        data: compare,
        title: `Compare ${MODEL} 1.0.0 and 1.1.0`,
        out: join(out, 'compare.html'),
      }),
    );
    if (demo.explanation)
      write('explain', () =>
        writeChartReport({
          kind: 'explain',
          data: explainData(demo.explanation!),
          title: `${MODEL}@1.0.0 · explanation`,
          out: join(out, 'explain.html'),
        }),
      );
    if (demo.fairness)
      write('fairness', () =>
        writeChartReport({
          kind: 'fairness',
          data: fairnessData(
            demo.fairness!.report,
            demo.fairness!.data,
            `${MODEL}@1.0.0`,
            demo.fairness!.version.gates,
          ),
          title: `${MODEL}@1.0.0 · fairness by season`,
          out: join(out, 'fairness.html'),
        }),
      );
    if (final.chart) {
      write('control', () =>
        writeChartReport({
          kind: 'control',
          data: final.chart!,
          title: `Control chart — live accuracy per ${WINDOW} predictions`,
          out: join(out, 'control-chart.html'),
        }),
      );
    }
    const drift = driftData(drifted);
    if (drift)
      write('drift', () =>
        writeChartReport({
          kind: 'drift',
          data: drift,
          title: 'Drift after the switch to imperial units',
          out: join(out, 'drift.html'),
        }),
      );
    check(demo.charts.length === 6, `wrote ${demo.charts.length} of 6 charts`);
    for (const c of demo.charts) story.say(c);
    return { value: undefined, detail: `${demo.charts.length} HTML charts in ${displayPath(process.cwd(), out)}` };
  });
}

/**
 * Bring your own model: the sample's weather classifier trained in PyTorch and exported to ONNX
 * (examples/onnx) goes through the same loop — register (graph → signature) → evaluate → gates →
 * deploy → monitor — on its own target, so the TF.js story above is untouched.
 */
async function onnxStages(demo: Demo): Promise<void> {
  const { story } = demo;
  const dir = join(demo.dir, 'onnx');
  const configPath = join(dir, 'modelops.yaml');
  const onnxAccess = async (): Promise<TargetAccess> => ({
    registry: demo.registry,
    config: (await loadConfig(configPath)).config,
    tokenFor: () => null,
  });

  const v1 = await story.stage(
    'Bring your own model: register a PyTorch export (ONNX) with its config, evaluate and gate it',
    async () => {
      await cp(join(examplesDir(), 'onnx'), dir, { recursive: true });
      await editConfig(configPath, [
        [
          ['deploy', 'targets', ONNX_TARGET],
          {
            type: 'local',
            host: '127.0.0.1',
            port: await freePort(),
            requireApproval: false,
            smokeTest: { rows: 50, tolerance: 0.000001 },
          },
        ],
        [['monitor', 'target'], ONNX_TARGET],
        [['monitor', 'window'], WINDOW],
        [['monitor', 'controlChart', 'baseline'], 3],
      ]);
      const r = await registerModel({
        registry: demo.registry,
        configPath,
        cwd: dir,
        note: 'PyTorch MLP exported with torch.onnx.export (opset 17)',
      });
      const v = r.version;
      const sig = v.signature;
      check(v.format === 'onnx' && sig !== null, `expected an ONNX version with a signature, got ${v.format}`);
      story.say(
        `signature from the graph: ${sig!.inputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join(', ')} → ${sig!.outputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join(', ')}`,
      );
      check(r.evaluation !== null, `not evaluated: ${r.notEvaluated}`);
      story.say(
        `accuracy ${formatNumber(r.evaluation!.metrics.accuracy)} · f1_weighted ${formatNumber(r.evaluation!.metrics.f1_weighted)} on ${r.evaluation!.rows} rows (${r.evaluation!.data})`,
      );
      for (const line of gateLines(v)) story.say(line);
      check(v.gates?.passed === true, `the gates of ${ONNX_MODEL}@${v.version} failed`);
      approveAs(demo, `${ONNX_MODEL}@${v.version}`, 'ONNX export reviewed');
      demo.registry.setAlias(ONNX_MODEL, 'production', v.version, 'passed its gates');

      // New weights, same signature: minor. A PyTorch checkpoint: stored, with the export call.
      const r2 = await registerModel({
        registry: demo.registry,
        configPath,
        cwd: dir,
        source: join(dir, 'models', 'weather-mlp-v2.onnx'),
        evaluate: false,
      });
      check(
        r2.version.version === '1.1.0',
        `expected 1.1.0 for new weights with the same signature, got ${r2.version.version}`,
      );
      await writeFile(join(dir, 'models', 'weather.pt'), 'a PyTorch checkpoint stands in here');
      const pt = await demo.registry.registerVersion({
        model: `${ONNX_MODEL}-pt`,
        source: join(dir, 'models', 'weather.pt'),
      });
      check(pt.notice?.includes('torch.onnx.export(') === true, 'a .pt file registered without the export call');
      story.say(
        `weather-mlp-v2.onnx → ${ONNX_MODEL}@1.1.0 (same signature, new weights: minor); weather.pt → stored, not runnable: "${pt.notice!.slice(0, 72)}…"`,
      );
      return {
        value: v,
        detail: `${ONNX_MODEL}@${v.version} registered from models/weather-mlp-v1.onnx; gates passed; production → ${v.version}`,
      };
    },
  );

  await story.stage('Deploy the ONNX version and monitor its traffic', async () => {
    const res = await deploy({
      ...(await onnxAccess()),
      ref: `${ONNX_MODEL}@production`,
      target: ONNX_TARGET,
      configDir: dir,
      onStep: deployProgress(story),
    });
    check(
      res.deployment.status === 'active' && res.deployment.version === v1.version,
      `deployment is ${res.deployment.status} (${res.deployment.version})`,
    );
    const client = await connectTarget(await onnxAccess(), ONNX_TARGET, { start: false });
    if (!client) throw new Error('the ONNX endpoint is not running');
    const predictor = await loadPredictor(await demo.registry.artifactPath(`${ONNX_MODEL}@${v1.version}`));
    const serving = predictor.manifest;
    predictor.dispose();
    const rows = demo.scenario.traffic.slice(0, WINDOW * 5);
    const r = await replay({
      client,
      model: ONNX_MODEL,
      manifest: serving,
      rows,
      onProgress: (d, t) => story.progress(d / t, `${d}/${t} requests`),
    });
    check(r.failed === 0, `${r.failed} requests failed`);
    await sleep(500); // the server appends its prediction log every 200 ms
    const mon = await monitor({
      registry: demo.registry,
      config: (await onnxAccess()).config,
      target: ONNX_TARGET,
      model: ONNX_MODEL,
    });
    check(mon.windows.length === 5, `expected 5 windows, got ${mon.windows.length}`);
    check(
      mon.windows.every((w) => w.accuracy !== null),
      'a window has no accuracy: feedback did not arrive',
    );
    story.say(
      `windows: ${mon.windows.map((w) => formatNumber(w.accuracy)).join(' · ')} (live accuracy per ${WINDOW} predictions)`,
    );
    return {
      value: undefined,
      detail: `${res.url} serves ${ONNX_MODEL}@${res.deployment.version} through ONNX Runtime; ${r.sent} predictions, live accuracy ${formatNumber(r.correct / r.sent)}, ${mon.alerts.length} alerts`,
    };
  });

  await story.stage('Score a file offline with the production version: the answers its endpoint gives', async () => {
    // Days before the drift, with their date and true weather carried through to join on.
    const rows = demo.scenario.traffic.slice(0, 200);
    const file = join(dir, 'data', 'new-days.csv');
    await writeCsv(file, COLUMNS, rows);
    const out = join(dir, 'data', 'new-days.predictions.csv');
    const r = await predictFile({
      registry: demo.registry,
      ref: `${ONNX_MODEL}@production`,
      dataPath: file,
      out,
      keep: ['date', 'weather'],
    });
    check(r.predicted === rows.length, `${r.predicted} of ${rows.length} rows predicted`);
    story.say(`${r.predicted} rows of ${r.data} → ${r.out} (${predictionSummaryText(r)})`);
    // The same rows in one request to the endpoint, not logged (as a smoke test is not).
    const client = await connectTarget(await onnxAccess(), ONNX_TARGET, { start: false });
    if (!client) throw new Error('the ONNX endpoint is not running');
    const predictor = await loadPredictor(await demo.registry.artifactPath(`${ONNX_MODEL}@${r.version.version}`));
    const body = { ...rowsToInferRequest(predictor.manifest, rows), parameters: { modelops_log: false } };
    predictor.dispose();
    const served = predictionsFromResponse(await client.infer(ONNX_MODEL, null, body));
    const batch = (await readDataset(out, { types: { date: 'string', weather: 'string' } })).rows;
    const labels = r.columns.filter((c) => c.startsWith('probability_'));
    let delta = 0;
    let correct = 0;
    for (let i = 0; i < rows.length; i++) {
      check(
        batch[i].prediction === served[i].value,
        `row ${i + 1}: batch ${batch[i].prediction}, served ${served[i].value}`,
      );
      labels.forEach((c, j) => (delta = Math.max(delta, Math.abs(Number(batch[i][c]) - served[i].probabilities![j]))));
      if (batch[i].prediction === batch[i].weather) correct++;
    }
    check(delta <= 1e-6, `batch and served probabilities differ by ${delta}`);
    return {
      value: undefined,
      detail: `${r.predicted} rows scored by ${r.ref} (ONNX Runtime): every class as its endpoint answered, probabilities within ${delta.toExponential(1)}; accuracy ${formatNumber(correct / rows.length)} against the kept truth`,
    };
  });
}

function seasonOf(date: string): string {
  const m = Number(date.slice(5, 7));
  return m === 12 || m <= 2 ? 'winter' : m <= 5 ? 'spring' : m <= 8 ? 'summer' : 'autumn';
}

async function main(): Promise<number> {
  const dirArg = process.argv.indexOf('--dir');
  const dir = dirArg > 0 ? process.argv[dirArg + 1] : await mkdtemp(join(tmpdir(), 'modelops-demo-'));
  await mkdir(dir, { recursive: true });
  const story = new Story();
  story.title(`ModelOps demo — the whole loop, headless, in ${dir}`);
  const registry = openRegistry(dir);
  const demo: Demo = {
    story,
    dir,
    configPath: join(dir, 'modelops.yaml'),
    registry,
    scenario: { history: [], traffic: [], driftAt: 0, retrainUntil: 0 },
    runs: [],
    charts: [],
  };
  const t0 = performance.now();
  let ok = false;
  try {
    await run(demo);
    await onnxStages(demo);
    ok = true;
  } catch (e) {
    if (!(e instanceof DemoStageFailed))
      story.say(`unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await stopLocalServer(registry.storeDir, TARGET);
    await stopLocalServer(registry.storeDir, ONNX_TARGET);
    registry.close();
  }
  const results = story.summary();
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  story.title(
    ok
      ? `\nThe loop closed: ${results.length} stages passed in ${seconds} s. Workspace: ${dir}`
      : `\nThe demo FAILED after ${seconds} s. Workspace kept for inspection: ${dir}`,
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
