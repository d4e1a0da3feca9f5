/** Lineage of a version: where it came from (git, config, data, run, parent), and its display form. */
import { formatBytes } from '../../../shared/format';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hashFile } from './artifacts';
import type { DatasetRef, Digest, Registry, RunRecord, VersionRecord } from './types';

const GIT_TIMEOUT_MS = 3000;

function run(cmd: string, args: string[], cwd: string): Promise<string | null> {
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024, windowsHide: true },
      (err, stdout) => {
        done(err ? null : stdout);
      },
    );
  });
}

/** True when `dir` or a parent holds `.git`: saves spawning git outside repositories. */
function insideGitTree(dir: string): boolean {
  let d = resolve(dir);
  for (;;) {
    if (existsSync(join(d, '.git'))) return true;
    const up = dirname(d);
    if (up === d) return false;
    d = up;
  }
}

/** HEAD commit and whether the tree has changes; nulls when git is absent or this is no repository. */
export async function gitState(root: string): Promise<{ commit: string | null; dirty: boolean | null }> {
  if (!insideGitTree(root)) return { commit: null, dirty: null };
  const head = await run('git', ['rev-parse', 'HEAD'], root);
  const commit = head && /^[0-9a-f]{40,64}$/.test(head.trim()) ? head.trim() : null;
  if (!commit) return { commit: null, dirty: null };
  const status = await run('git', ['status', '--porcelain', '--untracked-files=no'], root);
  return { commit, dirty: status === null ? null : status.trim().length > 0 };
}

export async function configDigest(path: string): Promise<Digest> {
  return hashFile(path);
}

export interface LineageNode {
  version: string;
  note: string | null;
  createdAt: string;
}

/** Lineage laid out for a tooltip, a details view or the CLI. */
export interface LineageView {
  ref: string;
  model: string;
  version: string;
  artifact: { digest: Digest; kind: 'file' | 'directory'; format: string; sizeBytes: number };
  run: Pick<RunRecord, 'id' | 'kind' | 'status' | 'startedAt' | 'durationMs' | 'backend'> | null;
  configDigest: Digest | null;
  datasets: DatasetRef[];
  git: { commit: string; dirty: boolean | null } | null;
  /** Parent first, then its parent, … (stops at a missing version or after 50). */
  ancestors: LineageNode[];
  /** Label/value lines in display order. */
  lines: Array<{ label: string; value: string }>;
}

const short = (d: string | null): string => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '—');

export function buildLineage(registry: Registry, ref: string): LineageView {
  const v: VersionRecord = registry.getVersion(ref);
  let run: LineageView['run'] = null;
  if (v.runId) {
    try {
      const r = registry.getRun(v.runId);
      run = {
        id: r.id,
        kind: r.kind,
        status: r.status,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        backend: r.backend,
      };
    } catch {
      run = null;
    }
  }
  const ancestors: LineageNode[] = [];
  const seen = new Set<string>([v.version]);
  let parent: string | null = v.parentVersion;
  while (parent && !seen.has(parent) && ancestors.length < 50) {
    const current: string = parent;
    seen.add(current);
    try {
      const p = registry.getVersion(`${v.model}@${current}`);
      ancestors.push({ version: p.version, note: p.note, createdAt: p.createdAt });
      parent = p.parentVersion;
    } catch {
      ancestors.push({ version: current, note: '(deleted)', createdAt: '' });
      break;
    }
  }
  const git = v.gitCommit ? { commit: v.gitCommit, dirty: v.gitDirty } : null;
  const lines: LineageView['lines'] = [
    { label: 'version', value: `${v.model}@${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}` },
    {
      label: 'artifact',
      value: `${v.format} ${v.artifactKind}, ${formatBytes(v.sizeBytes)}, ${short(v.artifactDigest)}`,
    },
    { label: 'run', value: run ? `${run.id} (${run.kind}, ${run.status})` : v.runId ? `${v.runId} (not found)` : '—' },
    { label: 'config', value: short(v.configDigest) },
    {
      label: 'data',
      value: v.datasets.length ? v.datasets.map((d) => `${d.role}: ${d.path} (${short(d.digest)})`).join('; ') : '—',
    },
    { label: 'git', value: git ? `${git.commit.slice(0, 12)}${git.dirty ? ' (dirty)' : ''}` : '—' },
    { label: 'parent', value: ancestors.length ? ancestors.map((a) => a.version).join(' ← ') : '—' },
    { label: 'created', value: v.createdAt },
  ];
  if (v.origin)
    lines.push({
      label: 'imported',
      value: `from ${v.origin.ref} (${v.origin.archive.name}, exported ${v.origin.exportedAt.slice(0, 10)}${v.origin.exportedBy ? ` by ${v.origin.exportedBy}` : ''}; first registered ${v.origin.createdAt.slice(0, 10)}${v.origin.registeredBy ? ` by ${v.origin.registeredBy}` : ''})`,
    });
  if (v.note) lines.push({ label: 'note', value: v.note });
  return {
    ref: `${v.model}@${v.version}`,
    model: v.model,
    version: v.version,
    artifact: { digest: v.artifactDigest, kind: v.artifactKind, format: v.format, sizeBytes: v.sizeBytes },
    run,
    configDigest: v.configDigest,
    datasets: v.datasets,
    git,
    ancestors,
    lines,
  };
}

export { formatBytes };
