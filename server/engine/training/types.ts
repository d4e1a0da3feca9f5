/** What a training job reports while it runs and returns when it ends (the TF.js trainer and external trainers alike). */
import type { MetricsReport } from '../evaluation/metrics';
import type { MissingReport } from '../data/preprocess';
import type { GateReport, RunRecord, VersionRecord } from '../registry/types';

export interface TrainProgress {
  runId: string | null;
  /** 0 before the first epoch ends. */
  epoch: number;
  epochs: number;
  /** 0..1 over the whole job. */
  fraction: number;
  /** The epoch's metrics: loss, acc, val_loss, val_acc (or the external trainer's). */
  metrics: Record<string, number>;
  /** "epoch 3/40 · loss 0.412" or a stage such as "reading data". */
  message: string;
}

export interface TrainResult {
  run: RunRecord;
  version: VersionRecord;
  /** Metrics on the test split (tfjs) or the external trainer's last metrics. */
  metrics: Record<string, number>;
  report: MetricsReport | null;
  gates: GateReport | null;
  backend: string;
  samplesPerSecond: number;
  epochsRun: number;
  stoppedEarly: boolean;
  missing: MissingReport | null;
  notes: string[];
}
