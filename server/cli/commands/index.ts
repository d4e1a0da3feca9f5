import type { CliCommand } from '../command';
import { deployCommand } from './deploy';
import { monitorCommand } from './monitor';
import { alertsCommand } from './alerts';
import { rollbackCommand } from './rollback';
import { serveCommand } from './serve';
import { storeCommand } from './store';
import { initCommand } from './init';
import { validateCommand } from './validate';
import { runsCommand, versionsCommand } from './versions';
import { chartCommand } from './chart';
import { trainCommand } from './train';
import { evaluateCommand } from './evaluate';
import { predictCommand } from './predict';
import { auditCommand } from './audit';
import { approvalsCommand, approveCommand } from './approve';
import { cardCommand } from './card';
import { explainCommand } from './explain';
import { optimizeCommand } from './optimize';
import { dataCommand } from './data';
import { gcCommand } from './gc';
import { tuneCommand } from './tune';

/** Every verb of the CLI. Add a verb by adding one line to this list. */
export const commands: CliCommand[] = [
  initCommand,
  validateCommand,
  versionsCommand,
  runsCommand,
  chartCommand,
  serveCommand,
  deployCommand,
  rollbackCommand,
  monitorCommand,
  alertsCommand,
  trainCommand,
  evaluateCommand,
  predictCommand,
  explainCommand,
  storeCommand,
  auditCommand,
  approveCommand,
  approvalsCommand,
  cardCommand,
  dataCommand,
  gcCommand,
  tuneCommand,
  optimizeCommand,
];
