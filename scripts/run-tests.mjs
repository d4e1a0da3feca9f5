// Runs node's built-in test runner over test files written in TypeScript (loaded through tsx).
// Node 20's --test does not expand globs itself, so the files are listed here.
//
//   node scripts/run-tests.mjs [--slow | --all] [dir-or-file …]
//
// Fast and slow suites (see CONTRIBUTING.md): a test file named `*.slow.test.ts`, or listed in
// SLOW below, is slow. By default only the fast files run (the inner loop, `npm test`); `--slow`
// runs only the slow ones (`npm run test:slow`); `--all` (or MODELOPS_SLOW_TESTS=1) runs both.
// A file named on the command line always runs. Without directories the roots are test/unit,
// test/protocol and test/security. At the end the slowest files are listed (on stderr) by the
// sum of their top-level tests' durations, to keep the fast loop fast.
//
// Each test file still runs in its own Node process (its own process.env, module state, mocks and
// handles). TypeScript is loaded by scripts/test-loader.js, a cached CommonJS require hook, not
// `--import tsx`: tsx's ESM hooks and the source maps of packages cost ~1 s of CPU per file on
// Node 20 (see the loader). MODELOPS_TEST_LOADER=tsx runs the files through tsx as before (to compare, or if a file
// needs ESM loading).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Slow files that keep their old names, because each is owned and edited elsewhere (renaming one
// to *.slow.test.ts is the same thing and then it can leave this list). Seconds: the sum of the
// file's tests on the shared 2-core machine under load.
const SLOW = new Set([
  'test/unit/config/robustness.test.ts', // 53 s: fuzz, 10,000 mutated configs
  'test/unit/registry/reliability.test.ts', // 43 s: many writer processes, crashes mid-write
  'test/unit/config/incremental.test.ts', // 31 s: 400 seeded edit sequences vs full analysis
  'test/protocol/training.test.ts', // 24 s: real training runs over LSP, with cancellation
  'test/unit/monitoring/monitor.test.ts', // 22 s: 18 s of it 1,000,000 logged predictions
  'test/unit/registry/config-diff.test.ts', // 16 s: random inputs against GNU diff
  'test/unit/monitoring/readLogEquivalence.test.ts', // 15 s: random logs against a reference reader
  'test/unit/training/trainer.test.ts', // 15 s: real TensorFlow.js training runs
  'test/protocol/optimize.test.ts', // 33 s: real studies, quantisation and pruning over LSP
  'test/protocol/monitoring.test.ts', // 19 s: a real model server, live alerts, retraining from traffic
  'test/unit/data/datastore.test.ts', // 35 s: multi-megabyte files chunked, appended, edited, restored
  'test/unit/data/gc.test.ts', // 30 s: real training runs, then gc kept and interrupted
  'test/unit/deploy/cli.test.ts', // 18 s: the built CLI deploying, rolling back and monitoring, process by process
  'test/security/serving-memory.test.ts', // 11 s: a real model server held at its memory budget
  'test/security/hostile-lsp.test.ts', // 10 s: the built sidecar fed hostile configs and requests
  'test/security/hostile-cli-output.test.ts', // 10 s: the built CLI printing hostile registry content
]);

// A renamed or deleted file would silently fall back into the fast loop: say so.
for (const f of SLOW)
  if (!existsSync(f)) console.error(`scripts/run-tests.mjs: ${f} in SLOW does not exist; update the list`);

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
for (const f of flags) {
  if (!['--slow', '--all'].includes(f)) {
    console.error(`unknown option ${f}; use --slow (only the slow suites) or --all (fast and slow)`);
    process.exit(2);
  }
}
const mode =
  flags.has('--all') || process.env.MODELOPS_SLOW_TESTS === '1' ? 'all' : flags.has('--slow') ? 'slow' : 'fast';
const roots = args.filter((a) => !a.startsWith('--'));
if (roots.length === 0) roots.push('test/unit', 'test/protocol', 'test/security');

const rel = (p) => relative(process.cwd(), resolve(p)).split('\\').join('/');
const isSlow = (p) => p.endsWith('.slow.test.ts') || SLOW.has(rel(p));

function collect(dir) {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let skipped = 0;
const files = roots.flatMap((r) => {
  if (r.endsWith('.ts')) return [r];
  const found = collect(r);
  const kept = found.filter((f) => mode === 'all' || (mode === 'slow') === isSlow(f));
  skipped += found.length - kept.length;
  return kept;
});
// Say so, or someone editing a slow file and running its folder would think it passed.
if (mode === 'fast' && skipped > 0)
  console.error(
    `skipping ${skipped} slow test file(s): --slow runs them, --all runs everything, a named file always runs`,
  );
if (files.length === 0) {
  console.error(`no ${mode === 'all' ? '' : `${mode} `}test files under ${roots.join(', ')}`);
  process.exit(1);
}

// A second reporter that sums the top-level tests' durations per file and prints the slowest.
// Inline (a data: URL) so the runner stays one file.
const TIMINGS = `
export default async function* (source) {
  const byFile = new Map();
  for await (const e of source) {
    if ((e.type === 'test:pass' || e.type === 'test:fail') && e.data.nesting === 0 && e.data.file) {
      byFile.set(e.data.file, (byFile.get(e.data.file) ?? 0) + (e.data.details?.duration_ms ?? 0));
    }
  }
  const rows = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (rows.length < 2) return;
  yield '\\nslowest test files (sum of their top-level tests):\\n';
  const cwd = ${JSON.stringify(process.cwd() + '/')};
  for (const [file, ms] of rows) yield '  ' + (ms / 1000).toFixed(1).padStart(6) + ' s  ' + (file.startsWith(cwd) ? file.slice(cwd.length) : file) + '\\n';
}`;

const loader =
  process.env.MODELOPS_TEST_LOADER === 'tsx'
    ? ['--import', 'tsx']
    : ['--require', fileURLToPath(new URL('test-loader.js', import.meta.url))];

const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    ...loader,
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=data:text/javascript,${encodeURIComponent(TIMINGS)}`,
    '--test-reporter-destination=stderr',
    ...files,
  ],
  { stdio: 'inherit' },
);
console.error(
  `${files.length} ${mode === 'all' ? '' : `${mode} `}test files in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
process.exit(result.status ?? 1);
