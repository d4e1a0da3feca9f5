/**
 * Which aliases need an approval, read from `registry:` in modelops.yaml. The registry reads
 * it itself on every protected write, so the CLI, the sidecar and any other caller get the same
 * refusal. Only the two governance keys are read (not the whole config), so an unrelated error
 * elsewhere in the file does not block promotion; a file that is not YAML at all does, because a
 * protection that cannot be read must not silently lapse.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ModelOpsError } from '../errors';

export interface AliasPolicy {
  /** Aliases that can be set only with an approval for that alias. */
  protectedAliases: string[];
  /** With it, the approver must not be the version's author. */
  separationOfDuties: boolean;
}

export const NO_POLICY: AliasPolicy = { protectedAliases: [], separationOfDuties: false };

/** The alias policy of a config file; NO_POLICY when the file does not exist. */
export function readAliasPolicy(configPath: string): AliasPolicy {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
    if (code === 'ENOENT' || code === 'ENOTDIR') return NO_POLICY;
    throw new ModelOpsError(
      'policy-unreadable',
      `Cannot read ${configPath} to learn which aliases are protected (${code || String(e)}).`,
      'Fix the file permissions; protected aliases cannot be moved while their protection cannot be read.',
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ModelOpsError(
      'policy-unreadable',
      `${configPath} is not valid YAML, so which aliases are protected (registry.protectedAliases) cannot be read: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}.`,
      'Fix the YAML (modelops validate shows where); protected aliases cannot be moved until then.',
    );
  }
  return aliasPolicyOf(doc);
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
