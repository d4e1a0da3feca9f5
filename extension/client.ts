/**
 * The sidecar's language client: which Node starts it, restart on crash with exponential
 * backoff, and the state the status bar shows. One client lives for the whole session; its
 * notification handlers survive restarts.
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { core, type NotificationType, type ParamsOf, type ResultOf } from '../server/protocol';
import type { InitializationOptions, SidecarStatus } from '../server/protocol/core';
import { describeRuntime, resolveSidecarRuntime, type SidecarRuntime } from './sidecarRuntime';
import { onCrash, RESTART_POLICY } from './restartPolicy';

export type SidecarState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export class Sidecar implements vscode.Disposable {
  readonly client: LanguageClient;
  private state: SidecarState = 'stopped';
  private readonly stateEmitter = new vscode.EventEmitter<SidecarState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private crashes: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  /** Set while we stop on purpose, so the close handler does not count a crash. */
  private stopping = false;
  private disposed = false;
  private lastStatus: SidecarStatus | undefined;
  readonly runtime: SidecarRuntime;

  constructor(
    context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
  ) {
    const nodePath = vscode.workspace.getConfiguration('modelops').get<string>('sidecar.nodePath');
    let runtime: SidecarRuntime;
    try {
      runtime = resolveSidecarRuntime({ setting: nodePath, execPath: process.execPath });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      output.error(message);
      void vscode.window.showErrorMessage(`ModelOps: ${message}`);
      runtime = resolveSidecarRuntime({ execPath: process.execPath });
    }
    this.runtime = runtime;
    output.info(`sidecar runtime: ${describeRuntime(runtime)}`);

    const module = context.asAbsolutePath('dist/server.js');
    // The extension host's own runtime is started through fork (which makes Electron behave as
    // Node); an explicit runtime is spawned as given.
    const run =
      runtime.source === 'extension-host'
        ? { module, transport: TransportKind.ipc }
        : { module, transport: TransportKind.ipc, runtime: runtime.path };
    const serverOptions: ServerOptions = { run, debug: { ...run, options: { execArgv: ['--inspect=6019'] } } };

    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'yaml', pattern: '**/modelops.{yaml,yml}' }],
      outputChannel: output,
      initializationOptions: (): InitializationOptions => ({
        trusted: vscode.workspace.isTrusted,
        validationDelayMs: vscode.workspace.getConfiguration('modelops').get<number>('validation.delayMs', 150),
      }),
      synchronize: {
        // Referenced data files change → the sidecar re-validates configs that point at them.
        fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{csv,jsonl}'),
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          this.onClosed();
          return {
            action: CloseAction.DoNotRestart,
            handled: true,
            message: 'The sidecar stopped; ModelOps restarts it with backoff.',
          };
        },
      },
    };
    this.client = new LanguageClient('modelops', 'ModelOps', serverOptions, clientOptions);
    // 'running' is set by start() once the sidecar answered modelops/status, so listeners
    // see the status (runtime, trust) with the state.
    this.client.onDidChangeState((e) => {
      if (e.newState === State.Starting) this.setState(this.state === 'restarting' ? 'restarting' : 'starting');
    });
  }

  get current(): SidecarState {
    return this.state;
  }

  get status(): SidecarStatus | undefined {
    return this.lastStatus;
  }

  private setState(s: SidecarState): void {
    if (this.state === s) return;
    this.state = s;
    this.stateEmitter.fire(s);
  }

  async start(): Promise<void> {
    if (this.disposed) return;
    this.setState(this.state === 'restarting' ? 'restarting' : 'starting');
    const t0 = Date.now();
    try {
      await this.client.start();
      this.lastStatus = (await this.client.sendRequest(core.status.method, {})) as ResultOf<typeof core.status>;
      this.output.info(
        `sidecar ${this.lastStatus.version} ready in ${Date.now() - t0} ms on Node ${this.lastStatus.runtime}; workspace ${this.lastStatus.workspaceRoot ?? '(none)'}; trusted ${this.lastStatus.trusted}`,
      );
      this.setState('running');
    } catch (e) {
      this.output.error(`sidecar failed to start: ${e instanceof Error ? e.message : String(e)}`);
      this.onClosed();
    }
  }

  /** Counts the crash and schedules a restart, or gives up after too many in the window. */
  private onClosed(): void {
    if (this.stopping || this.disposed || this.restartTimer) return;
    const decision = onCrash(this.crashes, Date.now());
    this.crashes = decision.crashes;
    if (decision.action === 'give-up') {
      this.setState('failed');
      this.output.error(`the sidecar stopped ${this.crashes.length} times in 3 minutes; not restarting it again`);
      void vscode.window
        .showErrorMessage('ModelOps: the sidecar keeps stopping, so it was not restarted again.', 'Show Log', 'Restart')
        .then((choice) => {
          if (choice === 'Show Log') this.output.show();
          if (choice === 'Restart') void this.restart();
        });
      return;
    }
    const delay = decision.delayMs;
    this.setState('restarting');
    this.output.warn(
      `the sidecar stopped; restarting in ${delay / 1000} s (crash ${this.crashes.length} of ${RESTART_POLICY.maxCrashes} allowed in 3 minutes)`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, delay);
  }

  /** Restart on request: resets the crash count. */
  async restart(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.crashes = [];
    this.stopping = true;
    try {
      if (this.client.state === State.Running) await this.client.stop(5000);
    } catch (e) {
      this.output.warn(`stopping the sidecar: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.stopping = false;
    }
    this.setState('restarting');
    await this.start();
  }

  /** A typed notification to the running sidecar; dropped while it is not running (state is resent on start). */
  async notify<T extends NotificationType<unknown>>(type: T, params: ParamsOf<T>): Promise<void> {
    if (this.client.state !== State.Running) return;
    await this.client.sendNotification(type.method, params);
  }

  /** Tells the running sidecar that Workspace Trust was granted. */
  async setTrust(trusted: boolean): Promise<void> {
    await this.notify(core.setTrust, { trusted });
    if (this.lastStatus) this.lastStatus = { ...this.lastStatus, trusted };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.client.state === State.Running || this.client.state === State.Starting) {
      try {
        await this.client.stop(2000);
      } catch {
        // Already gone: nothing left to stop.
      }
    }
    this.setState('stopped');
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    this.stateEmitter.dispose();
  }
}
