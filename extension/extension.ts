/**
 * Activation: create the log, the language client (started, not awaited, so activation stays
 * fast), the trees, the commands and the status bar. Everything heavy happens in the sidecar.
 */
import * as vscode from 'vscode';
import { core, training } from '../server/protocol';
import { Sidecar } from './client';
import { ConfigFiles } from './configFiles';
import { createCtx, type Ctx } from './ctx';
import { allCommands } from './commands';
import { registerCommands } from './commands/command';
import { StatusBar } from './statusBar';
import { ModelTreeProvider } from './tree/modelTree';
import { EndpointTreeProvider } from './tree/endpointTree';
import { createTreeSource } from './tree/registrySource';
import { ConfigContentProvider, CONFIG_SCHEME } from './configDocuments';
import { ModelFileWatcher } from './watchers';
import { DOC_SCHEME, MarkdownDocs } from './markdownDocs';
import { createCharts } from './charts';
import { shortRunId } from './tree/format';
import { AlertNotifier } from './services/alerts';
import { syncTokens } from './services/endpointTokens';
import { checkStoreHealth } from './services/storeHealth';

let sidecar: Sidecar | undefined;

export interface ModelOpsExtensionApi {
  /** For tests and other extensions: the context every command uses. */
  readonly ctx: Ctx;
}

export function activate(context: vscode.ExtensionContext): ModelOpsExtensionApi {
  const t0 = performance.now();
  const output = vscode.window.createOutputChannel('ModelOps', { log: true });
  context.subscriptions.push(output);

  sidecar = new Sidecar(context, output);
  context.subscriptions.push(sidecar);
  const status = new StatusBar();
  const docs = new MarkdownDocs();
  const side = sidecar;
  const charts = createCharts(context, output);
  const ctx = createCtx(context, sidecar, { docs, status, charts });
  context.subscriptions.push(
    status,
    charts,
    sidecar.onDidChangeState((s) => {
      status.setState(s, side.status?.runtime);
      if (s === 'running') void showBackend(ctx);
    }),
    ctx.onNotification(training.trainProgress, (p) => {
      const label = `run ${shortRunId(p.runId)}`;
      status.setTraining({
        label,
        epoch: p.epoch,
        epochs: p.epochs,
        ...(typeof p.metrics.loss === 'number' ? { loss: p.metrics.loss } : {}),
      });
      charts.trainProgress(p, label);
    }),
    ctx.onNotification(training.trainLog, (p) => output.info(`[trainer] ${p.line}`)),
  );

  const configFiles = new ConfigFiles();
  context.subscriptions.push(configFiles);
  void openWalkthroughOnce(context, configFiles);

  const source = createTreeSource(ctx);
  const models = new ModelTreeProvider(source, () => configFiles.hasConfig, output);
  const endpoints = new EndpointTreeProvider(source, output);
  const modelsView = vscode.window.createTreeView('modelops.models', {
    treeDataProvider: models,
    showCollapseAll: true,
  });
  const endpointsView = vscode.window.createTreeView('modelops.endpoints', { treeDataProvider: endpoints });
  endpoints.attach(endpointsView);
  context.subscriptions.push(models, endpoints, modelsView, endpointsView);

  const alerts = new AlertNotifier(ctx);
  context.subscriptions.push(
    configFiles.onDidChange(() => {
      models.refresh();
      endpoints.refresh();
    }),
    // Targets live in the config: a saved edit may add, remove or fix them.
    configFiles.onDidChangeContent(() => endpoints.refresh()),
    // "Create modelops.yaml" opens the config the sidecar just wrote: take that as the news, not
    // the file watcher's event, which a busy remote delivers seconds late (the tree and the
    // welcome view went on showing no config meanwhile).
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (!configFiles.hasConfig && doc.uri.scheme === 'file' && /(^|\/)modelops\.ya?ml$/.test(doc.uri.path))
        void configFiles.refresh();
    }),
    ctx.onNotification(core.changed, (e) => {
      void models.onChanged(e);
      endpoints.onChanged(e);
      if (e.kind === 'alerts') void alerts.check();
    }),
    sidecar.onDidChangeState((s) => {
      // A (re)started sidecar may see a different store and has no tokens: reload and resend.
      if (s === 'running') {
        models.refresh();
        endpoints.refresh();
        void syncTokens(ctx);
        void alerts.check();
        void checkStoreHealth(ctx);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.info('workspace trust granted');
      void sidecar?.setTrust(true).then(() => syncTokens(ctx));
      models.refresh();
      endpoints.refresh();
    }),
    vscode.workspace.registerTextDocumentContentProvider(CONFIG_SCHEME, new ConfigContentProvider(ctx)),
    docs,
    vscode.workspace.registerTextDocumentContentProvider(DOC_SCHEME, docs),
    new ModelFileWatcher(ctx),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('modelops.training.backend')) void showBackend(ctx);
      if (
        e.affectsConfiguration('modelops.sidecar.nodePath') ||
        e.affectsConfiguration('modelops.validation.delayMs')
      ) {
        void vscode.window
          .showInformationMessage('ModelOps: restart the sidecar to apply the new setting.', 'Restart Sidecar')
          .then((c) => {
            if (c) void vscode.commands.executeCommand('modelops.restartSidecar');
          });
      }
    }),
  );

  context.subscriptions.push(...registerCommands(ctx, allCommands({ models, endpoints, status })));

  void sidecar.start();
  output.info(`activated in ${(performance.now() - t0).toFixed(1)} ms (extension host ${process.version})`);
  return { ctx };
}

export const WALKTHROUGH_ID = 'modelops.gettingStarted';
const WALKTHROUGH_SHOWN = 'modelops.walkthroughShown';

/**
 * A new user's first activation in a folder without a config opens the walkthrough, once ever
 * (remembered in globalState); the welcome view links to it after that.
 */
async function openWalkthroughOnce(context: vscode.ExtensionContext, configFiles: ConfigFiles): Promise<void> {
  if (context.globalState.get<boolean>(WALKTHROUGH_SHOWN) || context.extensionMode === vscode.ExtensionMode.Test)
    return;
  if (!vscode.workspace.workspaceFolders?.length) return;
  await configFiles.refresh();
  if (configFiles.hasConfig) return;
  // Remember first: a walkthrough that fails to open must not be retried on every start.
  await context.globalState.update(WALKTHROUGH_SHOWN, true);
  try {
    await vscode.commands.executeCommand(
      'workbench.action.openWalkthrough',
      `${context.extension.id}#${WALKTHROUGH_ID}`,
      false,
    );
  } catch {
    // an editor without walkthroughs: the welcome view still links to it
  }
}

/** Asks the sidecar which TensorFlow.js backend the setting resolves to, for the status bar. */
async function showBackend(ctx: Ctx): Promise<void> {
  try {
    const requested = vscode.workspace.getConfiguration('modelops').get<string>('training.backend', 'auto');
    const b = await ctx.request(training.backend, { backend: requested });
    ctx.status.setBackend(b.name);
    ctx.output.info(
      `training backend: ${b.name} (asked for ${b.requested}${b.notes.length ? `; ${b.notes.join('; ')}` : ''})`,
    );
  } catch (e) {
    ctx.output.warn(`training backend: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function deactivate(): Promise<void> {
  await sidecar?.stop();
  sidecar = undefined;
}
