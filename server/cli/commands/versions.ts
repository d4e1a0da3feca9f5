/** `modelops versions …` and `modelops runs …`: the registry from the command line. */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { CliCommand, CliIO } from '../command';
import { displayPath, formatNumber, paint, printable, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import {
  buildLineage,
  detectModelFormat,
  diffVersions,
  openRegistry,
  parseRef,
  versionConfig,
  type ArtifactFormat,
  type RunRecord,
  type VersionComparison,
  type VersionRecord,
} from '../../engine/registry';
import { formatBytes } from '../../engine/registry/lineage';
import { trainData } from '../../engine/registry/versions';
import { registerModel } from '../../engine/registry/registerModel';
import { exportVersion, importVersion, type RunSummary } from '../../engine/registry/versionArchive';
import { archiveFileName, runKindName } from '../../../shared/format';
import { abortOnSigint } from './train';
import { openForRead } from '../shared/registry';
// chart.ts still imports it from here.
import {
  dispatch,
  findWorkspaceRoot,
  intFlag,
  need,
  onePositional,
  parseCli,
  printJson,
  str,
  type CliOptions,
  type Subcommand,
} from '../shared/args';

/** Every versions/runs verb takes --json and --root. */
const COMMON = { json: { type: 'boolean' }, root: { type: 'string' } } as const;

function parse<O extends CliOptions>(argv: string[], options: O, usage: string) {
  return parseCli(argv, { ...COMMON, ...options }, usage);
}

function keyMetrics(v: VersionRecord, n = 3): string {
  return Object.entries(v.metrics)
    .slice(0, n)
    .map(([k, x]) => `${k} ${formatNumber(x)}`)
    .join(', ');
}

const VERSIONS_USAGE = `modelops versions list [model] [--filter text] [--sort version|created|<metric>] [--order asc|desc] [--limit n] [--offset n] [--all] [--json]
modelops versions show <model[@version|@alias]> [--json]
modelops versions register <path> --model <name> [--version x.y.z] [--note text] [--tag t]… [--format f] [--config modelops.yaml] [--metrics metrics.json] [--json]
modelops versions register [model.onnx] --config modelops.yaml [--model <name>] [--no-evaluate] …   (ONNX: spec from the config, then evaluate + gates)
modelops versions promote <model@version> --alias <alias> [--reason text] [--force-reason text] [--json]
modelops versions rollback <model> --alias <alias> [--reason text] [--json]
modelops versions compare <refA> <refB> [--json]
modelops versions config <model@version> [--json]
modelops versions diff <refA> <refB> [--json]
modelops versions archive <model@version> [--undo] [--json]
modelops versions delete <model@version> [--json]
modelops versions history <model> [--alias alias] [--json]
modelops versions export <model@version|alias> [--out file.modelops.tgz] [--with-data] [--force] [--json]
modelops versions import <file.modelops.tgz> [--model name] [--version x.y.z] [--json]

Export writes one version (artifact, record, gate report, config; with --with-data the exact bytes
of its datasets) as one file another workspace imports as the same version.
\`modelops versions\` alone (or with list's options only) lists every model.
Every form takes --root <dir> (default: the nearest folder with .modelops/ or modelops.yaml).`;

const VERSION_SUBCOMMANDS: Record<string, Subcommand> = {
  list: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(
      rest,
      {
        filter: { type: 'string' },
        sort: { type: 'string' },
        order: { type: 'string' },
        limit: { type: 'string' },
        offset: { type: 'string' },
        all: { type: 'boolean' },
      },
      VERSIONS_USAGE,
    );
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const model = a.positionals[0];
      if (!model) {
        const models = reg.listModels();
        if (a.values.json) return printJson(io, models);
        if (models.length === 0) {
          io.out('No models registered yet. Register one with: modelops versions register <path> --model <name>');
          return 0;
        }
        io.out(
          table(
            ['model', 'versions', 'latest', 'aliases'],
            models.map((m) => [
              m.name,
              m.versionCount,
              m.latestVersion ?? '—',
              Object.entries(m.aliases)
                .map(([k, v]) => `${k}→${v}`)
                .join(', '),
            ]),
          ),
        );
        return 0;
      }
      const order = str(a.values.order);
      if (order && order !== 'asc' && order !== 'desc')
        throw new ModelOpsError(
          'cli-usage',
          `--order must be asc or desc, not '${order}'.`,
          'Use --order asc or --order desc.',
        );
      const page = reg.listVersions({
        model,
        filter: str(a.values.filter),
        sort: str(a.values.sort),
        order: order as 'asc' | 'desc' | undefined,
        limit: intFlag(str(a.values.limit), '--limit') ?? 50,
        offset: intFlag(str(a.values.offset), '--offset') ?? 0,
        includeArchived: a.values.all === true,
      });
      if (a.values.json) return printJson(io, page);
      io.out(
        table(
          ['version', 'created', 'aliases', 'deployed', 'metrics', 'tags', 'note'],
          page.items.map((v) => [
            v.archived ? c.dim(`${v.version} (archived)`) : v.version,
            v.createdAt.slice(0, 19).replace('T', ' '),
            v.aliases.join(', '),
            v.deployedTo.join(', '),
            keyMetrics(v),
            v.tags.join(', '),
            (v.note ?? '').slice(0, 40),
          ]),
        ),
      );
      if (page.total > page.items.length)
        io.out(c.dim(`${page.items.length} of ${page.total} shown; use --offset/--limit for more.`));
      return 0;
    } finally {
      reg.close();
    }
  },
  show: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, {}, VERSIONS_USAGE);
    const ref = need(a.positionals[0], 'the version (model@1.2.0)', VERSIONS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const v = reg.getVersion(ref);
      const lineage = buildLineage(reg, `${v.model}@${v.version}`);
      if (a.values.json) return printJson(io, { version: v, lineage });
      io.out(c.bold(`${v.model}@${v.version}`) + (v.archived ? c.dim(' (archived)') : ''));
      const width = Math.max(...lineage.lines.map((l) => l.label.length), 8);
      for (const l of lineage.lines) io.out(`  ${l.label.padEnd(width)}  ${l.value}`);
      if (v.tags.length) io.out(`  ${'tags'.padEnd(width)}  ${v.tags.join(', ')}`);
      if (v.deployedTo.length) io.out(`  ${'deployed'.padEnd(width)}  ${v.deployedTo.join(', ')}`);
      for (const line of signatureLines(v)) io.out(`  ${line}`);
      if (v.notice) io.out(c.yellow(v.notice));
      const metrics = Object.entries(v.metrics);
      if (metrics.length) {
        io.out('');
        io.out(
          table(
            ['metric', 'value'],
            metrics.map(([k, x]) => [k, formatNumber(x)]),
          ),
        );
      }
      if (v.gates) {
        io.out('');
        io.out(
          `gates: ${v.gates.passed ? c.green('passed') : c.red('failed')}${v.gates.override ? c.yellow(` (overridden: ${v.gates.override.reason})`) : ''}`,
        );
        for (const g of v.gates.results) io.out(`  ${g.passed ? c.green('✓') : c.red('✗')} ${g.message}`);
      }
      return 0;
    } finally {
      reg.close();
    }
  },
  register: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(
      rest,
      {
        model: { type: 'string' },
        version: { type: 'string' },
        note: { type: 'string' },
        tag: { type: 'string', multiple: true },
        format: { type: 'string' },
        config: { type: 'string' },
        metrics: { type: 'string' },
        'no-evaluate': { type: 'boolean' },
      },
      VERSIONS_USAGE,
    );
    const configArg = str(a.values.config);
    const configPath = configArg ? resolve(io.cwd, configArg) : null;
    const given = a.positionals[0];
    const root = findWorkspaceRoot(io.cwd, str(a.values.root));
    // An ONNX model with its config: the config says how to run it, so it is evaluated and gated too.
    const onnxWithConfig =
      configPath !== null &&
      str(a.values.format) === undefined &&
      str(a.values.metrics) === undefined &&
      (given ? detectModelFormat(resolve(io.cwd, given)) === 'onnx' : true);
    if (onnxWithConfig) {
      const reg = openRegistry(root);
      try {
        const r = await registerModel({
          registry: reg,
          configPath,
          ...(given ? { source: given } : {}),
          ...(str(a.values.model) ? { model: str(a.values.model) } : {}),
          version: str(a.values.version),
          note: str(a.values.note) ?? null,
          tags: (a.values.tag as string[] | undefined) ?? [],
          evaluate: a.values['no-evaluate'] !== true,
          cwd: io.cwd,
        });
        if (a.values.json)
          return printJson(io, {
            version: r.version,
            metrics: r.evaluation?.metrics ?? null,
            gates: r.version.gates,
            notEvaluated: r.notEvaluated,
          });
        printRegistered(io, r.version);
        if (r.evaluation) {
          const shown = Object.entries(r.evaluation.metrics)
            .slice(0, 4)
            .map(([k, x]) => `${k} ${formatNumber(x)}`)
            .join(', ');
          io.out(`evaluated on ${r.evaluation.rows} rows (${printable(r.evaluation.data)}): ${shown}`);
        }
        if (r.version.gates) {
          io.out(`gates: ${r.version.gates.passed ? c.green('passed') : c.red('FAILED')}`);
          for (const g of r.version.gates.results)
            io.out(`  ${g.passed ? c.green('✓') : c.red('✗')} ${printable(g.message)}`);
        } else if (r.notEvaluated && !r.version.notice) {
          io.out(c.yellow(`gates: not evaluated — ${printable(r.notEvaluated)}`));
        }
        return 0;
      } finally {
        reg.close();
      }
    }
    const path = need(given, 'the path of the model file or folder', VERSIONS_USAGE);
    const model = need(str(a.values.model), '--model <name>', VERSIONS_USAGE);
    let metrics: Record<string, number> | undefined;
    const metricsFile = str(a.values.metrics);
    if (metricsFile) metrics = readMetrics(resolve(io.cwd, metricsFile));
    const reg = openRegistry(root);
    try {
      const v = await reg.registerVersion({
        model,
        source: resolve(io.cwd, path),
        version: str(a.values.version),
        note: str(a.values.note) ?? null,
        tags: (a.values.tag as string[] | undefined) ?? [],
        format: str(a.values.format) as ArtifactFormat | undefined,
        configPath,
        metrics,
      });
      if (a.values.json) return printJson(io, v);
      printRegistered(io, v);
      return 0;
    } finally {
      reg.close();
    }
  },
  promote: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(
      rest,
      { alias: { type: 'string' }, reason: { type: 'string' }, 'force-reason': { type: 'string' } },
      VERSIONS_USAGE,
    );
    const ref = parseRef(need(a.positionals[0], 'the version (model@1.2.0)', VERSIONS_USAGE));
    const alias = need(str(a.values.alias), '--alias <alias>', VERSIONS_USAGE);
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const version = ref.version ?? reg.getVersion(a.positionals[0]).version;
      const move = reg.setAlias(ref.model, alias, version, str(a.values.reason) ?? null, {
        forceReason: str(a.values['force-reason']) ?? null,
      });
      if (a.values.json) return printJson(io, move);
      io.out(
        move.fromVersion === move.toVersion
          ? `${ref.model}@${alias} already is ${move.toVersion}`
          : `${c.green('promoted')} ${ref.model}@${move.toVersion} to '${alias}'${move.fromVersion ? ` (was ${move.fromVersion})` : ''}${move.forceReason ? c.yellow(` despite failed gates: ${move.forceReason}`) : ''}`,
      );
      return 0;
    } finally {
      reg.close();
    }
  },
  rollback: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, { alias: { type: 'string' }, reason: { type: 'string' } }, VERSIONS_USAGE);
    const model = parseRef(need(a.positionals[0], 'the model', VERSIONS_USAGE)).model;
    const alias = need(str(a.values.alias), '--alias <alias>', VERSIONS_USAGE);
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const move = reg.rollbackAlias(model, alias, str(a.values.reason) ?? null);
      if (a.values.json) return printJson(io, move);
      io.out(`${c.green('rolled back')} ${model}@${alias}: ${move.fromVersion} → ${move.toVersion}`);
      return 0;
    } finally {
      reg.close();
    }
  },
  compare: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, {}, VERSIONS_USAGE);
    const refA = need(a.positionals[0], 'two versions to compare', VERSIONS_USAGE);
    const refB = need(a.positionals[1], 'two versions to compare', VERSIONS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const cmp = reg.compareVersions(refA, refB);
      if (a.values.json) return printJson(io, cmp);
      printComparison(io, cmp, c);
      return 0;
    } finally {
      reg.close();
    }
  },
  config: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, {}, VERSIONS_USAGE);
    const ref = need(a.positionals[0], 'the version (model@1.2.0)', VERSIONS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const cfg = await versionConfig(reg, ref);
      if (a.values.json) return printJson(io, cfg);
      if (cfg.text === null)
        throw new ModelOpsError(
          'config-unavailable',
          `No config text for ${cfg.ref}: ${cfg.note}`,
          cfg.digest
            ? `Its digest is ${cfg.digest}; versions registered from now on keep their config in the workspace store.`
            : 'Register versions with --config modelops.yaml to keep their config.',
        );
      // io.out ends the line itself, so the stored final newline is not doubled.
      io.out(cfg.text.endsWith('\n') ? cfg.text.slice(0, -1) : cfg.text);
      if (cfg.source !== 'registry') io.err(c.dim(`(${cfg.note})`));
      return 0;
    } finally {
      reg.close();
    }
  },
  diff: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, {}, VERSIONS_USAGE);
    const refA = need(a.positionals[0], 'two versions to diff', VERSIONS_USAGE);
    const refB = need(a.positionals[1], 'two versions to diff', VERSIONS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const d = await diffVersions(reg, refA, refB);
      if (a.values.json) return printJson(io, d);
      printComparison(io, d.comparison, c);
      io.out('');
      if (d.configDiff === null) {
        io.out(c.bold('config: ') + 'cannot be compared');
        for (const cfg of [d.configA, d.configB]) if (cfg.text === null) io.out(`  ${cfg.ref}: ${cfg.note}`);
      } else if (d.configDiff === '') {
        io.out(
          `${c.bold('config:')} same${d.configA.digest === d.configB.digest ? ` (${(d.configA.digest ?? '').slice(7, 19)})` : ''}`,
        );
      } else {
        io.out(c.bold('config:'));
        for (const line of d.configDiff.replace(/\n$/, '').split('\n')) {
          io.out(
            line.startsWith('@@')
              ? c.cyan(line)
              : line.startsWith('-') && !line.startsWith('--- ')
                ? c.red(line)
                : line.startsWith('+') && !line.startsWith('+++ ')
                  ? c.green(line)
                  : line,
          );
        }
      }
      return 0;
    } finally {
      reg.close();
    }
  },
  archive: async (rest, io) => {
    const a = parse(rest, { undo: { type: 'boolean' } }, VERSIONS_USAGE);
    const ref = need(a.positionals[0], 'the version (model@1.2.0)', VERSIONS_USAGE);
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const v = reg.archiveVersion(ref, a.values.undo !== true);
      if (a.values.json) return printJson(io, v);
      io.out(`${v.archived ? 'archived' : 'unarchived'} ${v.model}@${v.version}`);
      return 0;
    } finally {
      reg.close();
    }
  },
  delete: async (rest, io) => {
    const a = parse(rest, {}, VERSIONS_USAGE);
    const ref = need(a.positionals[0], 'the version (model@1.2.0)', VERSIONS_USAGE);
    if (!parseRef(ref).version)
      throw new ModelOpsError('cli-usage', `Delete needs an exact version, not '${ref}'.`, 'Write model@1.2.0.');
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      reg.deleteVersion(ref);
      if (a.values.json) return printJson(io, { deleted: ref });
      io.out(`deleted ${ref}`);
      return 0;
    } finally {
      reg.close();
    }
  },
  history: async (rest, io) => {
    const a = parse(rest, { alias: { type: 'string' } }, VERSIONS_USAGE);
    const model = parseRef(need(a.positionals[0], 'the model', VERSIONS_USAGE)).model;
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const moves = reg.aliasHistory(model, str(a.values.alias));
      if (a.values.json) return printJson(io, moves);
      if (moves.length === 0) {
        io.out(`No alias moves for ${model} yet.`);
        return 0;
      }
      io.out(
        table(
          ['when', 'alias', 'from', 'to', 'reason'],
          moves.map((m) => [
            m.at.slice(0, 19).replace('T', ' '),
            m.alias,
            m.fromVersion ?? '—',
            m.toVersion ?? '—',
            [m.reason, m.forceReason ? `gates overridden: ${m.forceReason}` : null].filter(Boolean).join('; '),
          ]),
        ),
      );
      return 0;
    } finally {
      reg.close();
    }
  },
  export: async (rest, io) => {
    const a = parse(
      rest,
      { out: { type: 'string' }, 'with-data': { type: 'boolean' }, force: { type: 'boolean' } },
      VERSIONS_USAGE,
    );
    const ref = onePositional(a.positionals, 'the version to export (model@1.2.0)', VERSIONS_USAGE);
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    const sigint = abortOnSigint();
    try {
      const v = reg.getVersion(ref);
      const out = resolve(io.cwd, str(a.values.out) ?? archiveFileName(v.model, v.version));
      const r = await exportVersion(reg, {
        ref: `${v.model}@${v.version}`,
        out,
        force: a.values.force === true,
        withData: a.values['with-data'] === true,
        signal: sigint.signal,
      });
      if (a.values.json) return printJson(io, r);
      const c = paint(io.isTTY);
      io.out(
        `${c.green('✓')} ${r.ref} → ${displayPath(io.cwd, out)} (${formatBytes(r.size)}, ${r.files} artifact file${r.files === 1 ? '' : 's'}${v.configDigest ? ', config' : ''}${v.gates ? ', gate report' : ''}${r.run ? `, ${runWords(r.run)}` : ''})`,
      );
      for (const d of r.data)
        io.out(`  with ${d.role} data ${d.path} (${formatBytes(d.size)}, ${d.digest.slice(0, 19)}…)`);
      const left = v.datasets.filter((d) => !r.data.some((x) => x.digest === d.digest));
      if (left.length)
        io.out(
          c.dim(
            `  ${left.map((d) => `${d.role} data ${d.path}`).join(', ')}: digest only (add --with-data to carry the bytes)`,
          ),
        );
      io.out(c.dim(`  import it elsewhere with: modelops versions import ${basename(out)}`));
      return 0;
    } finally {
      sigint.dispose();
      reg.close();
    }
  },
  import: async (rest, io) => {
    const a = parse(rest, { model: { type: 'string' }, version: { type: 'string' } }, VERSIONS_USAGE);
    const file = onePositional(a.positionals, 'the archive to import (model-1.2.0.modelops.tgz)', VERSIONS_USAGE);
    const reg = openRegistry(findWorkspaceRoot(io.cwd, str(a.values.root)));
    const sigint = abortOnSigint();
    try {
      const r = await importVersion(reg, {
        file: resolve(io.cwd, file),
        model: str(a.values.model),
        version: str(a.values.version),
        signal: sigint.signal,
      });
      if (a.values.json) return printJson(io, r);
      const c = paint(io.isTTY);
      const v = r.version;
      const ref = `${v.model}@${v.version}`;
      if (r.status === 'present') {
        io.out(
          `${ref} is already in this registry with the same bytes (${v.artifactDigest.slice(0, 19)}…); nothing changed.`,
        );
        return 0;
      }
      io.out(
        `${c.green('✓')} imported ${ref}${r.origin.ref !== ref ? ` (was ${r.origin.ref})` : ''} from ${displayPath(io.cwd, resolve(io.cwd, file))}: ${formatBytes(v.sizeBytes)}, ${v.artifactDigest.slice(0, 19)}… verified`,
      );
      const m = keyMetrics(v);
      if (m) io.out(`  metrics  ${m}`);
      if (v.gates) io.out(`  gates    ${v.gates.passed ? c.green('passed') : c.red('failed')} where it was evaluated`);
      for (const d of r.data) io.out(`  data     ${d.path} stored (${formatBytes(d.size)}, ${d.digest.slice(0, 19)}…)`);
      if (r.run) io.out(`  run      ${r.run.id}: ${runWords(r.run)} (modelops runs show ${r.run.id})`);
      io.out(
        c.dim(
          `  aliases, approvals and deployments stay with the workspace that made them: promote it here with modelops versions promote ${ref} --alias <alias>`,
        ),
      );
      return 0;
    } finally {
      sigint.dispose();
      reg.close();
    }
  },
};

export const versionsCommand: CliCommand = {
  name: 'versions',
  summary: 'List, show, register, promote, roll back, compare, diff, archive, export and import model versions',
  usage: VERSIONS_USAGE,
  async run(argv, io) {
    return dispatch('versions', VERSIONS_USAGE, VERSION_SUBCOMMANDS, argv, io, 'list');
  },
};

const RUNS_USAGE = `modelops runs [list] [--model name] [--limit n] [--json]
modelops runs show <run-id> [--json]`;

const RUN_SUBCOMMANDS: Record<string, Subcommand> = {
  list: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, { model: { type: 'string' }, limit: { type: 'string' } }, RUNS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const runs = reg.listRuns({ model: str(a.values.model), limit: intFlag(str(a.values.limit), '--limit') ?? 50 });
      if (a.values.json) return printJson(io, runs);
      if (runs.length === 0) {
        io.out('No runs yet.');
        return 0;
      }
      io.out(
        table(
          ['run', 'kind', 'model', 'status', 'started', 'duration', 'version', 'metrics'],
          runs.map((r) => [
            r.id,
            r.kind,
            r.model ?? '—',
            statusText(r, c),
            r.startedAt.slice(0, 19).replace('T', ' '),
            r.durationMs === null ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`,
            r.version ?? '—',
            Object.entries(r.metrics)
              .slice(0, 3)
              .map(([k, v]) => `${k} ${formatNumber(v)}`)
              .join(', '),
          ]),
        ),
      );
      return 0;
    } finally {
      reg.close();
    }
  },
  show: async (rest, io) => {
    const c = paint(io.isTTY);
    const a = parse(rest, {}, RUNS_USAGE);
    const id = need(a.positionals[0], 'the run id', RUNS_USAGE);
    const reg = openForRead(findWorkspaceRoot(io.cwd, str(a.values.root)));
    try {
      const run = reg.getRun(id);
      const series = reg.runMetrics(id);
      if (a.values.json) return printJson(io, { run, metrics: series });
      io.out(c.bold(`run ${run.id}`) + `  ${run.kind}, ${statusText(run, c)}`);
      const lines: Array<[string, string]> = [
        ['model', run.model ?? '—'],
        ['backend', run.backend ?? '—'],
        ['started', run.startedAt],
        ['finished', run.finishedAt ?? '—'],
        ['duration', run.durationMs === null ? '—' : `${(run.durationMs / 1000).toFixed(1)} s`],
        ['version', run.version ?? '—'],
        ['params', JSON.stringify(run.params)],
      ];
      if (run.error) lines.push(['error', run.error]);
      for (const [k, v] of lines) io.out(`  ${k.padEnd(8)}  ${v}`);
      if (Object.keys(run.metrics).length) {
        io.out('');
        io.out(
          table(
            ['metric', 'final'],
            Object.entries(run.metrics).map(([k, v]) => [k, formatNumber(v)]),
          ),
        );
      }
      if (series.length) {
        const names = [...new Set(series.flatMap((p) => Object.keys(p.metrics)))];
        const shown = series.length > 20 ? [...series.slice(0, 10), ...series.slice(-10)] : series;
        io.out('');
        io.out(
          table(
            ['step', ...names],
            shown.map((p) => [p.step, ...names.map((n) => formatNumber(p.metrics[n]))]),
          ),
        );
        if (shown.length < series.length)
          io.out(c.dim(`${series.length} steps; first and last 10 shown (--json for all).`));
      }
      return 0;
    } finally {
      reg.close();
    }
  },
};

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List training and evaluation runs, or show one with its metric series',
  usage: RUNS_USAGE,
  run: (argv, io) => dispatch('runs', RUNS_USAGE, RUN_SUBCOMMANDS, argv, io, 'list'),
};

/** Metrics side by side with the change, then whether the artifact and signature changed. */
function printComparison(io: CliIO, cmp: VersionComparison, c: ReturnType<typeof paint>): void {
  const la = `${cmp.a.model}@${cmp.a.version}`;
  const lb = `${cmp.b.model}@${cmp.b.version}`;
  if (Object.keys(cmp.metrics).length === 0) io.out('Neither version has metrics.');
  else
    io.out(
      table(
        ['metric', la, lb, 'Δ'],
        Object.entries(cmp.metrics).map(([k, [x, y, d]]) => [
          k,
          formatNumber(x),
          formatNumber(y),
          d === null ? '—' : `${d >= 0 ? '+' : ''}${formatNumber(d)}`,
        ]),
      ),
    );
  io.out('');
  io.out(`artifact:  ${cmp.sameArtifact ? 'same' : 'different'}`);
  io.out(`signature: ${cmp.signatureChanged ? c.yellow('changed') : 'same'}`);
  io.out(`data:      ${dataComparison(cmp, c.yellow)}`);
}

/** Whether the two versions' metrics come from the same data, said with the data when they do not. */
export function dataComparison(cmp: VersionComparison, warn: (t: string) => string = (t) => t): string {
  const side = (v: VersionRecord) => {
    const d = trainData(v);
    return `${v.version} ${d ? `${d.path} (${d.digest.replace(/^sha256:/, '').slice(0, 12)})` : 'not recorded'}`;
  };
  if (cmp.sameData === true) return `same (${side(cmp.a).slice(cmp.a.version.length + 1)})`;
  const text = `${side(cmp.a)}; ${side(cmp.b)}`;
  return cmp.sameData === false
    ? warn(`different — ${text}: each version's metrics come from its own test split`)
    : `not comparable — ${text}`;
}

function statusText(r: RunRecord, c: ReturnType<typeof paint>): string {
  return r.status === 'succeeded'
    ? c.green(r.status)
    : r.status === 'failed'
      ? c.red(r.status)
      : r.status === 'running'
        ? c.cyan(r.status)
        : c.yellow(r.status);
}

/** The registered line, the signature (what a major bump compares) and, for formats ModelOps cannot run, what to do. */
function printRegistered(io: CliIO, v: VersionRecord): void {
  const c = paint(io.isTTY);
  io.out(
    `${c.green('registered')} ${c.bold(`${v.model}@${v.version}`)}  ${v.format} ${v.artifactKind}, ${formatBytes(v.sizeBytes)}, ${v.artifactDigest.slice(7, 19)}${v.parentVersion ? `  (parent ${v.parentVersion})` : ''}`,
  );
  for (const line of signatureLines(v)) io.out(`  ${line}`);
  if (v.notice) io.out(c.yellow(printable(v.notice)));
}

/** "input  features  FP32 [-1, 4]" per tensor; -1 is the batch dimension. */
function signatureLines(v: VersionRecord): string[] {
  if (!v.signature) return ['signature: none recorded'];
  const row = (role: string, t: { name: string; datatype: string; shape: number[] }) =>
    `${role.padEnd(6)} ${printable(t.name)}  ${t.datatype} [${t.shape.join(', ')}]`;
  return [
    'signature:',
    ...v.signature.inputs.map((t) => `  ${row('input', t)}`),
    ...v.signature.outputs.map((t) => `  ${row('output', t)}`),
  ];
}

function readMetrics(path: string): Record<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ModelOpsError(
      'metrics-unreadable',
      `Cannot read metrics from ${path}.`,
      'Pass a JSON file such as {"accuracy": 0.91}.',
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ModelOpsError(
      'metrics-invalid',
      `${path} is not a JSON object of metric → number.`,
      'Write e.g. {"accuracy": 0.91}.',
    );
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ModelOpsError(
        'metrics-invalid',
        `Metric '${k}' in ${path} is not a number.`,
        'Every value must be a number.',
      );
    out[k] = v;
  }
  return out;
}

/** "training run, 12 epochs of metrics" — how a carried run is named in export and import output. */
function runWords(r: RunSummary): string {
  const what = runKindName(r.kind);
  const unit = r.kind === 'train' ? 'epoch' : 'step';
  return r.steps > 0 ? `${what}, ${r.steps} ${unit}${r.steps === 1 ? '' : 's'} of metrics` : what;
}
