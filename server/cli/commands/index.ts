import type { CliCommand } from '../command';

/** Every verb of the CLI. Add a verb by adding one line to this list. */
export const commands: CliCommand[] = [];
