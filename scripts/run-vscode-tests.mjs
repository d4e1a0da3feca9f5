// Runs test/e2e/electron/suite.ts inside a desktop VS Code, for machines that have one:
//   VSCODE_EXECUTABLE=/path/to/code node scripts/run-vscode-tests.mjs
// It follows @vscode/test-electron's protocol (--extensionDevelopmentPath, --extensionTestsPath);
// when that package is installed its runTests() is used, else the executable is started
// directly. VS Code cannot be downloaded on every machine, which is why the executable is given.
// The suite's exit code is this script's exit code. Needs `npm run build` first.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const executable = process.env.VSCODE_EXECUTABLE;
if (!executable || !existsSync(executable)) {
  console.error(
    'run-vscode-tests: set VSCODE_EXECUTABLE to a VS Code executable (e.g. /usr/share/code/code). On machines without one, use `npm run test:e2e` (code-server).',
  );
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'extension.js'))) {
  console.error('run-vscode-tests: dist/extension.js is missing — run `npm run build` first.');
  process.exit(2);
}

// The suite runs in the extension host: bundle it to CommonJS with `vscode` external.
const out = join(root, '.cache', 'e2e-electron');
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(root, 'test', 'e2e', 'electron', 'suite.ts')],
  outfile: join(out, 'suite.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  logLevel: 'warning',
});

// A copy of the sample with the same two mistakes the code-server test uses.
const tmp = mkdtempSync(join(tmpdir(), 'modelops-vscode-'));
const workspace = join(tmp, 'workspace');
cpSync(join(root, 'examples', 'sample'), workspace, { recursive: true });
const configFile = join(workspace, 'modelops.yaml');
writeFileSync(
  configFile,
  readFileSync(configFile, 'utf8')
    .replace(/^(\s+)epochs:/m, '$1epocs:')
    .replace(/^(\s+)target: weather\b/m, '$1target: weathr'),
);

const launchArgs = [
  workspace,
  `--user-data-dir=${join(tmp, 'user-data')}`,
  `--extensions-dir=${join(tmp, 'extensions')}`,
  '--disable-workspace-trust',
  '--skip-welcome',
  '--skip-release-notes',
  '--disable-gpu',
];
let code = 1;
try {
  let runTests = null;
  try {
    runTests = createRequire(join(root, 'package.json'))('@vscode/test-electron').runTests;
  } catch {
    // Not installed: start the executable ourselves with the same arguments.
  }
  if (runTests) {
    code = await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: root,
      extensionTestsPath: join(out, 'suite.js'),
      launchArgs,
    }).then(
      () => 0,
      (e) => (console.error(e), 1),
    );
  } else {
    const r = spawnSync(
      executable,
      [`--extensionDevelopmentPath=${root}`, `--extensionTestsPath=${join(out, 'suite.js')}`, ...launchArgs],
      { stdio: 'inherit', timeout: 5 * 60_000 },
    );
    code = r.status ?? 1;
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(code === 0 ? 'run-vscode-tests: 1 passed, 0 failed' : 'run-vscode-tests: 0 passed, 1 failed');
process.exit(code);
