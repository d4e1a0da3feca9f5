/**
 * Deployments of versions to targets (one active per model and target; a new one supersedes
 * it) and the monitoring alerts raised against them: tables `deployments` and `alerts`.
 */
import { ModelOpsError } from '../errors';
import { filters, json, now, pageLimit, type StoreHandle } from './handle';
import type { VersionLookup } from './versions';
import type { AlertRecord, DeploymentRecord } from './types';

interface DeploymentRow {
  id: number;
  target: string;
  model: string;
  version: string;
  status: DeploymentRecord['status'];
  previous_version: string | null;
  at: string;
  steps: string;
  reason: string | null;
  approval_id?: number | null;
}

interface AlertRow {
  id: number;
  target: string;
  model: string;
  version: string;
  rule: string;
  metric: string;
  message: string;
  at: string;
  acknowledged: number;
}

function toDeployment(r: DeploymentRow): DeploymentRecord {
  return {
    id: r.id,
    target: r.target,
    model: r.model,
    version: r.version,
    status: r.status,
    previousVersion: r.previous_version,
    at: r.at,
    steps: json<DeploymentRecord['steps']>(r.steps, []),
    reason: r.reason,
    approvalId: r.approval_id ?? null,
  };
}

function toAlert(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    target: r.target,
    model: r.model,
    version: r.version,
    rule: r.rule,
    metric: r.metric,
    message: r.message,
    at: r.at,
    acknowledged: r.acknowledged === 1,
  };
}

export class DeploymentStore {
  constructor(
    private readonly h: StoreHandle,
    private readonly versions: VersionLookup,
  ) {}

  recordDeployment(d: Omit<DeploymentRecord, 'id' | 'at'>): DeploymentRecord {
    const id = this.h.write(() => {
      const row = this.versions.findRow(`${d.model}@${d.version}`);
      // One active deployment per model and target: a new active one supersedes the old.
      if (d.status === 'active') {
        this.h
          .stmt<[string, string]>(
            `UPDATE deployments SET status = 'superseded' WHERE target = ? AND model = ? AND status = 'active'`,
          )
          .run(d.target, d.model);
      }
      const info = this.h
        .stmt<
          [
            string,
            string,
            string,
            DeploymentRecord['status'],
            string | null,
            string,
            string,
            string | null,
            number | null,
          ]
        >(
          `INSERT INTO deployments (target, model, version, status, previous_version, at, steps, reason, approval_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          d.target,
          d.model,
          d.version,
          d.status,
          d.previousVersion,
          now(),
          JSON.stringify(d.steps ?? []),
          d.reason,
          d.approvalId ?? null,
        );
      const id = Number(info.lastInsertRowid);
      this.h.record({
        action: d.status === 'active' ? 'deploy' : d.status === 'rolled-back' ? 'deploy.rolled-back' : 'deploy.failed',
        subject: `${d.model}@${d.version} → ${d.target}`,
        model: d.model,
        version: d.version,
        target: d.target,
        before: { version: d.previousVersion },
        after: {
          deployment: id,
          status: d.status,
          artifactDigest: row.artifact_digest,
          reason: d.reason,
          approvalId: d.approvalId ?? null,
          failed: (d.steps ?? []).filter((s) => !s.ok).map((s) => `${s.step}: ${s.detail}`),
        },
      });
      return id;
    });
    this.h.emit({ kind: 'deployments', model: d.model }, { kind: 'versions', model: d.model });
    return this.h.read(() =>
      toDeployment(
        this.h.stmt<[number], DeploymentRow>(`SELECT * FROM deployments WHERE id = ?`).get(id) as DeploymentRow,
      ),
    );
  }

  listDeployments(query: { target?: string; model?: string; limit?: number } = {}): DeploymentRecord[] {
    return this.h.read(() => {
      const { sql, params } = filters({ 'target = ?': query.target, 'model = ?': query.model });
      const rows = this.h
        .stmt<Array<string | number>, DeploymentRow>(`SELECT * FROM deployments ${sql} ORDER BY id DESC LIMIT ?`)
        .all(...params, pageLimit(query.limit));
      return rows.map(toDeployment);
    });
  }

  activeDeployment(target: string, model: string): DeploymentRecord | null {
    return this.h.read(() => {
      const row = this.h
        .stmt<[string, string], DeploymentRow>(
          `SELECT * FROM deployments WHERE target = ? AND model = ? AND status = 'active' ORDER BY id DESC LIMIT 1`,
        )
        .get(target, model);
      return row ? toDeployment(row) : null;
    });
  }

  recordAlert(a: Omit<AlertRecord, 'id' | 'at' | 'acknowledged'>): AlertRecord {
    const id = this.h.write(() =>
      Number(
        this.h
          .stmt<[string, string, string, string, string, string, string]>(
            `INSERT INTO alerts (target, model, version, rule, metric, message, at, acknowledged) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
          )
          .run(a.target, a.model, a.version, a.rule, a.metric, a.message, now()).lastInsertRowid,
      ),
    );
    this.h.emit({ kind: 'alerts', model: a.model });
    return this.h.read(() =>
      toAlert(this.h.stmt<[number], AlertRow>(`SELECT * FROM alerts WHERE id = ?`).get(id) as AlertRow),
    );
  }

  listAlerts(query: { target?: string; unacknowledgedOnly?: boolean; limit?: number } = {}): AlertRecord[] {
    return this.h.read(() => {
      const { sql, params } = filters({
        'target = ?': query.target,
        'acknowledged = 0': query.unacknowledgedOnly ? true : undefined,
      });
      const rows = this.h
        .stmt<Array<string | number>, AlertRow>(`SELECT * FROM alerts ${sql} ORDER BY id DESC LIMIT ?`)
        .all(...params, pageLimit(query.limit));
      return rows.map(toAlert);
    });
  }

  acknowledgeAlert(id: number): void {
    this.acknowledgeAlerts({ ids: [id] });
  }

  /**
   * Marks alerts acknowledged: the ones named (an unknown id is refused and nothing changes), or
   * every unacknowledged one of a target. One audit entry per target says who, which and how many.
   * Returns the alerts that were unacknowledged before.
   */
  acknowledgeAlerts(query: { ids?: readonly number[]; target?: string }): AlertRecord[] {
    const changed = this.h.write(() => {
      let rows: AlertRow[];
      if (query.ids) {
        rows = [];
        for (const id of query.ids) {
          const row = this.h.stmt<[number], AlertRow>(`SELECT * FROM alerts WHERE id = ?`).get(id);
          if (!row)
            throw new ModelOpsError(
              'alert-not-found',
              `No alert #${id}.`,
              'List the alerts to see their numbers: modelops alerts.',
            );
          if (query.target !== undefined && row.target !== query.target)
            throw new ModelOpsError(
              'alert-not-found',
              `Alert #${id} is on target '${row.target}', not '${query.target}'.`,
              'List the alerts of that target: modelops alerts --target <name>.',
            );
          if (!row.acknowledged) rows.push(row);
        }
      } else {
        const { sql, params } = filters({ 'target = ?': query.target, 'acknowledged = 0': true });
        rows = this.h.stmt<Array<string | number>, AlertRow>(`SELECT * FROM alerts ${sql} ORDER BY id`).all(...params);
      }
      const byTarget = new Map<string, AlertRow[]>();
      for (const row of rows) {
        this.h.stmt<[number]>(`UPDATE alerts SET acknowledged = 1 WHERE id = ?`).run(row.id);
        const list = byTarget.get(row.target);
        if (list) list.push(row);
        else byTarget.set(row.target, [row]);
      }
      for (const [target, list] of byTarget)
        this.h.record({
          action: 'alerts.acknowledge',
          subject: `target ${target}`,
          target,
          model: new Set(list.map((r) => r.model)).size === 1 ? list[0].model : null,
          after: { alerts: list.map((r) => r.id), count: list.length },
        });
      return rows;
    });
    for (const model of new Set(changed.map((r) => r.model))) this.h.emit({ kind: 'alerts', model });
    return changed.map((r) => toAlert({ ...r, acknowledged: 1 }));
  }
}
