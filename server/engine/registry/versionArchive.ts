/**
 * Version archives: one registered version as a single `.modelops.tgz` file that another
 * workspace imports as the same version — to hand a model to a teammate, a CI machine or a
 * server without sharing the registry.
 *
 * The archive is a gzipped tar whose first entry, `modelops-version.json`, lists every other
 * entry with its SHA-256 and size, and carries the version's record: format, signature,
 * metrics, gate report, datasets, git lineage, note, tags, who registered it and when. Then come
 * the artifact's files (`artifact/…`), the config the version was trained with
 * (`config/modelops.yaml`) and, when asked, the exact bytes of its datasets (`data/…`).
 *
 * Import checks everything before the registry changes: only listed regular files, each once,
 * each matching its digest and size; then the datasets are stored as data versions, the artifact
 * registered under the same model@version (or `--model`/`--version`), and its digest checked
 * against the recorded one. The version keeps its git lineage and records its origin. What stays
 * behind: runs and their metric series, alias positions, approvals and deployments — they are
 * decisions of the workspace that made them.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, sep } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { ModelOpsError } from '../errors';
import { checkOutputPath, tempBeside, workspacePath } from '../paths';
import { PRODUCT_VERSION } from '../version';
import { DataStore } from '../data/store/store';
import { checkoutData } from '../data/store/checkout';
import { hashFile } from './artifacts';
import { formatExtension } from './modelFiles';
import { notStoredError, type DataVersionRecord } from './datasets';
import { validateModelName } from './refs';
import type { WorkspaceRegistry } from './registry';
import { requireSemver } from './semver';
import type {
  DatasetRef,
  Digest,
  RecordDataInput,
  RunMetricPoint,
  RunRecord,
  VersionOrigin,
  VersionRecord,
} from './types';

const KIND = 'modelops-version-archive';
const FORMAT_VERSION = 1;
const MANIFEST = 'modelops-version.json';
/** A version's record with its gate report is a few KiB; a manifest this large is not ours. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export interface ArchiveEntry {
  /** Path inside the archive (posix, relative). */
  path: string;
  digest: Digest;
  size: number;
}

/** A dataset carried in the archive: its bytes are the entry, its record what `data show` shows. */
export interface ArchivedData extends ArchiveEntry {
  record: Pick<DataVersionRecord, 'digest' | 'path' | 'rows' | 'columns' | 'profile'>;
}

/** `modelops-version.json`. */
export interface ArchiveManifest {
  kind: typeof KIND;
  formatVersion: number;
  /** The ModelOps that wrote it. */
  writtenBy: string;
  exportedAt: string;
  exportedBy: string | null;
  version: Pick<
    VersionRecord,
    | 'model'
    | 'version'
    | 'format'
    | 'artifactKind'
    | 'artifactDigest'
    | 'sizeBytes'
    | 'signature'
    | 'metrics'
    | 'gates'
    | 'datasets'
    | 'gitCommit'
    | 'gitDirty'
    | 'parentVersion'
    | 'note'
    | 'tags'
    | 'createdAt'
    | 'registeredBy'
    | 'origin'
  >;
  /** The artifact's files (one for a file artifact), under `artifact/`. */
  artifact: ArchiveEntry[];
  /** The parent version's artifact digest: import keeps the parent link only to the same bytes. */
  parentDigest: Digest | null;
  config: ArchiveEntry | null;
  data: ArchivedData[];
  /** The run that registered the version (training or evaluation) with its metric series; absent in older archives. */
  run?: ArchivedRun | null;
}

/** A finished run as the archive carries it: what `runs show` and the training curves need. */
export interface ArchivedRun {
  record: RunRecord;
  series: RunMetricPoint[];
}

type Progress = (done: number, total: number) => void;

export interface ExportVersionOptions {
  /** model@version or model@alias. */
  ref: string;
  /** The archive to write (absolute). */
  out: string;
  /** Replace an existing file (default: refuse, and write nothing). */
  force?: boolean;
  /** Carry the exact bytes of the version's datasets (default: their digests only). */
  withData?: boolean;
  signal?: AbortSignal;
  /** Bytes of the archive's content written so far, and the total. */
  onProgress?: Progress;
}

export interface ExportVersionResult {
  ref: string;
  /** The archive as shown (workspace-relative when inside it). */
  out: string;
  /** Bytes of the archive file (compressed). */
  size: number;
  digest: Digest;
  files: number;
  /** Datasets whose bytes are in the archive. */
  data: Array<{ role: DatasetRef['role']; path: string; digest: Digest; size: number }>;
  /** The run carried with its metric series. */
  run: RunSummary | null;
}

/** A carried run as results name it: its id, kind and how many steps its series has. */
export interface RunSummary {
  id: string;
  kind: RunRecord['kind'];
  steps: number;
}

const runSummary = (r: ArchivedRun | null | undefined): RunSummary | null =>
  r ? { id: r.record.id, kind: r.record.kind, steps: r.series.length } : null;

export interface ImportVersionOptions {
  /** The archive (absolute). */
  file: string;
  /** Import under another model name. */
  model?: string;
  /** Import under another version (when the archive's version is taken here). */
  version?: string;
  signal?: AbortSignal;
  /** Archive bytes read so far, and its size. */
  onProgress?: Progress;
}

export interface ImportVersionResult {
  /** `imported`, or `present` when this registry already holds the same bytes as that model@version. */
  status: 'imported' | 'present';
  version: VersionRecord;
  origin: VersionOrigin;
  /** Datasets stored from the archive (already stored ones count as stored). */
  data: Array<{ path: string; digest: Digest; size: number }>;
  /** The version's run from the archive, with its metric series (null: the archive has none). */
  run: RunSummary | null;
}

const cancelled = (what: string): ModelOpsError =>
  new ModelOpsError('cancelled', `${what} was cancelled.`, 'Run it again.');

/** Writes the archive of `ref` (see the module comment); a failed or cancelled export leaves no file. */
export async function exportVersion(
  registry: WorkspaceRegistry,
  options: ExportVersionOptions,
): Promise<ExportVersionResult> {
  const v = registry.getVersion(options.ref);
  const ref = `${v.model}@${v.version}`;
  const shown = workspacePath(registry.root, options.out);
  checkOutputPath(registry.root, options.out, options.force === true, 'archive-exists');

  // What goes in, as (archive path, file on disk): the artifact as the registry verifies it.
  const sources: Array<{ entry: ArchiveEntry; file: string }> = [];
  const artifactPath = await registry.artifactPath(ref);
  const files = await registry.artifactFiles(ref);
  for (const [rel, digest] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = rel === '' ? artifactPath : join(artifactPath, ...rel.split('/'));
    // A file artifact is named by its format's extension inside the archive (the bytes are what count).
    const path = rel === '' ? `artifact/${v.model}${formatExtension(v.format) ?? '.bin'}` : `artifact/${rel}`;
    sources.push({ entry: { path, digest, size: (await stat(file)).size }, file });
  }
  const stage = await mkdtemp(join(tmpdir(), 'modelops-export-'));
  const tmp = tempBeside(options.out);
  let writing: { pack: tar.Pack; written: Promise<void> } | null = null;
  try {
    let config: ArchiveEntry | null = null;
    const configText = await registry.configText(ref);
    if (configText !== null) {
      const file = join(stage, 'modelops.yaml');
      await writeFile(file, configText);
      config = {
        path: 'config/modelops.yaml',
        digest: sha256(Buffer.from(configText)),
        size: Buffer.byteLength(configText),
      };
      sources.push({ entry: config, file });
    }
    const data: ArchivedData[] = [];
    const dataShown: ExportVersionResult['data'] = [];
    if (options.withData) {
      const store = new DataStore(registry.storeDir);
      for (const d of v.datasets) {
        if (data.some((x) => x.digest === d.digest)) continue;
        const rec = registry.datasets.get(d.digest);
        const m = rec?.stored ? registry.datasets.manifest(d.digest) : null;
        if (!rec || !m)
          throw rec
            ? notStoredError(rec)
            : new ModelOpsError(
                'data-not-stored',
                `${ref} names ${d.role} data ${d.path} (${d.digest}), which this registry has no record of.`,
                'Export without --with-data: the archive then carries the digest only.',
              );
        const file = join(stage, 'data', d.digest.slice(7));
        await checkoutData(store, m, file);
        const entry = { path: `data/${d.digest.slice(7)}${dataExt(d.path)}`, digest: d.digest, size: m.size };
        data.push({
          ...entry,
          record: { digest: rec.digest, path: rec.path, rows: rec.rows, columns: rec.columns, profile: rec.profile },
        });
        dataShown.push({ role: d.role, path: d.path, digest: d.digest, size: m.size });
        sources.push({ entry, file });
      }
    }
    const manifest: ArchiveManifest = {
      kind: KIND,
      formatVersion: FORMAT_VERSION,
      writtenBy: `ModelOps ${PRODUCT_VERSION}`,
      exportedAt: new Date().toISOString(),
      exportedBy: registry.actor(),
      version: {
        model: v.model,
        version: v.version,
        format: v.format,
        artifactKind: v.artifactKind,
        artifactDigest: v.artifactDigest,
        sizeBytes: v.sizeBytes,
        signature: v.signature,
        metrics: v.metrics,
        gates: v.gates,
        datasets: v.datasets,
        gitCommit: v.gitCommit,
        gitDirty: v.gitDirty,
        parentVersion: v.parentVersion,
        note: v.note,
        tags: v.tags,
        createdAt: v.createdAt,
        registeredBy: v.registeredBy ?? null,
        origin: v.origin ?? null,
      },
      artifact: sources.filter((s) => s.entry.path.startsWith('artifact/')).map((s) => s.entry),
      parentDigest: v.parentVersion
        ? (findVersion(registry, `${v.model}@${v.parentVersion}`)?.artifactDigest ?? null)
        : null,
      config,
      run: archivedRun(registry, v),
      data,
    };

    const total = sources.reduce((n, s) => n + s.entry.size, 0);
    let done = 0;
    const pack = tar.pack();
    const written = pipeline(pack as unknown as Readable, createGzip(), createWriteStream(tmp, { flags: 'wx' }));
    // A failure of the file side ends the pack too, so adding entries stops.
    written.catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
    writing = { pack, written };
    const mtime = new Date();
    const json = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await new Promise<void>((ok, fail) =>
      pack.entry({ name: MANIFEST, size: json.length, mtime }, json, (e) => (e ? fail(e) : ok())),
    );
    for (const s of sources) {
      if (options.signal?.aborted) throw cancelled('Export');
      const entry = pack.entry({ name: s.entry.path, size: s.entry.size, mtime, mode: 0o644 });
      const counted = new Transform({
        transform(chunk: Buffer, _enc, next) {
          done += chunk.length;
          options.onProgress?.(done, total);
          next(null, chunk);
        },
      });
      await pipeline(createReadStream(s.file), counted, entry as unknown as Writable);
    }
    pack.finalize();
    await written;
    await rename(tmp, options.out);
    const st = await stat(options.out);
    return {
      ref,
      out: shown,
      size: st.size,
      digest: await hashFile(options.out),
      files: manifest.artifact.length,
      data: dataShown,
      run: runSummary(manifest.run),
    };
  } catch (e) {
    // A failed or cancelled export closes the half-written file before removing it.
    if (writing) {
      writing.pack.destroy();
      await writing.written.catch(() => undefined);
    }
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** A dataset's extension, so a checked-out entry opens as what it is. */
function dataExt(path: string): string {
  const m = /\.(csv|jsonl|ndjson|json|tsv|txt)$/i.exec(path);
  return m ? m[0].toLowerCase() : '';
}

function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const corrupt = (file: string, what: string): ModelOpsError =>
  new ModelOpsError(
    'archive-corrupt',
    `${file} is not an intact ModelOps version archive: ${what}. Nothing was imported.`,
    'Export the version again (modelops versions export), and copy the file whole.',
  );

/** A safe relative archive path: posix, normalised, no `..`, no absolute or empty part. */
function safePath(p: unknown): p is string {
  return (
    typeof p === 'string' &&
    p.length > 0 &&
    p.length < 4096 &&
    !p.includes('\\') &&
    !p.includes('\0') &&
    posix.normalize(p) === p &&
    !posix.isAbsolute(p) &&
    !p.split('/').some((x) => x === '..' || x === '.' || x === '')
  );
}

const isEntry = (e: unknown, prefix: string): e is ArchiveEntry => {
  const x = e as ArchiveEntry;
  return (
    typeof x === 'object' &&
    x !== null &&
    safePath(x.path) &&
    x.path.startsWith(prefix) &&
    typeof x.digest === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test(x.digest) &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0
  );
};

/** The version's run with its series, when it has one that has finished. */
function archivedRun(registry: WorkspaceRegistry, v: VersionRecord): ArchivedRun | null {
  if (!v.runId) return null;
  let record: RunRecord;
  try {
    record = registry.getRun(v.runId);
  } catch (e) {
    if (e instanceof ModelOpsError && e.code === 'run-not-found') return null;
    throw e;
  }
  return record.status === 'running' ? null : { record, series: registry.runMetrics(record.id) };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNumbers = (x: unknown): boolean => isObject(x) && Object.values(x).every((n) => typeof n === 'number');

function isArchivedRun(x: unknown): x is ArchivedRun {
  if (!isObject(x) || !isObject(x.record) || !Array.isArray(x.series)) return false;
  const r = x.record;
  return (
    typeof r.id === 'string' &&
    /^[A-Za-z0-9._-]{1,100}$/.test(r.id) &&
    ['train', 'evaluate', 'optimize'].includes(String(r.kind)) &&
    ['succeeded', 'failed', 'cancelled'].includes(String(r.status)) &&
    typeof r.startedAt === 'string' &&
    isObject(r.params) &&
    isNumbers(r.metrics) &&
    x.series.every(
      (p) => isObject(p) && Number.isSafeInteger(p.step) && isNumbers(p.metrics) && typeof p.at === 'string',
    )
  );
}

/** The manifest, checked for what import relies on; throws naming what is wrong. */
function readManifest(file: string, bytes: Buffer): ArchiveManifest {
  let m: ArchiveManifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as ArchiveManifest;
  } catch {
    throw corrupt(file, `${MANIFEST} is not JSON`);
  }
  if (m?.kind !== KIND) throw corrupt(file, `${MANIFEST} is not a version archive's manifest`);
  if (typeof m.formatVersion !== 'number' || m.formatVersion > FORMAT_VERSION)
    throw new ModelOpsError(
      'archive-unsupported',
      `${file} was written by ${String(m.writtenBy)} in archive format ${String(m.formatVersion)}; this ModelOps reads format ${FORMAT_VERSION}.`,
      'Update ModelOps, or export the version again with this one.',
    );
  const v = m.version;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.model !== 'string' ||
    typeof v.version !== 'string' ||
    typeof v.format !== 'string' ||
    (v.artifactKind !== 'file' && v.artifactKind !== 'directory') ||
    !/^sha256:[0-9a-f]{64}$/.test(String(v.artifactDigest))
  )
    throw corrupt(file, `${MANIFEST} lacks the version's model, version, format or artifact digest`);
  if (!Array.isArray(m.artifact) || m.artifact.length === 0 || !m.artifact.every((e) => isEntry(e, 'artifact/')))
    throw corrupt(file, `${MANIFEST} lists no valid artifact files`);
  if (v.artifactKind === 'file' && m.artifact.length !== 1) throw corrupt(file, 'a file artifact must be one entry');
  if (m.config !== null && !isEntry(m.config, 'config/'))
    throw corrupt(file, `${MANIFEST} has a malformed config entry`);
  if (!Array.isArray(m.data) || !m.data.every((d) => isEntry(d, 'data/') && typeof d.record?.path === 'string'))
    throw corrupt(file, `${MANIFEST} has a malformed data entry`);
  if (m.run !== undefined && m.run !== null && !isArchivedRun(m.run))
    throw corrupt(file, `${MANIFEST} has a malformed run`);
  const paths = [...m.artifact, ...(m.config ? [m.config] : []), ...m.data].map((e) => e.path);
  if (new Set(paths).size !== paths.length) throw corrupt(file, `${MANIFEST} lists a path twice`);
  return m;
}

/**
 * Reads the archive into `stage`: the manifest first, then every listed file, each checked
 * against its digest and size as it is written. Returns the manifest and the archive's digest.
 */
async function unpack(
  file: string,
  shown: string,
  stage: string,
  options: ImportVersionOptions,
): Promise<{ manifest: ArchiveManifest; digest: Digest }> {
  const size = (await stat(file)).size;
  const whole = createHash('sha256');
  let read = 0;
  let manifest: ArchiveManifest | null = null;
  const expected = new Map<string, ArchiveEntry>();
  const seen = new Set<string>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const fail = (e: unknown) => {
      stream.resume();
      extract.destroy(e instanceof Error ? e : new Error(String(e)));
    };
    if (options.signal?.aborted) return fail(cancelled('Import'));
    if (header.type !== 'file') return fail(corrupt(shown, `${header.name} is a ${header.type}, not a file`));
    if (manifest === null) {
      if (header.name !== MANIFEST) return fail(corrupt(shown, `its first entry is ${header.name}, not ${MANIFEST}`));
      if ((header.size ?? 0) > MAX_MANIFEST_BYTES) return fail(corrupt(shown, `${MANIFEST} is too large`));
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        try {
          manifest = readManifest(shown, Buffer.concat(parts));
          for (const e of [...manifest.artifact, ...(manifest.config ? [manifest.config] : []), ...manifest.data])
            expected.set(e.path, e);
          next();
        } catch (e) {
          extract.destroy(e as Error);
        }
      });
      return;
    }
    const want = expected.get(header.name);
    if (!want || seen.has(header.name))
      return fail(corrupt(shown, `it holds ${header.name}, which its manifest does not list (once)`));
    seen.add(header.name);
    const target = join(stage, ...header.name.split('/'));
    const h = createHash('sha256');
    let n = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        h.update(chunk);
        n += chunk.length;
        done(null, chunk);
      },
    });
    mkdir(dirname(target), { recursive: true })
      .then(() => pipeline(stream as unknown as Readable, hashing, createWriteStream(target, { flags: 'wx' })))
      .then(() => {
        const digest = `sha256:${h.digest('hex')}`;
        if (digest !== want.digest || n !== want.size)
          throw corrupt(
            shown,
            `${header.name} does not match its digest (${digest}, ${n} bytes; the manifest says ${want.digest}, ${want.size} bytes)`,
          );
        next();
      })
      .catch(fail);
  });
  const source = createReadStream(file);
  source.on('data', (c: string | Buffer) => {
    whole.update(c);
    read += c.length;
    options.onProgress?.(read, size);
  });
  try {
    await pipeline(source, createGunzip(), extract as unknown as Writable);
  } catch (e) {
    if (e instanceof ModelOpsError) throw e;
    throw corrupt(shown, e instanceof Error ? e.message : String(e));
  }
  if (manifest === null) throw corrupt(shown, `it holds no ${MANIFEST}`);
  const missing = [...expected.keys()].filter((p) => !seen.has(p));
  if (missing.length > 0) throw corrupt(shown, `${missing.length} listed file(s) are missing, first ${missing[0]}`);
  return { manifest, digest: `sha256:${whole.digest('hex')}` };
}

/** Imports an archive written by exportVersion (see the module comment). */
export async function importVersion(
  registry: WorkspaceRegistry,
  options: ImportVersionOptions,
): Promise<ImportVersionResult> {
  const shown = workspacePath(registry.root, options.file);
  if (!existsSync(options.file))
    throw new ModelOpsError('artifact-not-found', `No archive at ${shown}.`, 'Pass the .modelops.tgz file to import.');
  // Checked before the archive is read. A semantic version, never an alias ("m@production" would find whatever holds it).
  const asModel = options.model !== undefined ? validateModelName(options.model) : null;
  const asVersion = options.version !== undefined ? requireSemver(options.version).join('.') : null;
  const stage = await mkdtemp(join(tmpdir(), 'modelops-import-'));
  try {
    const { manifest, digest } = await unpack(options.file, shown, stage, options);
    const a = manifest.version;
    const model = asModel ?? validateModelName(a.model);
    const version = asVersion ?? requireSemver(a.version).join('.');
    const origin: VersionOrigin = {
      archive: { name: basename(options.file), digest },
      exportedAt: manifest.exportedAt,
      exportedBy: manifest.exportedBy,
      ref: `${a.model}@${a.version}`,
      createdAt: a.origin?.createdAt ?? a.createdAt,
      registeredBy: a.origin ? a.origin.registeredBy : (a.registeredBy ?? null),
    };
    const existing = findVersion(registry, `${model}@${version}`);
    if (existing) {
      if (existing.artifactDigest === a.artifactDigest)
        return { status: 'present', version: existing, origin, data: [], run: null };
      throw new ModelOpsError(
        'version-exists',
        `${model}@${version} already exists here with other bytes (${existing.artifactDigest.slice(0, 19)}…; the archive holds ${a.artifactDigest.slice(0, 19)}…). Nothing was imported.`,
        'Import it under another version with --version x.y.z, or another model with --model <name>.',
      );
    }
    if (options.signal?.aborted) throw cancelled('Import');

    // The data's bytes first (content-addressed chunks: unreferenced ones are gc's to free), their
    // records only once the version is in, so a refused import leaves the registry as it was.
    const data: ImportVersionResult['data'] = [];
    const records: RecordDataInput[] = [];
    if (manifest.data.length > 0) {
      const store = new DataStore(registry.storeDir);
      for (const d of manifest.data) {
        const put = await store.putFile(join(stage, ...d.path.split('/')));
        if (put.manifest.digest !== d.digest)
          throw corrupt(shown, `data ${d.record.path} stored as ${put.manifest.digest}, not ${d.digest}`);
        records.push({
          manifest: put.manifest,
          path: d.record.path,
          rows: d.record.rows,
          columns: d.record.columns,
          profile: d.record.profile ?? null,
        });
        data.push({ path: d.record.path, digest: d.digest, size: d.size });
      }
    }
    const artifactSource =
      a.artifactKind === 'file' ? join(stage, ...manifest.artifact[0].path.split('/')) : join(stage, 'artifact');
    // The parent link is kept only to a version here with the parent's own bytes.
    const here = a.parentVersion ? findVersion(registry, `${model}@${a.parentVersion}`) : null;
    const parent = here && manifest.parentDigest && here.artifactDigest === manifest.parentDigest ? here.version : null;
    const registered = await registry
      .registerVersion({
        model,
        source: artifactSource,
        version,
        format: a.format,
        signature: a.signature,
        metrics: a.metrics,
        configPath: manifest.config ? join(stage, 'config', 'modelops.yaml') : null,
        datasets: a.datasets,
        note: a.note,
        tags: a.tags,
        parentVersion: parent,
        runId: manifest.run?.record.id ?? null,
        imported: { origin, gitCommit: a.gitCommit, gitDirty: a.gitDirty },
      })
      .catch((e: unknown) => {
        // The registry's words, with the archive's paths instead of the staging folder's.
        if (!(e instanceof ModelOpsError)) throw e;
        const inArchive = e.message.split(stage + sep).join('');
        throw new ModelOpsError(e.code, `${shown}: ${inArchive} Nothing was imported.`, e.hint);
      });
    const ref = `${registered.model}@${registered.version}`;
    let final: VersionRecord;
    try {
      if (registered.artifactDigest !== a.artifactDigest)
        throw corrupt(
          shown,
          `its artifact stored as ${registered.artifactDigest}, not the recorded ${a.artifactDigest}`,
        );
      final = a.gates ? registry.recordGates(ref, a.gates) : registered;
      for (const r of records) registry.datasets.record(r);
      // Last: a run here under the same id (this workspace made the version) is kept as it is.
      if (manifest.run) registry.importRun(manifest.run.record, manifest.run.series, model, version);
    } catch (e) {
      registry.deleteVersion(ref);
      throw e;
    }
    return { status: 'imported', version: final, origin, data, run: runSummary(manifest.run) };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

function findVersion(registry: WorkspaceRegistry, ref: string): VersionRecord | null {
  try {
    return registry.getVersion(ref);
  } catch (e) {
    if (e instanceof ModelOpsError && (e.code === 'version-not-found' || e.code === 'model-not-found')) return null;
    throw e;
  }
}
