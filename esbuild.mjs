// Bundles the four faces of the project into dist/:
//   extension.js  the extension host side (CommonJS, `vscode` external)
//   server.js     the sidecar language server
//   cli.js        the `modelops` command line
//   trainWorker.js the training worker thread started by the engine
//   liveWorker.js  the model server's live monitoring thread
//   webview.js    the browser bundle for chart panels and HTML reports
// Native and wasm-carrying packages stay external and ship in node_modules (see docs/packaging.md).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeExternal = [
  'vscode',
  'better-sqlite3',
  'onnxruntime-node',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
];

const common = {
  bundle: true,
  sourcemap: true,
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

const nodeEntries = [
  { in: 'extension/extension.ts', out: 'extension' },
  { in: 'server/lsp/main.ts', out: 'server' },
  { in: 'server/cli/main.ts', out: 'cli' },
  { in: 'server/engine/training/worker.ts', out: 'trainWorker' },
  { in: 'server/engine/serving/liveWorker.ts', out: 'liveWorker' },
  { in: 'server/demo/main.ts', out: 'demo' },
].filter((e) => existsSync(e.in));

const builds = [
  {
    ...common,
    entryPoints: nodeEntries,
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternal,
  },
];
if (existsSync('webview/main.ts')) {
  builds.push({
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'text' },
  });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
