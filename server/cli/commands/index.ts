import type { CliCommand } from '../command';
import { deployCommand, monitorCommand, rollbackCommand, serveCommand } from './deploy';
import { initCommand } from './init';
import { validateCommand } from './validate';
import { runsCommand, versionsCommand } from './versions';
import { chartCommand } from './chart';
import { trainCommand } from './train';
import { evaluateCommand } from './evaluate';

/** Every verb of the CLI. Add a verb by adding one line to this list. */
export const commands: CliCommand[] = [initCommand, validateCommand, versionsCommand, runsCommand, chartCommand, serveCommand, deployCommand, rollbackCommand, monitorCommand, trainCommand, evaluateCommand];
