/** One verb of the `modelops` CLI. Commands hold no state; they parse, call the engine, print. */
export interface CliCommand {
  /** The verb, e.g. "validate" or "versions". */
  name: string;
  /** One line for `modelops help`. */
  summary: string;
  /** Full usage text for `modelops help <verb>`. */
  usage: string;
  /** Runs the command and resolves to the process exit code. */
  run(argv: string[], io: CliIO): Promise<number>;
}

export interface CliIO {
  /** Working directory the command resolves paths against. */
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (colours, progress bars). */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}
