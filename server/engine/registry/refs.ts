/** Version references: `model@1.2.0`, `model@production`, `model` (latest), and name rules. */
import { ModelOpsError } from '../errors';
import { isValidSemver } from './semver';

/** Model names double as path segments and URI parts, so they are kept plain. */
const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Aliases start with a letter so they never look like a version. */
const ALIAS_NAME = /^[a-z][a-z0-9._-]{0,63}$/;

export interface ParsedRef {
  model: string;
  /** Set for `model@1.2.0`. */
  version?: string;
  /** Set for `model@production`. */
  alias?: string;
}

export function validateModelName(name: string): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name) || name.includes('..')) {
    throw new ModelOpsError(
      'invalid-model-name',
      `Invalid model name '${String(name)}'.`,
      'Use 1–64 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. weather-classifier).',
    );
  }
  return name;
}

export function validateAlias(alias: string): string {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias) || alias.includes('..')) {
    throw new ModelOpsError(
      'invalid-alias',
      `Invalid alias '${String(alias)}'.`,
      'Use 1–64 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter (e.g. production, staging, champion).',
    );
  }
  return alias;
}

export function parseRef(ref: string): ParsedRef {
  if (typeof ref !== 'string' || ref.trim() === '') {
    throw new ModelOpsError('invalid-ref', 'Empty version reference.', 'Write model@1.2.0, model@production or model.');
  }
  const text = ref.trim();
  const at = text.indexOf('@');
  if (at < 0) return { model: validateModelName(text) };
  const model = validateModelName(text.slice(0, at));
  let rest = text.slice(at + 1);
  if (/^v\d/.test(rest)) rest = rest.slice(1);
  if (rest === '') {
    throw new ModelOpsError(
      'invalid-ref',
      `Version reference '${text}' has nothing after '@'.`,
      'Write model@1.2.0 or model@production.',
    );
  }
  if (/^\d/.test(rest)) {
    if (!isValidSemver(rest)) {
      throw new ModelOpsError(
        'invalid-ref',
        `'${rest}' in '${text}' is not a version of the form MAJOR.MINOR.PATCH.`,
        'Write e.g. model@1.2.0.',
      );
    }
    return { model, version: rest };
  }
  return { model, alias: validateAlias(rest) };
}

export function formatRef(model: string, versionOrAlias?: string | null): string {
  return versionOrAlias ? `${model}@${versionOrAlias}` : model;
}
