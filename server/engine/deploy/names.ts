/**
 * Target names become file names under .modelops/serving/ (record, token, log, store) and secret
 * names become environment variable and SecretStorage keys, so both are kept plain: never a
 * path component such as "../outside".
 */
import { ModelOpsError } from '../errors';

/** 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit, no "..". */
export const TARGET_NAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const TARGET_NAME = new RegExp(TARGET_NAME_PATTERN);

export function isValidTargetName(name: string): boolean {
  return typeof name === 'string' && TARGET_NAME.test(name);
}

export function checkTargetName(name: string): string {
  if (!isValidTargetName(name)) {
    throw new ModelOpsError(
      'invalid-target-name',
      `Invalid deploy target name '${String(name).slice(0, 80)}'.`,
      'A target name is 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. local, staging); rename it under deploy.targets.',
    );
  }
  return name;
}
