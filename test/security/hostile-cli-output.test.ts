/**
 * Output is not a control channel: version notes, tags, alias reasons and arguments echoed in
 * errors are printed by the built CLI (a real child process) with every terminal control
 * character shown escaped — no ESC, BEL, C1 or bidi override reaches the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import { printable, table } from '../../server/cli/output';
import { tempWorkspace } from '../unit/registry/helpers';

const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'dist', 'cli.js');

// Retitles the terminal (OSC 0 … BEL) and clears the screen (CSI 2J); C1 CSI; a right-to-left override.
const NOTE = 'fine\x1b]0;PWNED\x07\x1b[2J\u009b2J\u202eevil\u2066x\u2069\x7f\rdone';
const TAG = 'prod\u009b31m\u202e';
const REASON = 'ok\x1b]8;;https://evil.example\x07click\x1b]8;;\x07';

/** Terminal-active characters: C0 but \n, DEL, C1, and the bidi embeddings/overrides/isolates. */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

function run(args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function assertInert(text: string, what: string): void {
  const m = ACTIVE.exec(text);
  assert.equal(
    m,
    null,
    `${what} carries U+${(m?.[0].charCodeAt(0) ?? 0).toString(16).padStart(4, '0')} at ${m?.index}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 20), (m?.index ?? 0) + 20))}`,
  );
}

test('the built CLI prints hostile notes, tags, reasons and arguments escaped, never raw', async (t) => {
  assert.ok(existsSync(CLI), `${CLI} is missing — run \`npm run build\` first`);
  const ws = tempWorkspace('modelops-hostile-cli-');
  t.after(() => ws.cleanup());
  ws.file('modelops.yaml', 'version: 1\n');
  ws.file('out/model.pt', 'w1');
  const reg = openRegistry(ws.root);
  try {
    await reg.registerVersion({
      model: 'weather',
      source: 'out/model.pt',
      version: '1.0.0',
      note: NOTE,
      tags: [TAG],
      metrics: { accuracy: 0.9 },
    });
    reg.setAlias('weather', 'production', '1.0.0', REASON);
  } finally {
    reg.close();
  }

  const outputs: Array<[string, string]> = [];
  for (const args of [
    ['versions', 'list'],
    ['versions', 'list', 'weather'],
    ['versions', 'show', 'weather@1.0.0'],
    ['versions', 'history', 'weather'],
    ['versions', 'list', 'weather', '--json'],
    ['versions', 'show', 'weather@1.0.0', '--json'],
    // Errors echo the argument: an unknown model, an unknown command, a bad option value.
    ['versions', 'show', 'we\x1b]0;PWNED\x07ather@1.0.0'],
    ['versions', 'list', 'weather', '--order', 'up\x1b[2J\u009b'],
    ['no\x1b[2Jcommand'],
  ]) {
    const r = run(args, ws.root);
    outputs.push([args.join(' '), r.out], [`${args.join(' ')} (stderr)`, r.err]);
  }
  for (const [what, text] of outputs) assertInert(text, what);

  const list = run(['versions', 'list', 'weather'], ws.root).out;
  // A reader sees that something was there.
  assert.match(list, /\\u001b\]0;PWNED\\u0007\\u001b\[2J\\u009b2J\\u202eevil/);
  assert.match(list, /prod\\u009b31m\\u202e/);
  const show = run(['versions', 'show', 'weather@1.0.0'], ws.root).out;
  assert.match(show, /note\s+fine\\u001b\]0;PWNED\\u0007/);
  assert.match(show, /\\u007f\\u000ddone/);
  assert.match(
    run(['versions', 'history', 'weather'], ws.root).out,
    /ok\\u001b\]8;;https:\/\/evil\.example\\u0007click/,
  );
  const err = run(['versions', 'list', 'weather', '--order', 'up\x1b[2J'], ws.root);
  assert.equal(err.code, 1);
  assert.match(err.err, /--order must be asc or desc, not 'up\\u001b\[2J'/);

  // JSON stays valid JSON and keeps the exact stored text (escaped as \u sequences).
  const json = JSON.parse(run(['versions', 'show', 'weather@1.0.0', '--json'], ws.root).out) as {
    version: { note: string; tags: string[] };
  };
  assert.equal(json.version.note, NOTE);
  assert.deepEqual(json.version.tags, [TAG]);
});

test('printable: escapes what a terminal acts on, keeps text, newlines where allowed and the CLI’s own styles', () => {
  assert.equal(printable('a\x1b[2Jb\u0007'), 'a\\u001b[2Jb\\u0007');
  assert.equal(printable('x\u009b\u202e\u2066y\u007f'), 'x\\u009b\\u202e\\u2066y\\u007f');
  assert.equal(printable('one\ntwo\tt'), 'one\\u000atwo\\u0009t');
  assert.equal(printable('one\r\ntwo\tt\rx', { multiline: true }), 'one\r\ntwo\tt\\u000dx');
  assert.equal(printable('café 😀 ü → ✓ —'), 'café 😀 ü → ✓ —');
  assert.equal(
    printable('\x1b[32mok\x1b[0m \x1b[8mhidden\x1b]0;t\x07', { keepStyles: true }),
    '\x1b[32mok\x1b[0m \\u001b[8mhidden\\u001b]0;t\\u0007',
  );
  assert.equal(printable('\x1b[1A\x1b[2K[██] 50%\x1b[1A', { keepRedraw: true }), '\x1b[1A\x1b[2K[██] 50%\\u001b[1A');
  // Table cells are one line each and aligned on what is shown.
  assert.equal(
    table(
      ['note', 'n'],
      [
        ['a\nb', 1],
        ['\x1b', 22],
      ],
    ),
    ['note       n', '────────  ──', 'a\\u000ab   1', '\\u001b    22'].join('\n'),
  );
});
