import type { ErrorCode } from '../../shared/errorCodes';

export type { ErrorCode };

/**
 * The one error type the user meets. `message` names the file, key or value at fault;
 * `hint` says what to do about it. Faces (CLI, LSP) print both and never a stack trace.
 */
export class ModelOpsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ModelOpsError';
  }

  /** "message — hint", the form shown in notifications and CLI output. */
  describe(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }
}

/**
 * The HTTP status of an engine error when the model server answers with it: one table, so the
 * server never matches codes by hand. Codes not listed are the client's mistake (400).
 */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  'not-loaded': 404,
  'model-not-found': 404,
  'version-not-found': 404,
  'version-serving': 409,
  'bundle-corrupt': 422,
  'bundle-digest': 422,
  'bundle-format': 422,
  'bundle-incomplete': 422,
  'bundle-layout': 422,
  'bundle-mismatch': 422,
  'bundle-unreadable': 422,
  'bundle-write': 422,
  'explain-timeout': 504,
  'store-full': 507,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 400;
}

export function isModelOpsError(e: unknown): e is ModelOpsError {
  return e instanceof ModelOpsError;
}

/** Any thrown value as a one-line description fit for a user. */
export function describeError(e: unknown): string {
  if (e instanceof ModelOpsError) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
