// Packages the extension as a platform-specific .vsix: modelops-<version>-<target>.vsix.
//
// dist/ is bundled by esbuild, so the only packages the installed extension needs are the ones
// esbuild leaves external because they carry native code or wasm files: better-sqlite3 (a
// native module compiled for the system Node's ABI), onnxruntime-node (an N-API addon with the
// ONNX Runtime shared library: only this platform's binaries are staged) and TensorFlow.js with
// its wasm backend.
// Their production dependency closure is copied into a staging folder with a package.json that
// lists only them, and vsce packs that folder (its npm dependency detection then sees exactly
// that closure). .vscodeignore trims sources, maps and build leftovers. See docs/packaging.md.
import { spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stage = join(root, '.cache', 'vsix', 'stage');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Packages esbuild keeps external (esbuild.mjs) that the sidecar needs at run time. */
const RUNTIME_PACKAGES = ['better-sqlite3', 'onnxruntime-node', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'];

/** onnxruntime-node ships bin/napi-v6/<platform>/<arch>/ for five targets (≈ 240 MB); keep this one. */
const ORT_BIN = join('bin', 'napi-v6');
const ortKeep = join(ORT_BIN, process.platform, process.arch);

function vsceTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  if (!arch || !platform) throw new Error(`no VS Code target for ${process.platform}-${process.arch}`);
  // musl-based Linux (Alpine) has its own target.
  if (platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime) return `alpine-${arch}`;
  return `${platform}-${arch}`;
}

function fail(message) {
  console.error(`package-vsix: ${message}`);
  process.exit(1);
}

for (const f of ['dist/extension.js', 'dist/server.js']) {
  if (!existsSync(join(root, f))) fail(`${f} is missing — run \`npm run build\` first.`);
}

/** Node's lookup: <from>/node_modules/<name>, then each parent folder up to the repo root. */
function resolvePackage(name, fromDir) {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) return null;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Every package folder the runtime packages need, following dependencies as Node resolves them. */
function closure(names) {
  const seen = new Map();
  const queue = names.map((name) => ({ name, from: root, optional: false }));
  while (queue.length) {
    const { name, from, optional } = queue.shift();
    const dir = resolvePackage(name, from);
    if (!dir) {
      if (optional) continue;
      fail(`${name} (needed by ${relative(root, from) || 'the extension'}) is not installed — run npm ci.`);
    }
    if (seen.has(dir)) continue;
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    seen.set(dir, meta);
    for (const dep of Object.keys(meta.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(meta.optionalDependencies ?? {}))
      queue.push({ name: dep, from: dir, optional: true });
    for (const dep of Object.keys(meta.peerDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  return seen;
}

const target = vsceTarget();
const out = join(root, `modelops-${pkg.version}-${target}.vsix`);

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

// The extension's own files.
const copy = (from, to = from, options = {}) => {
  if (existsSync(join(root, from))) cpSync(join(root, from), join(stage, to), { recursive: true, ...options });
};
copy('dist', 'dist', { filter: (src) => !src.endsWith('.map') });
copy('media');
copy('schemas');
copy('examples/sample');
copy('README.md');
copy('LICENSE');
copy('CHANGELOG.md');
copy('.vscodeignore');

// The runtime packages, at the same relative paths so Node resolves them the same way.
const packages = closure(RUNTIME_PACKAGES);
const meta = (dir) => packages.get(dir);
if (
  ![...packages.values()].some((m) => m.name === 'onnxruntime-node') ||
  !existsSync(join(resolvePackage('onnxruntime-node', root), ortKeep))
) {
  fail(`onnxruntime-node has no binaries for ${process.platform}-${process.arch} (${ortKeep}).`);
}
for (const dir of packages.keys()) {
  const rel = relative(root, dir);
  cpSync(dir, join(stage, rel), {
    recursive: true,
    // Nested node_modules are copied on their own when the closure reaches them.
    filter: (src) => {
      const rel = relative(dir, src);
      if (rel.split(/[\\/]/).includes('node_modules')) return false;
      if (meta(dir).name === 'onnxruntime-node' && rel.startsWith(ORT_BIN + sep)) {
        const [, , platform, arch] = rel.split(sep);
        return platform === process.platform && (arch === undefined || arch === process.arch);
      }
      return true;
    },
  });
}

// A manifest whose dependencies are exactly the runtime packages; no scripts (vsce would run
// vscode:prepublish), no dev tooling.
const staged = { ...pkg };
staged.dependencies = Object.fromEntries(RUNTIME_PACKAGES.map((n) => [n, pkg.dependencies[n]]));
delete staged.devDependencies;
delete staged.optionalDependencies;
delete staged.scripts;
delete staged.bin;
delete staged.allowScripts;
writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

console.log(`package-vsix: ${packages.size} runtime packages staged for ${target}`);
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const args = [
  vsce,
  'package',
  '--target',
  target,
  '--out',
  out,
  '--allow-missing-repository',
  '--dependencies',
  '--no-yarn',
  '--no-rewrite-relative-links',
];
if (!existsSync(join(root, 'LICENSE'))) args.push('--skip-license');
const r = spawnSync(process.execPath, args, {
  cwd: stage,
  stdio: 'inherit',
  env: { ...process.env, npm_config_update_notifier: 'false' },
});
if (r.status !== 0) fail(`vsce failed with exit code ${r.status}`);
console.log(`package-vsix: wrote ${relative(root, out)}`);

// Smoke check of the artifact itself: unpack it and load the native and wasm modules from it
// with this Node (the runtime the sidecar uses), so a too-eager .vscodeignore fails here.
const check = join(root, '.cache', 'vsix', 'check');
rmSync(check, { recursive: true, force: true });
await unzip(out, check);
// A 87-byte ONNX model, y = x + x over float32 [3] (Add, opset 17), checks ONNX Runtime's addon and shared library.
const ADD_ONNX =
  '080812086d6f64656c6f70731a03312e303a3e0a0e0a01780a01781201792203416464120a746573742d67726170685a0f0a0178120a0a08080112040a020803620f0a0179120a0a08080112040a02080342040a001011';
const probe = `
const path = require('node:path');
const ort = require('onnxruntime-node');
const Database = require('better-sqlite3');
const db = new Database(':memory:');
if (db.prepare('select 41 + 1 as x').get().x !== 42) throw new Error('sqlite');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
tf.setBackend('wasm').then(async (ok) => {
  if (!ok) throw new Error('wasm backend did not initialise');
  const s = tf.tensor([1, 2, 3]).sum().dataSync()[0];
  if (s !== 6) throw new Error('tfjs');
  const session = await ort.InferenceSession.create(Buffer.from('${ADD_ONNX}', 'hex'), { executionProviders: ['cpu'] });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]) });
  if (Array.from(out.y.data).join() !== '2,4,6') throw new Error('onnxruntime-node');
  console.log('package-vsix: the packed extension loads better-sqlite3, onnxruntime-node ' + ort.env.versions.node + ' and the tfjs wasm backend on Node ' + process.version);
}).catch((e) => { console.error(e); process.exit(1); });`;
const p = spawnSync(process.execPath, ['-e', probe], { cwd: join(check, 'extension'), stdio: 'inherit' });
if (p.status !== 0) fail('the packed extension failed its load check (see above)');

function unzip(file, dest) {
  const require = createRequire(join(root, 'node_modules', '@vscode', 'vsce', 'package.json'));
  const yauzl = require('yauzl');
  return new Promise((done, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on('error', reject);
      zip.on('end', done);
      zip.on('entry', (entry) => {
        const target = join(dest, entry.fileName);
        if (!target.startsWith(dest)) return reject(new Error(`bad path in vsix: ${entry.fileName}`));
        if (entry.fileName.endsWith('/')) {
          mkdirSync(target, { recursive: true });
          zip.readEntry();
          return;
        }
        mkdirSync(dirname(target), { recursive: true });
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const ws = createWriteStream(target);
          ws.on('close', () => zip.readEntry());
          stream.pipe(ws);
        });
      });
      zip.readEntry();
    });
  });
}
