/**
 * listVersions in process over 10,000 versions of one model: the latency that
 * test/unit/registry/listing.test.ts used to assert (p95 < 250 ms), against a baseline from the
 * same run. (bench/registry/run.ts measures the same calls over LSP against the built sidecar.)
 *
 *   npx tsx bench/registry/listing.ts [--versions 10000] [--rounds 40]
 *
 * The rows are bulk-inserted through SQL as in the test (one real registration for the model and
 * its artifact). Each query kind — page 1 by version, a deep page, a page in ascending order,
 * sort by a metric, sort by created time, a substring filter — is timed through the registry and,
 * as the baseline, as a plain `SELECT * FROM versions WHERE model = ? LIMIT ? OFFSET ?` with the
 * same page size on its own connection (reading the rows, without ordering, counting or
 * decorating). The two are interleaved call by call, so load on the machine hits both alike.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry, type ListVersionsQuery } from '../../server/engine/registry';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const VERSIONS = arg('versions', 10_000);
const ROUNDS = arg('rounds', 40);

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'modelops-bench-listing-'));
  try {
    let reg = openRegistry(root);
    // A real model: registration checks that an ONNX file parses.
    copyFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), join(root, 'm.onnx'));
    const first = await reg.registerVersion({
      model: 'big',
      source: 'm.onnx',
      version: '0.0.1',
      metrics: { accuracy: 0.5 },
      note: 'seed',
    });
    reg.close();
    const rand = mulberry32(42);
    const db = new Database(join(root, '.modelops', 'registry.db'));
    const insert = db.prepare(
      `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, metrics, tags, note, created_at, parent_version)
       VALUES ('big', ?, ?, ?, ?, ?, 'file', 'onnx', 1, ?, ?, ?, ?, NULL)`,
    );
    db.transaction(() => {
      for (let i = 1; i < VERSIONS; i++) {
        const [a, b, c] = [Math.floor(i / 1000) + 1, Math.floor(i / 100) % 10, i % 100];
        const metrics = i % 7 === 0 ? {} : { accuracy: Math.round(rand() * 1e6) / 1e6 };
        const created = new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 1e10)).toISOString();
        insert.run(
          `${a}.${b}.${c}`,
          a,
          b,
          c,
          first.artifactDigest,
          JSON.stringify(metrics),
          JSON.stringify(i % 10 === 0 ? ['milestone'] : []),
          `run ${i}`,
          created,
        );
      }
    })();
    db.close();

    reg = openRegistry(root);
    reg.setAlias('big', 'production', '7.3.42');
    const raw = new Database(join(root, '.modelops', 'registry.db'), { readonly: true });
    const plain = raw.prepare('SELECT * FROM versions WHERE model = ? LIMIT ? OFFSET ?');
    const kinds: Array<[string, ListVersionsQuery]> = [
      ['page 1 by version', { model: 'big', limit: 50 }],
      ['page 150 by version', { model: 'big', offset: 7_450, limit: 50 }],
      ['page 1 ascending', { model: 'big', order: 'asc', limit: 50 }],
      ['by metric', { model: 'big', sort: 'accuracy', limit: 50 }],
      ['by created', { model: 'big', sort: 'created', order: 'asc', limit: 50 }],
      ['filter "milestone"', { model: 'big', filter: 'milestone', limit: 50 }],
      ['1,000 per page', { model: 'big', offset: 5_000, limit: 1000 }],
    ];
    // Warm-up: statement caches, the page cache.
    for (const [, q] of kinds) {
      reg.listVersions(q);
      plain.all('big', q.limit ?? 100, q.offset ?? 0);
    }
    const ours = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    const base = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, q] of kinds) {
        let t = performance.now();
        plain.all('big', q.limit ?? 100, q.offset ?? 0);
        base.get(k)!.push(performance.now() - t);
        t = performance.now();
        reg.listVersions(q);
        ours.get(k)!.push(performance.now() - t);
      }
    }
    raw.close();
    reg.close();

    console.log(
      `listVersions over ${VERSIONS} versions, ${ROUNDS} rounds per kind: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)}`,
    );
    console.log('query                  listVersions p50 / p95     plain SELECT p50 / p95 (baseline)   p95 ratio');
    const all: number[] = [];
    const allBase: number[] = [];
    for (const [k] of kinds) {
      const o = ours.get(k)!;
      const b = base.get(k)!;
      all.push(...o);
      allBase.push(...b);
      console.log(
        `${k.padEnd(22)} ${`${pct(o, 0.5).toFixed(2)} / ${pct(o, 0.95).toFixed(2)} ms`.padStart(22)}     ${`${pct(b, 0.5).toFixed(2)} / ${pct(b, 0.95).toFixed(2)} ms`.padStart(22)}   ${(pct(o, 0.95) / pct(b, 0.95)).toFixed(1).padStart(16)}×`,
      );
    }
    console.log(
      `${'all kinds'.padEnd(22)} ${`${pct(all, 0.5).toFixed(2)} / ${pct(all, 0.95).toFixed(2)} ms`.padStart(22)}     ${`${pct(allBase, 0.5).toFixed(2)} / ${pct(allBase, 0.95).toFixed(2)} ms`.padStart(22)}   ${(pct(all, 0.95) / pct(allBase, 0.95)).toFixed(1).padStart(16)}×`,
    );
    console.log(`load average at the end: ${loadavg()[0].toFixed(1)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
