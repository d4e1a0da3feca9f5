import { ModelOpsError } from '../errors';

/** Model and version names are path segments on disk and in URLs: kept plain. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name) && !name.includes('..');
}

export function checkName(name: string, what: 'model' | 'version'): string {
  if (!isValidName(name)) {
    throw new ModelOpsError(
      `invalid-${what}-name`,
      `Invalid ${what} name '${name.slice(0, 80)}'.`,
      `A ${what} name is lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  }
  return name;
}
