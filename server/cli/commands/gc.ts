/** `modelops gc`: frees the stored bytes of data versions nothing references any more. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliCommand } from '../command';
import { paint, table } from '../output';
import { findWorkspaceRoot, intFlag, parseCli, printJson, str } from '../shared/args';
import { openForRead } from '../shared/registry';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { lostError } from '../../engine/registry/store';
import { collectGarbage, DATA_GRACE_MS } from '../../engine/data/store/gc';
import { DataStore } from '../../engine/data/store/store';
import { formatBytes } from '../../../shared/format';

const USAGE = `Usage: modelops gc [--dry-run] [--keep-days n] [--json] [--root dir]

Frees the stored bytes (chunks under .modelops/data) of data versions that nothing references.
Kept: the datasets of every version (archived ones too), so everything an alias or a deployment
points at; data stored since a run still in progress started; data stored in the last
${DATA_GRACE_MS / 60000} minutes; and with --keep-days n, everything stored in the last n days.
A freed dataset keeps its digest, rows, columns and profile; only its bytes go. Chunks another
data version uses are never deleted.

Also deletes the CSVs retraining from traffic wrote under .modelops/traffic once they are older
than the grace period (and --keep-days): each was stored as a data version when it was made, and
is deleted only while that data version stays stored and can be checked out
(modelops data checkout <digest>). A CSV whose data version is not stored is the only copy and stays.

  --dry-run      print what would be freed, delete nothing
  --keep-days n  also keep data stored in the last n days
  --json         print {dryRun, kept, freed, chunks, bytes, temps, traffic, trafficKept} as JSON`;

export const gcCommand: CliCommand = {
  name: 'gc',
  summary: 'Free the stored bytes of data versions no version, alias, deployment or run references',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        'dry-run': { type: 'boolean' },
        'keep-days': { type: 'string' },
        json: { type: 'boolean' },
        root: { type: 'string' },
      },
      USAGE,
    );
    if (a.positionals.length > 0)
      throw new ModelOpsError('cli-usage', `Unexpected argument '${a.positionals[0]}'.`, USAGE);
    const keepDays = intFlag(str(a.values['keep-days']), '--keep-days', 0);
    const dryRun = a.values['dry-run'] === true;
    const root = findWorkspaceRoot(io.cwd, str(a.values.root));
    const storeDir = join(root, '.modelops');
    if (!existsSync(storeDir)) {
      if (a.values.json)
        return printJson(io, {
          dryRun,
          keepDays: keepDays ?? null,
          kept: [],
          freed: [],
          chunks: 0,
          bytes: 0,
          temps: 0,
          traffic: [],
          trafficKept: [],
        });
      io.out(`No workspace store at ${storeDir}: nothing to collect.`);
      return 0;
    }
    // A dry run reads (a store that needs its schema upgraded is opened for writing once).
    const reg = dryRun ? openForRead(root) : openRegistry(root);
    try {
      if (reg.lostDatabase && !dryRun) throw lostError(`${storeDir}/registry.db`, reg.lostDatabase);
      const report = collectGarbage(reg.datasets, new DataStore(storeDir), {
        dryRun,
        ...(keepDays !== undefined ? { keepDays } : {}),
      });
      if (a.values.json) return printJson(io, report);
      const c = paint(io.isTTY);
      const verb = dryRun ? 'would free' : 'freed';
      const freedBytes = report.freed.reduce((s, f) => s + f.size, 0);
      if (report.freed.length > 0) {
        io.out(
          `${dryRun ? c.yellow('dry run:') + ' ' : ''}${verb} the bytes of ${report.freed.length} data version${report.freed.length === 1 ? '' : 's'} (${formatBytes(freedBytes)} of data):`,
        );
        io.out(
          table(
            ['DIGEST', 'PATH', 'SIZE', 'CHUNKS'],
            report.freed.map((f) => [`${f.digest.slice(0, 19)}…`, f.path, formatBytes(f.size), f.chunks]),
          ),
        );
      } else {
        io.out(`${dryRun ? c.yellow('dry run:') + ' ' : ''}no data version to free.`);
      }
      io.out(
        `${verb} ${report.chunks} chunk file${report.chunks === 1 ? '' : 's'} (${formatBytes(report.bytes)} on disk; chunks shared with kept data stay)${report.temps ? ` and ${report.temps} stale temp file${report.temps === 1 ? '' : 's'}` : ''}.`,
      );
      if (report.traffic.length > 0) {
        const trafficBytes = report.traffic.reduce((s, t) => s + t.size, 0);
        io.out(
          `${verb === 'freed' ? 'deleted' : 'would delete'} ${report.traffic.length} traffic CSV${report.traffic.length === 1 ? '' : 's'} (${formatBytes(trafficBytes)}) whose data version is stored:`,
        );
        io.out(
          table(
            ['PATH', 'DIGEST', 'SIZE'],
            report.traffic.map((t) => [t.path, `${t.digest.slice(0, 19)}…`, formatBytes(t.size)]),
          ),
        );
      }
      if (report.trafficKept.length > 0)
        io.out(
          c.dim(
            `kept ${report.trafficKept.length} traffic CSV${report.trafficKept.length === 1 ? '' : 's'}: ${report.trafficKept
              .slice(0, 3)
              .map((t) => `${t.path} (${t.reason})`)
              .join('; ')}${report.trafficKept.length > 3 ? `; +${report.trafficKept.length - 3} more` : ''}`,
          ),
        );
      if (report.kept.length > 0) {
        io.out(`\nkept ${report.kept.length} data version${report.kept.length === 1 ? '' : 's'}:`);
        io.out(
          table(
            ['DIGEST', 'PATH', 'KEPT FOR'],
            report.kept.map((k) => [
              `${k.digest.slice(0, 19)}…`,
              k.path,
              k.reasons.slice(0, 3).join('; ') + (k.reasons.length > 3 ? `; +${k.reasons.length - 3} more` : ''),
            ]),
          ),
        );
      }
      if (dryRun && (report.freed.length > 0 || report.chunks > 0 || report.traffic.length > 0))
        io.out(c.dim('\nRun `modelops gc` without --dry-run to free them.'));
      return 0;
    } finally {
      reg.close();
    }
  },
};
