import type { CliCommand, CliIO } from '../../../server/cli/command';
import { describeError } from '../../../server/engine/errors';
import { openRegistry, type WorkspaceRegistry } from '../../../server/engine/registry';
import type { AliasPolicy } from '../../../server/engine/governance/policy';
import { tempWorkspace, type TempWorkspace } from '../registry/helpers';

export const ALICE = 'Alice Author <alice@example.com>';
export const BOB = 'Bob Reviewer <bob@example.com>';

export { tempWorkspace, type TempWorkspace };

/** A registry acting as `actor`, with an explicit alias policy unless the test wants modelops.yaml read. */
export function as(ws: TempWorkspace, actor: string, aliasPolicy?: AliasPolicy): WorkspaceRegistry {
  return openRegistry(ws.root, { actor, ...(aliasPolicy ? { aliasPolicy } : {}) });
}

/** Registers `file` (written with `content`) as model@version and closes the registry. */
export async function registerAs(
  ws: TempWorkspace,
  actor: string,
  content: string,
  version?: string,
  model = 'weather',
): Promise<string> {
  const reg = as(ws, actor);
  try {
    ws.file(`m-${content.length}-${version ?? 'x'}.pt`, content);
    const v = await reg.registerVersion({
      model,
      source: `m-${content.length}-${version ?? 'x'}.pt`,
      ...(version ? { version } : {}),
      note: 'n',
    });
    return `${v.model}@${v.version}`;
  } finally {
    reg.close();
  }
}

export async function runCli(
  cmd: CliCommand,
  cwd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; text: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { cwd, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env };
  try {
    const code = await cmd.run(argv, io);
    return { code, text: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    return { code: 1, text: out.join('\n'), err: describeError(e) };
  }
}

export function codeOf(e: unknown): string {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
}
