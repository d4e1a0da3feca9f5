/**
 * The audit trail: one row per state change, appended in the same transaction as the change,
 * each holding the SHA-256 of its own canonical form, which includes the previous entry's hash
 * (a hash chain). Editing, deleting or reordering rows breaks the chain; deleting entries from
 * the end is caught against the head anchor (.modelops/audit-head.json) written after each
 * commit. Rewriting the whole chain and the anchor together is not caught: record the head
 * that `modelops audit verify` prints somewhere else (CI log, a commit) to pin it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from './semver';
import type { Db } from './store';
import type { AuditAction, AuditEntry, AuditVerification } from './types';

export const GENESIS_HASH = '0'.repeat(64);
export const AUDIT_HEAD_FILE = 'audit-head.json';

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  model: string | null;
  version: string | null;
  alias: string | null;
  target: string | null;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditInput {
  action: AuditAction;
  /** What changed, as people read it: "weather@1.2.0", "weather@production", "target staging". */
  subject: string;
  model?: string | null;
  version?: string | null;
  alias?: string | null;
  target?: string | null;
  before?: unknown;
  after?: unknown;
}

/** The canonical form of an entry: every stored field but the hash, in a fixed order, as JSON. */
export function canonicalEntry(r: Omit<AuditRow, 'hash'>): string {
  return JSON.stringify([
    r.seq,
    r.at,
    r.actor,
    r.action,
    r.subject,
    r.model,
    r.version,
    r.alias,
    r.target,
    r.before,
    r.after,
    r.prev_hash,
  ]);
}

export function entryHash(r: Omit<AuditRow, 'hash'>): string {
  return createHash('sha256').update(canonicalEntry(r)).digest('hex');
}

const stored = (v: unknown): string | null => (v === undefined || v === null ? null : canonicalJson(v));

/** Appends one entry; call inside the write transaction of the change it records. */
export function appendAudit(db: Db, actor: string, input: AuditInput, at: string): AuditRow {
  const last = db.prepare(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).get() as
    { seq: number; hash: string } | undefined;
  const row: Omit<AuditRow, 'hash'> = {
    seq: (last?.seq ?? 0) + 1,
    at,
    actor,
    action: input.action,
    subject: input.subject,
    model: input.model ?? null,
    version: input.version ?? null,
    alias: input.alias ?? null,
    target: input.target ?? null,
    before: stored(input.before),
    after: stored(input.after),
    prev_hash: last?.hash ?? GENESIS_HASH,
  };
  const full: AuditRow = { ...row, hash: entryHash(row) };
  db.prepare(
    `INSERT INTO audit_log (seq, at, actor, action, subject, model, version, alias, target, before, after, prev_hash, hash)
     VALUES (@seq, @at, @actor, @action, @subject, @model, @version, @alias, @target, @before, @after, @prev_hash, @hash)`,
  ).run(full);
  return full;
}

const parsed = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
};

export function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    model: r.model,
    version: r.version,
    alias: r.alias,
    target: r.target,
    before: parsed(r.before),
    after: parsed(r.after),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditHead {
  seq: number;
  hash: string;
}

/** The head anchor; null when there is none or it cannot be read (verify reports that). */
export function readHead(storeDir: string): AuditHead | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(join(storeDir, AUDIT_HEAD_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const h = JSON.parse(text) as Partial<AuditHead>;
    if (
      typeof h.seq === 'number' &&
      Number.isInteger(h.seq) &&
      typeof h.hash === 'string' &&
      /^[0-9a-f]{64}$/.test(h.hash)
    )
      return { seq: h.seq, hash: h.hash };
  } catch {
    /* fall through */
  }
  return 'unreadable';
}

/**
 * Moves the anchor forward to `head` (never back: another process may have written a later one).
 * Best effort after the commit: a crash between the two leaves the anchor behind, which verify
 * accepts; it only has to be ahead of nothing.
 */
export function writeHead(storeDir: string, head: AuditHead): void {
  const current = readHead(storeDir);
  if (current && current !== 'unreadable' && current.seq >= head.seq) return;
  const path = join(storeDir, AUDIT_HEAD_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(head), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    /* the chain itself is intact; only truncation detection lags */
  }
}

/** Walks the chain in seq order and names the first entry that does not hold. */
export function verifyRows(rows: Iterable<AuditRow>, head: AuditHead | null | 'unreadable'): AuditVerification {
  let prev: AuditRow | null = null;
  let count = 0;
  const bad = (r: AuditRow | null, seq: number, problem: string): AuditVerification => ({
    ok: false,
    entries: count,
    head: prev ? { seq: prev.seq, hash: prev.hash } : null,
    firstBad: { seq, problem, entry: r ? toAuditEntry(r) : null },
    anchor: anchorState(head),
  });
  for (const r of rows) {
    const expectedSeq = (prev?.seq ?? 0) + 1;
    if (r.hash !== entryHash(r))
      return bad(
        r,
        r.seq,
        `entry #${r.seq} (${r.action} ${r.subject}) was changed after it was written: its contents do not match its hash`,
      );
    if (r.seq !== expectedSeq) {
      const missing =
        r.seq > expectedSeq
          ? `entr${r.seq - expectedSeq > 1 ? `ies #${expectedSeq}–#${r.seq - 1} are` : `y #${expectedSeq} is`} missing`
          : `it comes after #${prev?.seq}`;
      return bad(
        r,
        r.seq,
        `entry #${r.seq} (${r.action} ${r.subject}) is out of sequence: ${missing} (deleted or reordered)`,
      );
    }
    if (r.prev_hash !== (prev?.hash ?? GENESIS_HASH)) {
      return bad(
        r,
        r.seq,
        `entry #${r.seq} (${r.action} ${r.subject}) does not follow ${prev ? `#${prev.seq}` : 'the start of the log'}: an entry before it was removed, replaced or reordered`,
      );
    }
    prev = r;
    count++;
  }
  if (head && head !== 'unreadable') {
    if (!prev || prev.seq < head.seq) {
      return bad(
        null,
        head.seq,
        `the log ends at ${prev ? `#${prev.seq}` : 'nothing'}, but entry #${head.seq} was written (${AUDIT_HEAD_FILE}): entries were deleted from the end`,
      );
    }
  }
  return {
    ok: true,
    entries: count,
    head: prev ? { seq: prev.seq, hash: prev.hash } : null,
    firstBad: null,
    anchor: anchorState(head),
  };
}

function anchorState(head: AuditHead | null | 'unreadable'): AuditVerification['anchor'] {
  return head === null ? 'missing' : head === 'unreadable' ? 'unreadable' : 'checked';
}

/** The anchored entry must still carry the anchored hash (the whole chain rewritten from there on). */
export function checkAnchoredEntry(db: Db, head: AuditHead | null | 'unreadable'): string | null {
  if (!head || head === 'unreadable') return null;
  const h = db.prepare(`SELECT hash FROM audit_log WHERE seq = ?`).pluck().get(head.seq) as string | undefined;
  if (h !== undefined && h !== head.hash)
    return `entry #${head.seq} does not carry the hash recorded in ${AUDIT_HEAD_FILE} (${head.hash.slice(0, 12)}…): the log was rewritten from there on`;
  return null;
}
