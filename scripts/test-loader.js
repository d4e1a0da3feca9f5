// The TypeScript loader of the test runner (scripts/run-tests.mjs): `node --require` this file.
// CommonJS, named .js like the other plain scripts (which ESLint skips).
//
// Why not `--import tsx`: on Node 20 that registers ESM loader hooks, which start a hooks thread
// in every test process and send every import through it: ~0.6 s of CPU per test file before the
// first test runs, ~70 s of the old `npm test`'s ~300 s. This file is a CommonJS require hook only, in the process's
// own thread: each .ts file is transformed by esbuild once and cached on disk by content, so a
// test process normally reads cached JavaScript and never loads esbuild.
//
// Semantics match the esbuild bundles in dist/ (esbuild.mjs): CommonJS output, and a dynamic
// `import('./x')` becomes a require, as bundling makes it (under plain CommonJS Node would hand a
// .ts path to the ESM loader, which cannot load it). Stack traces point at .ts lines: the output
// carries an inline source map and source maps are enabled. Child processes the tests start keep
// loading TypeScript through whatever they ask for (`--import tsx`).
'use strict';
const { createHash } = require('node:crypto');
const { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { tmpdir } = require('node:os');
const { join, sep } = require('node:path');

const ESBUILD_VERSION = require('esbuild/package.json').version;
const OPTIONS = {
  loader: 'ts',
  format: 'cjs',
  platform: 'node',
  target: `node${process.versions.node.split('.')[0]}`,
  sourcemap: 'inline',
  // import() to require(): see above. Node built-ins and packages resolve the same way both ways.
  supported: { 'dynamic-import': false },
  tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, esModuleInterop: true } },
};
const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
const CACHE = join(tmpdir(), `modelops-test-ts-${uid}`);
const KEY = JSON.stringify([ESBUILD_VERSION, OPTIONS]);

let esbuild = null;
let cacheUsable = null;

/**
 * The cache is code this process will run: use it only if it is our own directory that nobody
 * else can write to (the temp dir is shared; another user could create the name first).
 */
function cacheIsOurs() {
  if (cacheUsable !== null) return cacheUsable;
  try {
    mkdirSync(CACHE, { mode: 0o700 });
  } catch {
    // Already there (checked below) or not creatable (no cache).
  }
  try {
    const st = lstatSync(CACHE);
    const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
    cacheUsable = st.isDirectory() && mine && (st.mode & 0o022) === 0;
  } catch {
    cacheUsable = false;
  }
  return cacheUsable;
}

function transform(source, filename) {
  const hash = createHash('sha256').update(KEY).update('\0').update(filename).update('\0').update(source);
  const cached = join(CACHE, `${hash.digest('hex')}.js`);
  if (cacheIsOurs()) {
    try {
      return readFileSync(cached, 'utf8');
    } catch {
      // A miss: transform below.
    }
  }
  esbuild ??= require('esbuild');
  const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
  if (!cacheUsable) return code;
  try {
    // Parallel test processes may write the same entry: write aside, then rename over.
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, cached);
  } catch {
    // An unwritable cache only costs the next process a transform.
  }
  return code;
}

process.setSourceMapsEnabled(true);
// With source maps on, Node 20 reads and indexes the map of every module that names one as it
// compiles it: for @tensorflow/tfjs that is megabytes, ~0.8 s of CPU in each test file importing
// the engine. Frames inside packages keep their .js lines (as without source maps); ours map.
const compile = Module.prototype._compile;
const MAP_COMMENT = '//# sourceMappingURL=';
Module.prototype._compile = function compileWithoutPackageMaps(content, filename) {
  if (filename.includes(`${sep}node_modules${sep}`)) {
    const at = content.lastIndexOf(MAP_COMMENT);
    // Only the comment on the file's last line: the one Node would read.
    if (at !== -1 && !content.slice(at).trimEnd().includes('\n')) content = content.slice(0, at);
  }
  return compile.call(this, content, filename);
};
Module._extensions['.ts'] = function loadTs(module, filename) {
  module._compile(transform(readFileSync(filename, 'utf8'), filename), filename);
};
