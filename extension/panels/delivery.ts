/**
 * What a chart page is sent, and when. Panels do not retain their context when hidden, so VS Code
 * drops the page of a background tab and loads it afresh when the tab is shown again: messages
 * posted meanwhile are lost, and the new page starts on "Loading chart…". Every `ready` from a
 * page therefore gets the current dataset (the last init and the appends since), not only what
 * was queued before the first one. No vscode import, so the handshake is unit-tested.
 */
import type { AppendMessage, HostToWebview, InitMessage } from '../../webview/protocol';

export class ChartDelivery {
  private live = false;
  private init: InitMessage | null = null;
  private appends: AppendMessage[] = [];
  /** Other messages (export requests) waiting for a live page. */
  private pending: HostToWebview[] = [];

  constructor(private readonly send: (message: HostToWebview) => void) {}

  /** The latest dataset sent (what a restored or re-shown page must draw). */
  get current(): InitMessage | null {
    return this.init;
  }

  /** The page was replaced (new HTML): nothing reaches it until it says `ready`. */
  reset(): void {
    this.live = false;
  }

  /** A page (the first, or a reloaded one) is listening: give it the whole current dataset. */
  ready(): void {
    this.live = true;
    if (this.init) this.send(this.init);
    for (const a of this.appends) this.send(a);
    const pending = this.pending;
    this.pending = [];
    for (const m of pending) this.send(m);
  }

  post(message: HostToWebview): void {
    if (message.type === 'init') {
      this.init = message;
      this.appends = [];
    } else if (message.type === 'append') {
      // Appends extend the current dataset; without one there is nothing to extend.
      if (!this.init || this.init.kind !== message.kind) return;
      this.appends.push(message);
    } else if (!this.live) {
      this.pending.push(message);
      return;
    }
    if (this.live) this.send(message);
  }
}
