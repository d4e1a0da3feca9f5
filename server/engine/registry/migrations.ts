/**
 * The registry schema as an ordered list of migrations. `PRAGMA user_version` holds how many
 * have run; opening an older database runs the rest in one transaction, keeping its data.
 * Append new migrations; never edit one that has shipped.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'models, versions, aliases with history, runs with metric series, datasets',
    sql: `
      CREATE TABLE models (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
      );
      CREATE TABLE versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL REFERENCES models(name),
        version TEXT NOT NULL,
        major INTEGER NOT NULL,
        minor INTEGER NOT NULL,
        patch INTEGER NOT NULL,
        artifact_digest TEXT NOT NULL,
        artifact_kind TEXT NOT NULL CHECK (artifact_kind IN ('file', 'directory')),
        format TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        signature TEXT,
        metrics TEXT NOT NULL DEFAULT '{}',
        run_id TEXT,
        config_digest TEXT,
        datasets TEXT NOT NULL DEFAULT '[]',
        git_commit TEXT,
        git_dirty INTEGER,
        parent_version TEXT,
        note TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        UNIQUE (model, version)
      );
      CREATE INDEX versions_semver ON versions (model, major, minor, patch);
      CREATE TABLE aliases (
        model TEXT NOT NULL REFERENCES models(name),
        alias TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES versions(id),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, alias)
      );
      CREATE TABLE alias_moves (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        alias TEXT NOT NULL,
        from_version TEXT,
        to_version TEXT,
        reason TEXT,
        at TEXT NOT NULL
      );
      CREATE INDEX alias_moves_by_alias ON alias_moves (model, alias, id);
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        model TEXT,
        status TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        backend TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms INTEGER,
        error TEXT,
        version TEXT,
        metrics TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX runs_by_start ON runs (started_at);
      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
      );
      CREATE TABLE datasets (
        digest TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        rows INTEGER NOT NULL,
        columns TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'gate reports, deployments, alerts, directory artifact files, created-time index',
    sql: `
      CREATE TABLE gate_reports (
        version_id INTEGER PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE,
        passed INTEGER NOT NULL,
        report TEXT NOT NULL,
        evaluated_at TEXT NOT NULL
      );
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        previous_version TEXT,
        at TEXT NOT NULL,
        steps TEXT NOT NULL DEFAULT '[]',
        reason TEXT
      );
      CREATE INDEX deployments_by_target ON deployments (target, model, status);
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        rule TEXT NOT NULL,
        metric TEXT NOT NULL,
        message TEXT NOT NULL,
        at TEXT NOT NULL,
        acknowledged INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE artifact_files (
        artifact_digest TEXT NOT NULL,
        path TEXT NOT NULL,
        blob_digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (artifact_digest, path)
      );
      CREATE INDEX versions_created ON versions (model, created_at);
    `,
  },
  {
    version: 3,
    description: 'alias moves record their kind (set or rollback) and a gate override reason',
    sql: `
      ALTER TABLE alias_moves ADD COLUMN kind TEXT NOT NULL DEFAULT 'set';
      ALTER TABLE alias_moves ADD COLUMN force_reason TEXT;
    `,
  },
  {
    version: 4,
    description:
      'runs record the process that runs them (pid, its start time, host), so an interrupted run can be told from a live one',
    sql: `
      ALTER TABLE runs ADD COLUMN pid INTEGER;
      ALTER TABLE runs ADD COLUMN pid_start TEXT;
      ALTER TABLE runs ADD COLUMN host TEXT;
      CREATE INDEX runs_running ON runs (status) WHERE status = 'running';
    `,
  },
  {
    version: 5,
    description: 'governance: a hash-chained audit trail, approval records, the actor who registered each version',
    sql: `
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        model TEXT,
        version TEXT,
        alias TEXT,
        target TEXT,
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_by_model ON audit_log (model, seq);
      CREATE TABLE approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        artifact_digest TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('alias', 'target')),
        name TEXT NOT NULL,
        approver TEXT NOT NULL,
        comment TEXT,
        at TEXT NOT NULL
      );
      CREATE INDEX approvals_by_subject ON approvals (model, version, scope, name);
      ALTER TABLE versions ADD COLUMN registered_by TEXT;
      ALTER TABLE deployments ADD COLUMN approval_id INTEGER;
    `,
  },
  {
    version: 6,
    description: 'hyperparameter studies and their trials (each trial a training run)',
    sql: `
      CREATE TABLE studies (
        id TEXT PRIMARY KEY,
        model TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
        sampler TEXT NOT NULL,
        metric TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
        space TEXT NOT NULL,
        settings TEXT NOT NULL,
        config_path TEXT,
        config_digest TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        error TEXT,
        registered_version TEXT
      );
      CREATE TABLE study_trials (
        study_id TEXT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'pruned', 'failed', 'cancelled')),
        params TEXT NOT NULL,
        value REAL,
        intermediate TEXT NOT NULL DEFAULT '[]',
        epochs INTEGER NOT NULL DEFAULT 0,
        run_id TEXT,
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        PRIMARY KEY (study_id, number)
      );
      CREATE INDEX studies_created ON studies (created_at);
    `,
  },
  {
    version: 7,
    description: 'data versions: datasets keep their bytes as content-defined chunks, and a column profile',
    sql: `
      ALTER TABLE datasets ADD COLUMN profile TEXT;
      ALTER TABLE datasets ADD COLUMN freed_at TEXT;
      CREATE TABLE data_versions (
        digest TEXT PRIMARY KEY REFERENCES datasets(digest),
        size INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL,
        stored_at TEXT NOT NULL
      );
      CREATE TABLE data_chunks (
        digest TEXT NOT NULL REFERENCES data_versions(digest) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        chunk TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (digest, seq)
      ) WITHOUT ROWID;
      CREATE INDEX data_chunks_by_chunk ON data_chunks (chunk);
    `,
  },
  {
    version: 8,
    description: 'versions imported from a version archive keep where they came from',
    sql: `
      ALTER TABLE versions ADD COLUMN origin TEXT;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
