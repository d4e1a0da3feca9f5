/** `modelops data list|show|checkout|add`: data versions, the exact bytes each model version was trained on. */
import { basename, resolve } from 'node:path';
import type { CliCommand, CliIO } from '../command';
import { displayPath, formatNumber, paint, table } from '../output';
import { findWorkspaceRoot, need, parseCli, printJson, str } from '../shared/args';
import { openForRead } from '../shared/registry';
import { ModelOpsError } from '../../engine/errors';
import { workspacePath } from '../../engine/paths';
import { formatBytes } from '../../../shared/format';
import { openRegistry, type WorkspaceRegistry } from '../../engine/registry';
import {
  notStoredError,
  type DataUse,
  type DataVersionRecord,
  type DataVersions,
} from '../../engine/registry/datasets';
import type { DatasetRef } from '../../engine/registry/types';
import { readDataset } from '../../engine/data/read';
import { checkoutData } from '../../engine/data/store/checkout';
import { profileDataset } from '../../engine/data/store/profile';
import { DataStore } from '../../engine/data/store/store';

const USAGE = `Usage: modelops data <command> [options]

  list [--json]                        (the default) every recorded dataset: digest, path, rows, size, whether
                                       its bytes are stored, the versions that used it
  show <digest-prefix|model@version> [--role r] [--json]
                                       rows, columns, profile, size, chunks, dedup, versions
  checkout <digest|model@version> [--role train|validation|test|evaluation] [--out dir] [--force] [--json]
                                       restores the exact bytes (digest verified) into --out
                                       (default: the current folder), named as recorded; never
                                       replaces an existing file without --force
  add <file> [--json]                  stores a CSV/JSONL file as a data version (e.g. one
                                       recorded by digest only before data versions existed)

  --root dir   the workspace (default: the nearest folder up holding .modelops/ or modelops.yaml)

Every dataset a training run (or a registration with a config) reads is stored automatically.
See docs/data.md.`;

const short = (d: string): string => `${d.slice(0, 19)}…`;
const useLabel = (u: DataUse): string =>
  `${u.model}@${u.version}${u.aliases.length ? ` (${u.aliases.join(', ')})` : ''}`;
const ROLES: ReadonlyArray<DatasetRef['role']> = ['train', 'validation', 'test', 'evaluation', 'other'];

function storedState(d: DataVersionRecord): string {
  if (d.stored) return 'stored';
  return d.freedAt ? 'freed by gc' : 'digest only';
}

interface Target {
  record: DataVersionRecord;
  /** Set when resolved through a version. */
  role: DatasetRef['role'] | null;
  path: string;
}

/**
 * The datasets a reference names: a digest (or prefix), or a version's datasets (optionally one role).
 * Hex-only text is a digest; anything with '@' (or a bare model name) is a version.
 */
function resolveTargets(reg: WorkspaceRegistry, d: DataVersions, ref: string, role: string | undefined): Target[] {
  if (role !== undefined && !ROLES.includes(role as DatasetRef['role'])) {
    throw new ModelOpsError(
      'cli-usage',
      `--role must be one of ${ROLES.join(', ')}, not '${role}'.`,
      'e.g. --role train',
    );
  }
  if (ref.startsWith('sha256:') && !/^sha256:[0-9a-fA-F]+$/.test(ref)) {
    throw new ModelOpsError(
      'cli-usage',
      `'${ref.slice(0, 80)}' is not a data digest: after 'sha256:' come hexadecimal digits (all 64, or a prefix).`,
      'List data versions and their digests with `modelops data list`.',
    );
  }
  if (!ref.includes('@') && /^(sha256:)?[0-9a-fA-F]+$/.test(ref)) {
    const digest = d.resolveDigest(ref);
    const record = d.get(digest);
    if (!record)
      throw new ModelOpsError(
        'data-version-not-found',
        `No dataset with digest ${digest} in the registry.`,
        'List data versions with `modelops data list`.',
      );
    return [{ record, role: null, path: record.path }];
  }
  const v = reg.getVersion(ref);
  const label = `${v.model}@${v.version}`;
  if (v.datasets.length === 0) {
    throw new ModelOpsError(
      'data-version-not-found',
      `${label} has no recorded data: it was registered without datasets (a model file registered on its own, or by an external trainer).`,
      'Versions trained with `modelops train` record their data; see docs/data.md.',
    );
  }
  const refs = role ? v.datasets.filter((r) => r.role === role) : v.datasets;
  if (refs.length === 0) {
    throw new ModelOpsError(
      'data-version-not-found',
      `${label} has no ${role} dataset (it has: ${v.datasets.map((r) => r.role).join(', ')}).`,
      `Use --role ${v.datasets[0].role}, or leave --role out for all of them.`,
    );
  }
  return refs.map((r) => {
    const record = d.get(r.digest);
    if (!record) {
      throw new ModelOpsError(
        'data-version-not-found',
        `${label} names ${r.role} data ${r.path} (${r.digest}), but the registry has no record of it.`,
        'Retrain the version, or store the file with `modelops data add <file>` (its digest must match).',
      );
    }
    return { record, role: r.role, path: r.path };
  });
}

function withRead<T>(root: string, fn: (reg: WorkspaceRegistry, d: DataVersions) => Promise<T>): Promise<T> {
  const reg = openForRead(root);
  return fn(reg, reg.datasets).finally(() => reg.close());
}

function details(d: DataVersions, t: Target, uses: DataUse[]) {
  const m = t.record.stored ? d.manifest(t.record.digest) : null;
  const sharing = m ? d.chunkSharing(m.digest) : null;
  const sharedBytes =
    m && sharing ? m.chunks.filter((c) => sharing.sharedChunks.has(c.digest)).reduce((s, c) => s + c.size, 0) : 0;
  return {
    ...t.record,
    role: t.role,
    chunks: m ? m.chunks.length : 0,
    sharedBytes,
    sharedFraction: m && m.size > 0 ? sharedBytes / m.size : 0,
    usedBy: uses,
  };
}

async function list(root: string, json: boolean, io: CliIO): Promise<number> {
  return withRead(root, async (_reg, d) => {
    const all = d.withVersions();
    const totals = d.totals();
    if (json)
      return printJson(io, {
        datasets: all,
        store: { ...totals, dedupRatio: totals.storedBytes > 0 ? totals.logicalBytes / totals.storedBytes : null },
      });
    if (all.length === 0) {
      io.out(
        'No datasets recorded yet. Training (`modelops train`) stores the data it reads; `modelops data add <file>` stores one by hand.',
      );
      return 0;
    }
    const c = paint(io.isTTY);
    const rows = all.map((x) => [
      short(x.digest),
      x.path,
      x.rows,
      x.columns.length,
      x.stored ? formatBytes(x.stored.size) : '—',
      x.stored ? c.green('stored') : c.yellow(storedState(x)),
      x.usedBy.map(useLabel).join(', ') || '—',
    ]);
    io.out(table(['DIGEST', 'PATH', 'ROWS', 'COLS', 'SIZE', 'BYTES', 'USED BY'], rows));
    if (totals.logicalBytes > 0)
      io.out(
        `\n${formatBytes(totals.logicalBytes)} of data in ${formatBytes(totals.storedBytes)} of chunks (dedup ×${(totals.logicalBytes / Math.max(1, totals.storedBytes)).toFixed(2)})`,
      );
    return 0;
  });
}

async function show(root: string, ref: string, role: string | undefined, json: boolean, io: CliIO): Promise<number> {
  return withRead(root, async (reg, d) => {
    const targets = resolveTargets(reg, d, ref, role);
    const uses = d.withVersions();
    const out = targets.map((t) => details(d, t, uses.find((u) => u.digest === t.record.digest)?.usedBy ?? []));
    if (json) return printJson(io, out.length === 1 && !ref.includes('@') ? out[0] : out);
    const c = paint(io.isTTY);
    out.forEach((x, i) => {
      if (i > 0) io.out('');
      io.out(c.bold(`${x.role ? `${x.role}: ` : ''}${x.path}`) + `  ${x.digest}`);
      io.out(`  rows ${x.rows}, columns ${x.columns.length}, recorded ${x.createdAt}`);
      if (x.stored) {
        io.out(
          `  stored: ${formatBytes(x.stored.size)} in ${x.chunks} chunks at ${x.stored.storedAt}; ${formatBytes(x.sharedBytes)} (${Math.round(x.sharedFraction * 100)}%) shared with other data versions`,
        );
      } else {
        io.out(`  ${c.yellow(notStoredError(x).message)}`);
      }
      io.out(`  used by: ${x.usedBy.map(useLabel).join(', ') || '—'}`);
      if (x.profile && x.profile.length > 0) {
        io.out('');
        io.out(
          table(
            ['COLUMN', 'TYPE', 'COUNT', 'MISSING', 'MIN', 'MAX', 'MEAN', 'DISTINCT', 'TOP'],
            x.profile.map((p) => [
              p.name,
              p.type,
              p.count,
              p.missing,
              formatNumber(p.min),
              formatNumber(p.max),
              formatNumber(p.mean),
              p.distinct === undefined ? '—' : `${p.distinct}${p.distinctCapped ? '+' : ''}`,
              (p.top ?? [])
                .slice(0, 3)
                .map((t) => `${t.value} (${t.count})`)
                .join(', ') || '—',
            ]),
          ),
        );
      }
    });
    return 0;
  });
}

/** The file name a restored dataset gets: the recorded name, prefixed by its role when two would collide. */
function outNames(targets: Target[]): string[] {
  const names = targets.map((t) => basename(t.path.split('\\').join('/')) || `${t.record.digest.slice(7, 19)}.data`);
  return names.map((n, i) =>
    names.indexOf(n) !== names.lastIndexOf(n) && targets[i].role ? `${targets[i].role}-${n}` : n,
  );
}

async function checkout(
  root: string,
  ref: string,
  role: string | undefined,
  outDir: string,
  force: boolean,
  json: boolean,
  io: CliIO,
): Promise<number> {
  return withRead(root, async (reg, d) => {
    const targets = resolveTargets(reg, d, ref, role);
    const store = new DataStore(reg.storeDir);
    // Every target is checked before anything is written.
    const plans = targets.map((t, i) => {
      const m = t.record.stored ? d.manifest(t.record.digest) : null;
      if (!m) throw notStoredError(t.record);
      return { t, m, out: resolve(outDir, outNames(targets)[i]) };
    });
    const done: Array<{ role: string | null; path: string; digest: string; size: number; out: string }> = [];
    for (const p of plans) {
      const r = await checkoutData(store, p.m, p.out, { force });
      done.push({ role: p.t.role, path: p.t.path, digest: p.m.digest, size: r.size, out: r.path });
    }
    if (json) return printJson(io, done);
    const c = paint(io.isTTY);
    for (const x of done)
      io.out(
        `${c.green('✓')} ${x.role ? `${x.role} ` : ''}${x.path} → ${displayPath(io.cwd, x.out)} (${formatBytes(x.size)}, ${short(x.digest)} verified)`,
      );
    return 0;
  });
}

async function add(root: string, file: string, json: boolean, io: CliIO): Promise<number> {
  const abs = resolve(io.cwd, file);
  const shown = workspacePath(root, abs);
  // Read first: a file that is not a table is refused before anything is stored.
  const ds = await readDataset(abs, { displayName: shown });
  const reg = openRegistry(root);
  try {
    const store = new DataStore(reg.storeDir);
    const put = await store.putFile(abs);
    const columns = ds.columns.map((col) => ({ name: col.name, type: col.type }));
    reg.datasets.record({
      manifest: put.manifest,
      path: shown,
      rows: ds.rows.length,
      columns,
      profile: profileDataset(ds),
    });
    reg.recordDataset({ digest: put.manifest.digest, path: shown, rows: ds.rows.length, columns });
    const result = {
      digest: put.manifest.digest,
      path: shown,
      rows: ds.rows.length,
      columns: columns.length,
      size: put.manifest.size,
      chunks: put.manifest.chunks.length,
      newChunks: put.newChunks,
      newBytes: put.newBytes,
    };
    if (json) return printJson(io, result);
    io.out(
      `${paint(io.isTTY).green('✓')} stored ${shown} as ${result.digest}: ${result.rows} rows, ${result.columns} columns, ${formatBytes(result.size)} in ${result.chunks} chunks (${result.newChunks} new, ${formatBytes(result.newBytes)} written)`,
    );
    return 0;
  } finally {
    reg.close();
  }
}

export const dataCommand: CliCommand = {
  name: 'data',
  summary: 'Data versions: list, show, checkout the exact bytes a version was trained on, add a file',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        role: { type: 'string' },
        out: { type: 'string' },
        force: { type: 'boolean' },
      },
      USAGE,
    );
    // `modelops data` alone lists, as `versions`, `alerts` and `audit` do.
    const [sub = 'list', arg, ...extra] = a.positionals;
    const root = findWorkspaceRoot(io.cwd, str(a.values.root));
    const json = a.values.json === true;
    const role = str(a.values.role);
    if (extra.length > 0) throw new ModelOpsError('cli-usage', `Unexpected argument '${extra[0]}'.`, USAGE);
    const only = (allowed: string[]): void => {
      for (const k of ['role', 'out', 'force'] as const) {
        if (a.values[k] !== undefined && !allowed.includes(k))
          throw new ModelOpsError('cli-usage', `--${k} does not apply to \`data ${sub}\`.`, USAGE);
      }
    };
    switch (sub) {
      case 'list':
        only([]);
        if (arg !== undefined) throw new ModelOpsError('cli-usage', `Unexpected argument '${arg}'.`, USAGE);
        return list(root, json, io);
      case 'show':
        only(['role']);
        return show(root, need(arg, 'the dataset (a digest prefix or model@version)', USAGE), role, json, io);
      case 'checkout':
        only(['role', 'out', 'force']);
        return checkout(
          root,
          need(arg, 'the dataset (a digest or model@version)', USAGE),
          role,
          resolve(io.cwd, str(a.values.out) ?? '.'),
          a.values.force === true,
          json,
          io,
        );
      case 'add':
        only([]);
        return add(root, need(arg, 'the file to store', USAGE), json, io);
      default:
        throw new ModelOpsError('cli-usage', `Unknown data command '${sub}'.`, USAGE);
    }
  },
};
