/**
 * Who is acting: `MODELOPS_ACTOR` (for CI), else git's user.name / user.email in the workspace,
 * else the OS user. This is accountability on a shared machine or repository, not
 * authentication: anyone who can write the store can claim any name (docs/governance.md).
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

export interface Actor {
  /** "Name <email>", "email", "name" or the OS user name. */
  id: string;
  source: 'env' | 'git' | 'os';
}

const MAX_ACTOR = 200;

/** Control characters and surrounding space removed, length bounded: an actor is printed in terminals and cards. */
export function cleanActor(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_ACTOR);
}

function gitConfig(cwd: string, key: string): string {
  try {
    return execFileSync('git', ['config', '--get', key], {
      cwd,
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

export function resolveActor(cwd: string, env: NodeJS.ProcessEnv = process.env): Actor {
  const fromEnv = cleanActor(env.MODELOPS_ACTOR ?? '');
  if (fromEnv) return { id: fromEnv, source: 'env' };
  const name = cleanActor(gitConfig(cwd, 'user.name'));
  const email = cleanActor(gitConfig(cwd, 'user.email'));
  if (name || email) return { id: name && email ? `${name} <${email}>` : name || email, source: 'git' };
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? env.USERNAME ?? '';
  }
  return { id: cleanActor(user) || 'unknown', source: 'os' };
}

/** The e-mail in "Name <email>" or a bare e-mail, lower-cased; null when there is none. */
function emailOf(id: string): string | null {
  const m = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(id) ?? /^([^<>\s]+@[^<>\s]+)$/.exec(id.trim());
  return m ? m[1].toLowerCase() : null;
}

function nameOf(id: string): string {
  return id
    .replace(/<[^>]*>\s*$/, '')
    .trim()
    .toLowerCase();
}

/**
 * Whether two recorded actors are the same person for separation of duties: equal ignoring
 * case, or the same e-mail, or the same name. Errs towards "same": a false match asks for
 * another approver, a false difference would let an author approve their own version.
 */
export function sameActor(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  if (a.trim().toLowerCase() === b.trim().toLowerCase()) return true;
  const ea = emailOf(a);
  const eb = emailOf(b);
  if (ea && eb && ea === eb) return true;
  const na = nameOf(a);
  const nb = nameOf(b);
  return na !== '' && na === nb;
}
