/**
 * Governance over JSON-RPC: explanations (run the model, so they need a trusted workspace),
 * stored global importance and fairness, approvals, a version's audit history and its model card.
 * The engine enforces approvals; these requests only ask it.
 */
import { request } from './rpc';
import type { ApprovalRecord, AuditEntry, AuditVerification } from '../engine/registry/types';
import type { MeanAbsShap, PermutationImportance, StoredImportance } from '../engine/explain';
import type { StoredFairness } from '../engine/evaluation/evaluate';

export interface ExplainParams {
  /** "model@1.2.0", "model@production" or "model". */
  ref: string;
  configUri?: string;
  /** Background rows sampled from the training split (default 100). */
  background?: number;
  workDoneToken?: string | number;
}

/** One explained row, display-ready. */
export interface ExplainedRow {
  /** Test split index ("0", "1", …). */
  id: string;
  /** The raw input values of the features, in `features` order, as text. */
  input: string[];
  /** f(x) per output. */
  output: number[];
  /** values[feature][output]. */
  values: number[][];
}

export interface ExplainSummary {
  /** "model@1.2.0". */
  ref: string;
  data: string;
  method: 'exact' | 'permutation';
  features: string[];
  /** Class labels, or ['value']. */
  outputs: string[];
  base: number[];
  background: number;
  rows: ExplainedRow[];
  meanAbsShap: MeanAbsShap | null;
  permutation: PermutationImportance | null;
  /** Where the global importance was stored with the version, if it was. */
  stored: string | null;
}

/** Explains the start of the test split (up to 200 rows) and stores global importance with the version. */
export const explain = request<ExplainParams, ExplainSummary>('modelops/governance/explain', {
  requiresTrust: true,
  action: "Explaining (it runs the model on the workspace's data)",
});

/** Global importance stored with a version (null when none, or stored for another artifact). */
export const storedImportance = request<{ ref: string }, StoredImportance | null>(
  'modelops/governance/storedImportance',
);

/** The fairness report stored with a version by the last evaluation or training (null when none). */
export const storedFairness = request<{ ref: string }, StoredFairness | null>('modelops/governance/storedFairness');

export interface ApproveParams {
  ref: string;
  /** An alias, or a name among deploy.targets (then a target). */
  for: string;
  comment?: string | null;
}
/** Approves as the workspace's git/OS identity (MODELOPS_ACTOR first); refused for the author under separation of duties. */
export const approve = request<ApproveParams, ApprovalRecord>('modelops/governance/approve');

export interface ProtectedTarget {
  name: string;
  separationOfDuties: boolean;
}

/** A version's fairness at a glance: the worst between-group gap and the gates on fairness metrics. */
export interface FairnessSummary {
  /** The largest difference: a Fairlearn metric (classification) or the largest per-group metric gap. */
  worst: { name: string; value: number } | null;
  gates: Array<{ metric: string; expression: string; passed: boolean }>;
}

export interface VersionStatus {
  protectedAliases: string[];
  separationOfDuties: boolean;
  /** Targets with requireApproval: true. */
  protectedTargets: ProtectedTarget[];
  /** Approvals of the model (valid and void), newest first. */
  approvals: ApprovalRecord[];
  /** Who acts in this workspace (MODELOPS_ACTOR, git, or the OS user). */
  actor: string;
  /** Version → fairness summary, for versions with a stored fairness report. */
  fairness: Record<string, FairnessSummary>;
}
/** What is protected, the model's approvals and its versions' fairness: the tree shows pending/approved and the worst gap per version. */
export const versionStatus = request<{ model: string }, VersionStatus>('modelops/governance/versionStatus');

export interface HistoryResult {
  ref: string;
  /** Oldest first. */
  entries: AuditEntry[];
  verification: AuditVerification;
}
/** A version's audit entries and the whole trail's `audit verify` result. */
export const history = request<{ ref: string }, HistoryResult>('modelops/governance/history');

/** The model card as Markdown. */
export const card = request<{ ref: string }, { ref: string; markdown: string }>('modelops/governance/card');
