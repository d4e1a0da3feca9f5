/**
 * Long sidecar jobs as a progress notification with Cancel: the request carries a
 * `workDoneToken` on which the sidecar reports LSP work-done progress, and Cancel cancels the
 * request itself (the sidecar stops the job).
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress, type WorkDoneProgressBegin, type WorkDoneProgressReport } from 'vscode-languageclient/node';
import type { Ctx } from './ctx';

export interface JobOutcome<T> {
  result?: T;
  cancelled: boolean;
}

export async function runJob<T>(
  ctx: Ctx,
  title: string,
  run: (workDoneToken: string, token: vscode.CancellationToken) => Promise<T>,
  options: { cancellable?: boolean } = {},
): Promise<JobOutcome<T>> {
  const cancellable = options.cancellable ?? true;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable },
    async (progress, token) => {
      const workDoneToken = `modelops-${randomUUID()}`;
      let last = 0;
      const sub = ctx.sidecar.client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
        if (v.kind !== 'begin' && v.kind !== 'report') return;
        const p = v as WorkDoneProgressBegin | WorkDoneProgressReport;
        if (typeof p.percentage === 'number' && p.percentage >= last) {
          progress.report({ increment: p.percentage - last, message: p.message });
          last = p.percentage;
        } else if (p.message) {
          progress.report({ message: p.message });
        }
      });
      try {
        return { result: await run(workDoneToken, token), cancelled: false };
      } catch (e) {
        // A cancelled request rejects; that is the outcome the user asked for, not an error.
        if (token.isCancellationRequested) return { cancelled: true };
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
}
