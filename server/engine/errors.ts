/**
 * The one error type the user meets. `message` names the file, key or value at fault;
 * `hint` says what to do about it. Faces (CLI, LSP) print both and never a stack trace.
 */
export class ModelOpsError extends Error {
  constructor(
    readonly code: string,
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

export function isModelOpsError(e: unknown): e is ModelOpsError {
  return e instanceof ModelOpsError;
}

/** Any thrown value as a one-line description fit for a user. */
export function describeError(e: unknown): string {
  if (e instanceof ModelOpsError) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
