/**
 * The live monitor's worker thread: a LiveScorer fed by the model server's request thread
 * (liveMonitor.ts), so scoring windows never runs on the thread that answers requests.
 */
import { parentPort } from 'node:worker_threads';
import { LiveScorer, type FromScorer, type ToScorer } from './liveScorer';

const port = parentPort;
if (port) {
  const scorer = new LiveScorer((m: FromScorer) => port.postMessage(m));
  port.on('message', (m: ToScorer) => scorer.handle(m));
}
