/** `modelops` — the command-line face of the engine. */
import { commands } from './commands';
import type { CliIO } from './command';
import { describeError, isModelOpsError } from '../engine/errors';
import { PRODUCT_VERSION } from '../engine/version';
import { printable } from './output';

const isTTY = Boolean(process.stdout.isTTY);
const styled = isTTY && !process.env.NO_COLOR;
const line = (t: string) => (t.endsWith('\n') ? t : t + '\n');

// Every byte the CLI prints passes here: stored and user text (notes, tags, names, arguments in
// error messages) is shown escaped, only the styles and progress redraw the CLI writes itself pass.
const io: CliIO = {
  cwd: process.cwd(),
  out: (t) => process.stdout.write(printable(line(t), { multiline: true, keepStyles: styled })),
  err: (t) =>
    process.stderr.write(
      printable(line(t), { multiline: true, keepStyles: styled, keepRedraw: Boolean(process.stderr.isTTY) }),
    ),
  isTTY,
  env: process.env,
};

// `modelops … | head`: once the reader is gone, stop quietly with 141 (128 + SIGPIPE, as a shell
// tool killed by it), unless a running job handles it itself (train records its run first).
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (stream.listenerCount('error') === 1) process.exit(141);
  });

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    `modelops ${PRODUCT_VERSION} — track, train, evaluate, deploy and monitor models in this workspace`,
    '',
    'Usage: modelops <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  Show help for a command: modelops help <command>`,
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h') {
    io.out(help());
    return verb ? 0 : 2;
  }
  if (verb === '--version' || verb === '-v') {
    io.out(PRODUCT_VERSION);
    return 0;
  }
  if (verb === 'help') {
    const c = commands.find((x) => x.name === rest[0]);
    io.out(c ? c.usage : help());
    return 0;
  }
  const command = commands.find((c) => c.name === verb);
  if (!command) {
    io.err(`modelops: unknown command '${verb}'. Run 'modelops help' for the list.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    io.err(`modelops ${verb}: ${describeError(e)}`);
    if (!isModelOpsError(e) && process.env.MODELOPS_DEBUG) io.err(String(e instanceof Error ? e.stack : e));
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(printable(`modelops: ${describeError(e)}\n`, { multiline: true }));
    process.exitCode = 1;
  },
);
