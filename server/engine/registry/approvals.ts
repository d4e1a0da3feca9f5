/**
 * Governance over the registry: approvals of a version's exact artifact for a protected alias or
 * a target (table `approvals`, with separation of duties), the alias policy in force (a change
 * of it is audited), and the audit trail's face — external events, the log, verification. The
 * hash chain itself is audit.ts; every part appends to it through the handle inside its write.
 */
import { ModelOpsError } from '../errors';
import { checkTargetName } from '../deploy/names';
import { sameActor } from '../governance/identity';
import { readAliasPolicy, type AliasPolicy } from '../governance/policy';
import { checkAnchoredEntry, readHead, toAuditEntry, verifyRows, type AuditRow } from './audit';
import { filters, json, now, pageLimit, type StoreHandle } from './handle';
import { validateAlias, validateModelName } from './refs';
import { canonicalJson } from './semver';
import type { VersionLookup, VersionRow } from './versions';
import type {
  ApprovalRecord,
  ApprovalRequirement,
  ApproveInput,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  ExternalAuditEvent,
  VersionOrigin,
} from './types';

interface ApprovalRow {
  id: number;
  model: string;
  version: string;
  artifact_digest: string;
  scope: 'alias' | 'target';
  name: string;
  approver: string;
  comment: string | null;
  at: string;
  current_digest: string | null;
}

export interface ApprovalStoreOptions {
  /** The config whose `registry:` block says which aliases are protected. */
  configPath: string;
  /** The alias policy itself, instead of reading it from the config (tests, embedders). */
  aliasPolicy: AliasPolicy | null;
  actor: () => string;
}

function toApproval(r: ApprovalRow): ApprovalRecord {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    artifactDigest: r.artifact_digest,
    scope: r.scope,
    name: r.name,
    approver: r.approver,
    comment: r.comment,
    at: r.at,
    valid: r.current_digest !== null && r.current_digest === r.artifact_digest,
  };
}

/** A comment is free text shown in terminals and cards: no control characters but newlines, bounded. */
function cleanComment(c: string | null | undefined): string | null {
  const s = (c ?? '')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, 2000);
  return s || null;
}

export class ApprovalStore {
  constructor(
    private readonly h: StoreHandle,
    private readonly versions: VersionLookup,
    private readonly options: ApprovalStoreOptions,
  ) {}

  /**
   * The alias policy in force; inside a write, a policy that differs from the last one recorded
   * is appended to the audit trail first, so lifting a protection leaves a trace with its actor.
   */
  private aliasPolicy(): AliasPolicy {
    const policy = this.options.aliasPolicy ?? readAliasPolicy(this.options.configPath);
    const last = this.h
      .pluck<[], string>(`SELECT after FROM audit_log WHERE action = 'policy.change' ORDER BY seq DESC LIMIT 1`)
      .get();
    const now_ = canonicalJson(policy);
    const empty = policy.protectedAliases.length === 0 && !policy.separationOfDuties;
    if ((last === undefined && !empty) || (last !== undefined && last !== now_)) {
      this.h.record({
        action: 'policy.change',
        subject: 'registry.protectedAliases',
        before: last === undefined ? null : json<unknown>(last, null),
        after: policy,
      });
    }
    return policy;
  }

  /** Inside the alias's write: the approval a protected alias needs (refused without one), or null when it is not protected. */
  approvalFor(row: VersionRow, alias: string): ApprovalRecord | null {
    const policy = this.aliasPolicy();
    return policy.protectedAliases.includes(alias)
      ? this.findApproval(row, { scope: 'alias', name: alias, separationOfDuties: policy.separationOfDuties })
      : null;
  }

  /** The newest approval of this exact version and artifact for the alias or target, or a refusal that says what to run. */
  private findApproval(row: VersionRow, req: ApprovalRequirement): ApprovalRecord {
    const label = `${row.model}@${row.version}`;
    const rows = this.h
      .stmt<[string, string, ApprovalRequirement['scope'], string], ApprovalRow>(
        `SELECT a.*, v.artifact_digest AS current_digest FROM approvals a LEFT JOIN versions v ON v.model = a.model AND v.version = a.version
         WHERE a.model = ? AND a.version = ? AND a.scope = ? AND a.name = ? ORDER BY a.id DESC`,
      )
      .all(row.model, row.version, req.scope, req.name);
    let void_: ApprovalRow | undefined;
    let byAuthor: ApprovalRow | undefined;
    for (const r of rows) {
      if (r.artifact_digest !== row.artifact_digest) {
        void_ ??= r;
        continue;
      }
      if (req.separationOfDuties && authoredBy(row, r.approver)) {
        byAuthor ??= r;
        continue;
      }
      return toApproval(r);
    }
    const what = req.scope === 'alias' ? `become '${req.name}' of ${row.model}` : `be deployed to target '${req.name}'`;
    const rule =
      req.scope === 'alias'
        ? `'${req.name}' is in registry.protectedAliases`
        : `deploy.targets.${req.name}.requireApproval is true`;
    const author = row.registered_by ?? 'unknown (registered before the audit trail)';
    const run = `modelops approve ${label} --for ${req.name} --comment "…"`;
    const someone = req.separationOfDuties ? `someone other than its author (${author})` : 'a reviewer';
    if (byAuthor) {
      throw new ModelOpsError(
        'approval-by-author',
        `${label} cannot ${what}: its only approval (#${byAuthor.id}) is by its author ${byAuthor.approver}, and separation of duties applies.`,
        `Ask ${someone} to run: ${run}`,
      );
    }
    if (void_) {
      throw new ModelOpsError(
        'approval-void',
        `${label} cannot ${what}: approval #${void_.id} names artifact ${void_.artifact_digest}, but the version's artifact is ${row.artifact_digest}, so it is void.`,
        `Review the version again and ask ${someone} to run: ${run}`,
      );
    }
    throw new ModelOpsError(
      'approval-required',
      `${label} cannot ${what}: ${rule}, and ${label} (artifact ${row.artifact_digest}) has no approval for it.`,
      `Ask ${someone} to run: ${run}`,
    );
  }

  approve(ref: string, input: ApproveInput): ApprovalRecord {
    if (input.scope !== 'alias' && input.scope !== 'target') {
      throw new ModelOpsError(
        'invalid-approval',
        `An approval is for an alias or a target, not '${String(input.scope)}'.`,
        'Pass --for <alias|target>.',
      );
    }
    const name = input.scope === 'alias' ? validateAlias(input.name) : (checkTargetName(input.name), input.name);
    const comment = cleanComment(input.comment);
    const approver = this.options.actor();
    const id = this.h.write(() => {
      const row = this.versions.findRow(ref);
      const label = `${row.model}@${row.version}`;
      const sod = input.scope === 'alias' ? this.aliasPolicy().separationOfDuties : input.separationOfDuties === true;
      if (sod && authoredBy(row, approver)) {
        const did = sameActor(approver, row.registered_by)
          ? 'registered'
          : 'first registered (where it was imported from)';
        throw new ModelOpsError(
          'approval-by-author',
          `${approver} ${did} ${label} and cannot approve it for '${name}': separation of duties applies (${input.scope === 'alias' ? 'registry.separationOfDuties' : `deploy.targets.${name}.separationOfDuties`}).`,
          'Ask another person to review and approve it. MODELOPS_ACTOR names who acts for the record; it is not a way around this rule.',
        );
      }
      const info = this.h
        .stmt<[string, string, string, ApproveInput['scope'], string, string, string | null, string]>(
          `INSERT INTO approvals (model, version, artifact_digest, scope, name, approver, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.model, row.version, row.artifact_digest, input.scope, name, approver, comment, now());
      const id = Number(info.lastInsertRowid);
      this.h.record({
        action: 'approval.grant',
        subject: `${label} for ${input.scope} ${name}`,
        model: row.model,
        version: row.version,
        ...(input.scope === 'alias' ? { alias: name } : { target: name }),
        after: {
          approval: id,
          artifactDigest: row.artifact_digest,
          comment,
          author: row.registered_by ?? null,
          separationOfDuties: sod,
        },
      });
      return { id, model: row.model };
    });
    this.h.emit({ kind: 'versions', model: id.model });
    return this.listApprovals({ model: id.model, limit: 1000 }).find((a) => a.id === id.id) as ApprovalRecord;
  }

  listApprovals(query: { model?: string; limit?: number } = {}): ApprovalRecord[] {
    return this.h.read(() => {
      const { sql, params } = filters({ 'a.model = ?': query.model });
      const rows = this.h
        .stmt<Array<string | number>, ApprovalRow>(
          `SELECT a.*, v.artifact_digest AS current_digest FROM approvals a LEFT JOIN versions v ON v.model = a.model AND v.version = a.version ${sql} ORDER BY a.id DESC LIMIT ?`,
        )
        .all(...params, pageLimit(query.limit));
      return rows.map(toApproval);
    });
  }

  requireApproval(ref: string, requirement: ApprovalRequirement): ApprovalRecord {
    return this.h.read(() => this.findApproval(this.versions.findRow(ref), requirement));
  }
}

/** The audit trail as the registry shows it: events reported from outside, the log, its verification. */
export class AuditTrail {
  constructor(private readonly h: StoreHandle) {}

  audit(event: ExternalAuditEvent): AuditEntry {
    const allowed: ExternalAuditEvent['action'][] = ['token.set', 'token.cleared', 'config.snapshot'];
    if (!allowed.includes(event.action)) {
      throw new ModelOpsError(
        'invalid-audit-event',
        `'${String(event.action)}' is not an event that can be reported to the audit trail.`,
        `Report one of: ${allowed.join(', ')}; the engine records its own changes.`,
      );
    }
    if (event.target) checkTargetName(event.target);
    if (event.model) validateModelName(event.model);
    const detail: Record<string, string | number | boolean | null> = {};
    for (const [k, v] of Object.entries(event.detail ?? {})) {
      // The trail must never hold a secret: refuse a field that would carry one.
      if (/^(token|value|password|secret|authorization)$/i.test(k)) {
        throw new ModelOpsError(
          'audit-secret',
          `The audit detail '${k}' looks like it carries a secret; the audit trail records that a token changed, never the token.`,
          "Report the secret's name (e.g. tokenSecret) only.",
        );
      }
      if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) continue;
      detail[k.slice(0, 64)] = typeof v === 'string' ? v.slice(0, 500) : v;
    }
    const row = this.h.write(() =>
      this.h.record({
        action: event.action,
        subject: event.target ? `target ${event.target}` : event.model ? event.model : 'workspace',
        model: event.model ?? null,
        target: event.target ?? null,
        after: detail,
      }),
    );
    return toAuditEntry(row);
  }

  auditLog(query: AuditQuery = {}): AuditEntry[] {
    let since: string | undefined;
    if (query.since !== undefined && query.since !== '') {
      const t = Date.parse(query.since);
      if (Number.isNaN(t))
        throw new ModelOpsError(
          'invalid-since',
          `--since '${query.since}' is not a date.`,
          'Use an ISO date or date-time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z.',
        );
      since = new Date(t).toISOString();
    }
    const limit = Math.max(1, Math.min(100_000, Math.floor(query.limit ?? 10_000)));
    return this.h.read(() => {
      const { sql, params } = filters({ 'model = ?': query.model, 'at >= ?': since });
      const rows = this.h
        .stmt<Array<string | number>, AuditRow>(`SELECT * FROM audit_log ${sql} ORDER BY seq DESC LIMIT ?`)
        .all(...params, limit);
      return rows.reverse().map(toAuditEntry);
    });
  }

  verifyAudit(): AuditVerification {
    return this.h.read(() => {
      const head = readHead(this.h.storeDir);
      // Its own statement: an iteration left open would hold a cached one busy.
      const result = verifyRows(
        this.h.db.prepare<[], AuditRow>(`SELECT * FROM audit_log ORDER BY seq`).iterate(),
        head,
      );
      if (!result.ok) return result;
      const rewritten = checkAnchoredEntry(this.h.db, head);
      if (rewritten && head && head !== 'unreadable') {
        const r = this.h.stmt<[number], AuditRow>(`SELECT * FROM audit_log WHERE seq = ?`).get(head.seq);
        return {
          ...result,
          ok: false,
          firstBad: { seq: head.seq, problem: rewritten, entry: r ? toAuditEntry(r) : null },
        };
      }
      return result;
    });
  }
}

/**
 * Whether `actor` authored the version: registered it here or, for an imported version, where it
 * was first registered (an export and import must not let an author approve their own model).
 */
function authoredBy(row: VersionRow, actor: string): boolean {
  const origin = json<VersionOrigin | null>(row.origin ?? null, null);
  return sameActor(actor, row.registered_by) || (origin !== null && sameActor(actor, origin.registeredBy));
}
