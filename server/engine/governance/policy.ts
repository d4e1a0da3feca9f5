/**
 * Which aliases and targets need an approval, read from `registry:` and `deploy.targets` in
 * modelops.yaml. The registry reads the alias policy itself on every protected write, and an
 * approval's scope is decided here, so the CLI, the sidecar and any other caller get the same
 * answer. Only those keys are read (not the whole config), so an unrelated error elsewhere in the
 * file does not block promotion; a file that is not YAML at all does, because a protection that
 * cannot be read must not silently lapse.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ModelOpsError } from '../errors';
import { didYouMean } from '../config/text';

export interface AliasPolicy {
  /** Aliases that can be set only with an approval for that alias. */
  protectedAliases: string[];
  /** With it, the approver must not be the version's author. */
  separationOfDuties: boolean;
}

export const NO_POLICY: AliasPolicy = { protectedAliases: [], separationOfDuties: false };

/** The alias policy of a config file; NO_POLICY when the file does not exist. */
export function readAliasPolicy(configPath: string): AliasPolicy {
  return aliasPolicyOf(readPolicyDocument(configPath));
}

/**
 * The parsed config (null when the file does not exist). A file that cannot be read or is not
 * YAML is refused: a protection that cannot be read must not silently lapse.
 */
function readPolicyDocument(configPath: string): unknown {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ModelOpsError(
      'policy-unreadable',
      `Cannot read ${configPath} to learn which aliases are protected (${code || String(e)}).`,
      'Fix the file permissions; protected aliases cannot be moved while their protection cannot be read.',
    );
  }
  try {
    return parse(text);
  } catch (e) {
    throw new ModelOpsError(
      'policy-unreadable',
      `${configPath} is not valid YAML, so which aliases are protected (registry.protectedAliases) cannot be read: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}.`,
      'Fix the YAML (modelops validate shows where); protected aliases cannot be moved until then.',
    );
  }
}

/** The alias policy of a parsed config document (lenient: wrong types read as "not set"; diagnostics report them). */
export function aliasPolicyOf(doc: unknown): AliasPolicy {
  const reg = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).registry : undefined;
  if (!reg || typeof reg !== 'object') return NO_POLICY;
  const r = reg as Record<string, unknown>;
  const list = Array.isArray(r.protectedAliases)
    ? r.protectedAliases.filter((a): a is string => typeof a === 'string' && a.trim() !== '').map((a) => a.trim())
    : [];
  return { protectedAliases: [...new Set(list)].sort(), separationOfDuties: r.separationOfDuties === true };
}

/** What an approval may be for: the protected aliases and the targets, as modelops.yaml names them. */
export interface ApprovalPolicy extends AliasPolicy {
  /** Every target of deploy.targets, with whether a deploy there needs an approval. */
  targets: Map<string, { requireApproval: boolean; separationOfDuties: boolean }>;
}

/**
 * The approval policy of a config file, read leniently (only registry: and deploy.targets, so an
 * unrelated config error does not stop an approval); none when the file does not exist.
 */
export function readApprovalPolicy(configPath: string): ApprovalPolicy {
  const doc = readPolicyDocument(configPath);
  const targets = new Map<string, { requireApproval: boolean; separationOfDuties: boolean }>();
  const all = (doc as { deploy?: { targets?: unknown } } | null)?.deploy?.targets;
  if (all && typeof all === 'object' && !Array.isArray(all))
    for (const [name, t] of Object.entries(all as Record<string, unknown>)) {
      const o = t && typeof t === 'object' ? (t as Record<string, unknown>) : {};
      targets.set(name, {
        requireApproval: o.requireApproval === true,
        separationOfDuties: o.separationOfDuties === true,
      });
    }
  return { ...aliasPolicyOf(doc), targets };
}

/**
 * What an approval for `name` is: for a target (with its separationOfDuties) or for a protected
 * alias. Any other name is refused, since nothing would ever ask for that approval (a typo of
 * 'production', say): the CLI and the editor get the same answer.
 */
export function approvalScope(
  configPath: string,
  name: string,
): { scope: 'target' | 'alias'; separationOfDuties: boolean } {
  const policy = readApprovalPolicy(configPath);
  const target = policy.targets.get(name);
  if (target) return { scope: 'target', separationOfDuties: target.separationOfDuties };
  if (policy.protectedAliases.includes(name)) return { scope: 'alias', separationOfDuties: false };
  const targets = [...policy.targets.keys()];
  const known = [...policy.protectedAliases.map((a) => `alias '${a}'`), ...targets.map((t) => `target '${t}'`)];
  const guess = didYouMean(name, [...policy.protectedAliases, ...targets]);
  throw new ModelOpsError(
    'approval-unused',
    `'${name}' is neither a protected alias (registry.protectedAliases) nor a target (deploy.targets) in ${configPath}, so an approval for it would never be asked for.${guess ? ` Did you mean '${guess}'?` : ''}`,
    known.length
      ? `Approve for one of: ${known.join(', ')}; or add '${name}' to registry.protectedAliases first.`
      : `Add '${name}' to registry.protectedAliases (or deploy.targets with requireApproval: true) first.`,
  );
}
