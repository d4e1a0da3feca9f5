/**
 * End to end in a real VS Code (code-server + headless Chromium): the packaged .vsix installed
 * in a fresh workbench, a copy of the sample workspace with a broken modelops.yaml opened and
 * trusted through the Workspace Trust dialog; checks through the UI that the ModelOps view
 * shows, the sidecar started, and the Problems panel lists the config's errors.
 * Run with `npm run test:e2e` (sets up code-server, packages, then runs this file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, openWorkbench, ROOT, waitFor, type Workbench } from './harness';

// A test's timeout stays above the sum of its condition waits (plus Playwright's 30 s default for
// a click), so on a slow machine the wait that gives up names what did not happen, and a test that
// only runs slow still passes. Nothing here sleeps for a fixed time.
const STEP_MS = 120_000;
const LONG_STEP_MS = 180_000;
const TRAIN_STEP_MS = 300_000;
let wb: Workbench;
/** The local target's port: a free one, so parallel runs do not collide on 8765. */
let port = 0;
/** The sample config with a free port and an accuracy gate no quick run passes (so deploys need a reason). */
const sampleConfig = (): string =>
  readFileSync(join(ROOT, 'examples', 'sample', 'modelops.yaml'), 'utf8')
    .replace(/port: 8765/, `port: ${port}`)
    .replace(/accuracy: ">= [\d.]+"/, 'accuracy: ">= 0.99"');

before(async () => {
  port = await freePort();
  wb = await openWorkbench({
    name: 'workbench',
    // Two mistakes the sidecar must report: a misspelt key and a target that is no column.
    prepare(folder) {
      const file = join(folder, 'modelops.yaml');
      const text = sampleConfig();
      assert.match(text, new RegExp(`port: ${port}`));
      assert.match(text, /accuracy: ">= 0\.99"/);
      const broken = text.replace(/^(\s+)epochs:/m, '$1epocs:').replace(/^(\s+)target: weather\b/m, '$1target: weathr');
      assert.notEqual(broken, text, 'the sample config has train.epochs and data.target to break');
      writeFileSync(file, broken);
      // A registered version with an alias, through the CLI (the same engine and store).
      const cli = join(ROOT, 'dist', 'cli.js');
      // Real PyTorch exports (test/fixtures/onnx): registering reads their graphs.
      copyFileSync(join(ROOT, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), join(folder, 'churn.onnx'));
      mkdirSync(join(folder, 'models'), { recursive: true });
      writeFileSync(join(folder, 'metrics.json'), JSON.stringify({ accuracy: 0.91, f1_macro: 0.8 }));
      execFileSync(process.execPath, [cli, 'versions', 'register', 'churn.onnx', '--model', 'churn', '--note', 'first cut', '--metrics', 'metrics.json', '--root', folder], { cwd: folder });
      execFileSync(process.execPath, [cli, 'versions', 'promote', 'churn@1.0.0', '--alias', 'production', '--root', folder], { cwd: folder });
    },
  });
});

after(async () => {
  await wb?.close();
});

test('the workspace is trusted through the Workspace Trust dialog', { timeout: STEP_MS }, async () => {
  const { page } = wb;
  const trust = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Yes, I trust the authors' });
  await trust.waitFor({ timeout: 30_000 });
  await wb.screenshot('01-trust-dialog');
  await trust.click();
  await page.locator('.monaco-dialog-box').waitFor({ state: 'detached', timeout: 10_000 });
  // Restricted Mode's status bar entry goes away once the folder is trusted.
  await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ state: 'detached', timeout: 10_000 });
});

test('the extension activated and its sidecar started', { timeout: STEP_MS }, async () => {
  const { page } = wb;
  // The status bar item shows the sidecar state; the pulse icon means running.
  const item = page.locator('.statusbar-item', { hasText: 'ModelOps' });
  await item.first().waitFor({ timeout: 30_000 });
  await page.locator('.statusbar-item:has-text("ModelOps") .codicon-pulse').first().waitFor({ timeout: 30_000 });
  // The extension's log says which Node started the sidecar and that it answered.
  await waitFor(() => /sidecar .* ready in \d+ ms on Node v\d+/.test(wb.extensionLog()), 30_000, () => `no "sidecar ready" line in the ModelOps log:\n${wb.extensionLog()}`);
  const log = wb.extensionLog();
  assert.match(log, /sidecar runtime: \S+ \(from (PATH|setting|the extension host)/);
  assert.match(log, /activated in [\d.]+ ms/);
});

test('the ModelOps view shows the model tree', { timeout: STEP_MS }, async () => {
  const { page } = wb;
  await page.locator('.activitybar .action-item a[aria-label="ModelOps"], .activitybar .action-label[aria-label="ModelOps"]').first().click();
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Models' }) });
  await pane.waitFor({ timeout: 20_000 });
  // The config exists, so the tree shows its groups (the welcome view is for empty workspaces).
  const rows = pane.locator('.monaco-list-row');
  await rows.filter({ hasText: 'Runs' }).first().waitFor({ timeout: 20_000 });
  await rows.filter({ hasText: 'Datasets' }).first().waitFor({ timeout: 5000 });
  // The model registered before the window opened, with its alias; its versions load on expand.
  const model = rows.filter({ hasText: 'churn' }).first();
  await model.waitFor({ timeout: 5000 });
  assert.match(await model.innerText(), /1 version · production 1\.0\.0/);
  await model.click();
  const version = rows.filter({ hasText: '1.0.0' }).filter({ hasText: 'acc 0.910' }).first();
  await version.waitFor({ timeout: 10_000 });
  assert.match(await version.innerText(), /acc 0\.910 · production/);
  await wb.screenshot('02-model-tree');
});

test('a version opens its details from the tree', { timeout: STEP_MS }, async () => {
  const { page } = wb;
  await page.locator('.monaco-list-row', { hasText: 'acc 0.910' }).first().click();
  // The details are a markdown preview of the version: lineage and metrics.
  await page.locator('.tab', { hasText: 'churn@1.0.0' }).first().waitFor({ timeout: 20_000 });
  const preview = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await preview.locator('text=Lineage').first().waitFor({ timeout: 20_000 });
  await preview.locator('td', { hasText: 'f1_macro' }).first().waitFor({ timeout: 5000 });
  await wb.screenshot('03-version-details');
});

test('the Problems panel lists the broken config’s errors', { timeout: LONG_STEP_MS }, async () => {
  const { page } = wb;
  // Open modelops.yaml through Quick Open, as a user would.
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } }).catch(() => undefined);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill('modelops.yaml');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'modelops.yaml' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tab', { hasText: 'modelops.yaml' }).first().waitFor({ timeout: 10_000 });

  await page.keyboard.press('Control+Shift+M');
  const markers = page.locator('.markers-panel .monaco-list-row');
  const unknownKey = markers.filter({ hasText: "Unknown key 'epocs' in train. Did you mean 'epochs'?" });
  const missingColumn = markers.filter({ hasText: "'weathr' is not a column of 'data/seattle-weather.csv'" });
  await unknownKey.first().waitFor({ timeout: 30_000 });
  await missingColumn.first().waitFor({ timeout: 10_000 });
  await wb.screenshot('04-problems');
  // Each entry comes from our sidecar (source "modelops") with its code.
  const text = (await markers.allInnerTexts()).join('\n');
  assert.match(text, /unknown-key/);
  assert.match(text, /unknown-column/);
});

test('a crashed sidecar is restarted and the diagnostics come back', { timeout: LONG_STEP_MS }, async () => {
  const { page } = wb;
  const [pid] = wb.sidecarPids();
  assert.ok(pid, 'the sidecar process runs from the installed extension');
  process.kill(pid, 'SIGKILL');
  await waitFor(() => /restarting in 1 s/.test(wb.extensionLog()), 15_000, () => `no restart line in the log:\n${wb.extensionLog()}`);
  await waitFor(
    () => (wb.extensionLog().match(/sidecar .* ready in \d+ ms/g) ?? []).length >= 2,
    30_000,
    () => `the sidecar did not come back:\n${wb.extensionLog()}`,
  );
  const [next] = wb.sidecarPids();
  assert.ok(next && next !== pid, 'a new sidecar process runs');
  await page.locator('.statusbar-item:has-text("ModelOps") .codicon-pulse').first().waitFor({ timeout: 15_000 });
  // The restarted sidecar re-analyses the open config.
  await page.locator('.markers-panel .monaco-list-row', { hasText: "Unknown key 'epocs'" }).first().waitFor({ timeout: 30_000 });
  await wb.screenshot('05-after-restart');
});

test('a new model file in the workspace is offered for registration and lands in the tree', { timeout: LONG_STEP_MS }, async () => {
  const { page } = wb;
  // Written into a folder the watcher already watches: a file created in a brand-new folder
  // right after the folder itself can land before the watcher has subscribed to it.
  copyFileSync(join(ROOT, 'test', 'fixtures', 'onnx', 'weather-mlp-v2.onnx'), join(wb.folder, 'models', 'churn-v2.onnx'));
  const offer = page.locator('.notification-toast', { hasText: 'churn-v2.onnx changed. Register it as a new model version?' });
  await offer.first().waitFor({ timeout: 30_000 });
  await offer.locator('.monaco-button', { hasText: 'Register Version…' }).first().click();
  const items = page.locator('.quick-input-list .monaco-list-row');
  await items.filter({ hasText: 'churn' }).first().click({ timeout: 15_000 });
  const input = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget', { hasText: 'Changelog note' }).waitFor({ timeout: 10_000 });
  await input.fill('retrained on March data');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget', { hasText: 'Version (optional)' }).waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.notification-toast', { hasText: /registered churn@1\.\d+\.\d+/ }).first().waitFor({ timeout: 20_000 });
  // The sidecar's change notification refreshes the model's branch: two versions now.
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Models' }) });
  await pane.locator('.monaco-list-row', { hasText: 'churn' }).filter({ hasText: '2 versions' }).first().waitFor({ timeout: 15_000 });
  await wb.screenshot('06-registered');
});

test('Train Model from the command palette trains with progress, curves and a new version in the tree', { timeout: TRAIN_STEP_MS }, async () => {
  const { page } = wb;
  // Fix the config on disk; the open editor follows and the errors go away.
  writeFileSync(join(wb.folder, 'modelops.yaml'), sampleConfig());
  await page.locator('.markers-panel .monaco-list-row', { hasText: "Unknown key 'epocs'" }).first().waitFor({ state: 'detached', timeout: 30_000 });
  // The Endpoints view follows the saved config: its target appears, not yet running.
  const endpoints = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Endpoints' }) });
  await endpoints.locator('.monaco-list-row', { hasText: 'local' }).filter({ hasText: 'nothing deployed' }).first().waitFor({ timeout: 20_000 });

  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill('>ModelOps: Train Model');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'ModelOps: Train Model' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');

  // Live training curves open beside the editor as the training starts, named by the model.
  await page.locator('.tab', { hasText: 'weather-classifier · training' }).first().waitFor({ timeout: 60_000 });
  const done = page.locator('.notification-toast', { hasText: /trained weather-classifier@\d+\.\d+\.\d+ on (wasm|cpu|tensorflow) .*gates failed \(1\)/ });
  await done.first().waitFor({ timeout: 90_000 });
  // Once trained, the one training panel names the version it made.
  await page.locator('.tab', { hasText: /weather-classifier@1\.0\.0 · training/ }).first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('.tab', { hasText: '· training' }).count(), 1, 'one training panel');
  await chartDrawn();
  await wb.screenshot('07-trained');
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Models' }) });
  await pane.locator('.monaco-list-row', { hasText: 'weather-classifier' }).first().waitFor({ timeout: 20_000 });
  assert.match(wb.extensionLog(), /trained weather-classifier@\S+ on \w+: \d+ epochs/);
});

/** The focused element of the workbench (a dialog's default button) reads `text`. */
async function waitForFocused(text: string): Promise<void> {
  await wb.page.waitForFunction((t) => document.activeElement?.textContent?.trim() === t, text, { timeout: 10_000 });
}

/** The chart page of the visible chart panel has drawn (not "Loading chart…"). */
async function chartDrawn(timeout = 60_000): Promise<void> {
  const frames = wb.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await frames.locator('#app .mo-chart').first().waitFor({ timeout });
}

test('the training panel hidden behind another editor draws again when shown', { timeout: STEP_MS }, async () => {
  const { page } = wb;
  const tab = page.locator('.tab', { hasText: '· training' }).first();
  await tab.click();
  // Settings open in the chart's group, in front of it: its page is dropped (no retained context).
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill('>Preferences: Open Settings (UI)');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preferences: Open Settings (UI)' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: 'Settings' }).first().waitFor({ timeout: 20_000 });
  await tab.click();
  await chartDrawn();
  await wb.screenshot('07b-training-reshown');
  assert.equal(await page.locator('.tab', { hasText: '· training' }).count(), 1, 'still one training panel');
});

test('Deploy… from the command palette shows gate status, asks for a reason because gates failed, deploys to the local target and the endpoint shows it', { timeout: TRAIN_STEP_MS }, async () => {
  const { page } = wb;
  await page.mouse.move(900, 750);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill('>ModelOps: Deploy');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'ModelOps: Deploy…' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  // Two models in the registry: pick the trained one, then its version, whose gate status shows.
  const items = page.locator('.quick-input-list .monaco-list-row');
  await items.filter({ hasText: 'weather-classifier' }).first().click({ timeout: 15_000 });
  const versionItem = items.filter({ hasText: '1.0.0' }).filter({ hasText: 'gates failed (1)' });
  await versionItem.first().waitFor({ timeout: 15_000 });
  await wb.screenshot('08-pick-version');
  await versionItem.first().click();

  // The accuracy gate (>= 0.99) failed, so shipping needs a recorded reason; the default
  // (first, primary) button is the safe one.
  const override = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Override with a Reason…' });
  await override.waitFor({ timeout: 20_000 });
  // (Button order differs per platform; the default one is the one with the focus.)
  await waitForFocused('Show Gate Report');
  await wb.screenshot('09-override');
  await override.click();
  const reason = page.locator('.quick-input-widget input');
  await reason.waitFor({ timeout: 10_000 });
  await reason.fill('e2e test of the deploy flow');
  await page.keyboard.press('Enter');
  const live = page.locator('.notification-toast', { hasText: "weather-classifier@1.0.0 is live on 'local'" });
  await live.first().waitFor({ timeout: 90_000 });
  await wb.screenshot('10-deployed');
  const endpoints = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Endpoints' }) });
  await endpoints.locator('.monaco-list-row', { hasText: 'local' }).filter({ hasText: 'weather-classifier@1.0.0' }).filter({ hasText: 'ready' }).first().waitFor({ timeout: 20_000 });
  assert.match(wb.extensionLog(), /deploy weather-classifier@1\.0\.0 → local: smoke test ok/);
});
