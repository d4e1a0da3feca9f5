/**
 * Which endpoint token may go where. A token is bound by the user to the origins (scheme, host,
 * port) they stored it for; the workspace's modelops.yaml only names targets, URLs and secret
 * names, so it can never by itself send a user's token to a URL of its choosing:
 *
 * - `http` targets: a token goes only to an origin it is bound to. The editor binds it when the
 *   user stores it (Set Endpoint Token) or consents in a modal; the CLI binds an environment token
 *   with MODELOPS_TOKEN_<NAME>_ORIGIN (user environment, not the workspace) or `--token-origin`.
 * - `local` targets: the token is the management token of our own `modelops serve` process, sent
 *   only to a server that first proves it already holds it (see localServer.ts), so it needs no
 *   binding.
 * - In an untrusted workspace no token is handed out at all.
 */
import type { TargetConfig } from '../config/types';
import { ModelOpsError } from '../errors';

/** The endpoint token of a target, or null when there is none (it may throw when one exists but may not be sent). */
export type TokenFor = (
  target: string,
  config: TargetConfig,
) => string | null | undefined | Promise<string | null | undefined>;

/** A stored token and the origins the user allowed it to be sent to. */
export interface BoundToken {
  token: string;
  origins: string[];
}

/** `MODELOPS_TOKEN_<NAME>`: the name upper-cased, non-alphanumerics as '_'. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** The secret a target's token is stored under: its tokenSecret, else the target's name. */
export function secretName(target: string, t: Pick<TargetConfig, 'tokenSecret'>): string {
  return t.tokenSecret ?? target;
}

/** `scheme://host:port` with the default port made explicit; null for anything that is not http(s). */
export function originOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.protocol}//${u.hostname.toLowerCase()}:${port}`;
}

/** Normalises an origin or URL the user typed; throws a clear error for anything else. */
export function parseOrigin(text: string, where: string): string {
  const o = originOf(text.trim());
  if (!o)
    throw new ModelOpsError(
      'token-origin-invalid',
      `${where}: '${text}' is not an http(s) origin.`,
      'Give it as scheme://host[:port], e.g. https://models.example.com.',
    );
  return o;
}

function notBound(target: string, secret: string, origin: string, origins: string[], how: string): ModelOpsError {
  return new ModelOpsError(
    'token-not-bound',
    `The token '${secret}' is not allowed to go to ${origin} (target '${target}')${origins.length ? `; it is bound to ${origins.join(', ')}` : '; it is not bound to any origin yet'}.`,
    how,
  );
}

export interface TokenPolicy {
  /** False in an untrusted workspace: no token is handed out. */
  trusted: () => boolean;
  /** A token stored by the user (SecretStorage in the editor), by secret name. */
  stored?: (secret: string) => BoundToken | undefined;
  /** Environment (the user's, never the workspace's) for MODELOPS_TOKEN_<NAME>[_ORIGIN]. */
  env?: NodeJS.ProcessEnv;
  /** Origins the user allowed on the command line (`--token-origin`). */
  allowOrigins?: string[];
  /** What to tell the user to do when a token exists but is not bound to the target's origin. */
  consentHint: string;
}

/** The one token resolver of the editor's sidecar and of the CLI. */
export function tokenResolver(policy: TokenPolicy): TokenFor {
  return (target, t) => {
    if (!policy.trusted()) return null;
    const secret = secretName(target, t);
    const stored = policy.stored?.(secret);
    const envKey = `MODELOPS_TOKEN_${envName(secret)}`;
    const envToken = policy.env?.[envKey]?.trim() || undefined;
    if (t.type === 'local') return stored?.token ?? envToken ?? null;
    const origin = t.url ? originOf(t.url) : null;
    if (!origin) return null; // validation reports the URL; nothing is sent anywhere
    const allowed = (extra: string[]) => [...extra, ...(policy.allowOrigins ?? [])].includes(origin);
    if (stored) {
      if (allowed(stored.origins)) return stored.token;
      throw notBound(target, secret, origin, stored.origins, policy.consentHint);
    }
    if (envToken) {
      const envOrigins = (policy.env?.[`${envKey}_ORIGIN`] ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((o) => originOf(o))
        .filter((o): o is string => o !== null);
      if (allowed(envOrigins)) return envToken;
      throw notBound(
        target,
        secret,
        origin,
        envOrigins,
        `Allow it for this origin with ${envKey}_ORIGIN=${origin} in your environment, or --token-origin ${origin}. ${policy.consentHint}`,
      );
    }
    return null;
  };
}
