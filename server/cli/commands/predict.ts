/** `modelops predict <model>@<version> --data file [--out file]`: batch scoring of a file with a registered version. */
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { paint, progressBar, REDRAW_PREVIOUS_LINE } from '../output';
import { predictionSummaryText, unpredictedText } from '../../../shared/format';
import { ModelOpsError } from '../../engine/errors';
import { predictFile } from '../../engine/evaluation/predictFile';
import { abortOnSigint } from './train';
import { onePositional, parseCli, rootFor, str } from '../shared/args';
import { openRegistry } from '../../engine/registry';

const USAGE = `Usage: modelops predict <model>@<version|alias> --data <file.csv|file.jsonl> [--out file] [--keep col,col] [--force] [--root dir] [--json]

Scores every row of the file with the version, through the runtime that serves it (TensorFlow.js
or ONNX Runtime), and writes one line per input row in the file's order: the row's file line,
the --keep columns as written, the prediction and, for a classifier, each class's probability.
A row with a missing feature the version does not impute gets an empty prediction. Without
--out the CSV goes to standard output and the summary to standard error.

  --out    write the predictions here (.jsonl/.ndjson: JSON lines, else CSV); an existing file
           is replaced only with --force, and a failed run leaves it as it was
  --keep   input columns to carry into the output as written (an id to join on, the truth …)
  --json   print the summary as JSON (needs --out)`;

const RUNTIME: Record<string, string> = { tfjs: 'TensorFlow.js', onnx: 'ONNX Runtime' };

export const predictCommand: CliCommand = {
  name: 'predict',
  summary: 'Score a CSV/JSONL file with a version (any runtime); predictions to a file or stdout',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        data: { type: 'string' },
        out: { type: 'string' },
        keep: { type: 'string' },
        force: { type: 'boolean' },
      },
      USAGE,
    );
    const ref = onePositional(a.positionals, 'the version to predict with (model@1.2.0)', USAGE);
    const data = str(a.values.data);
    if (!data) throw new ModelOpsError('cli-usage', 'Missing --data: the CSV or JSONL file to score.', USAGE);
    const outArg = str(a.values.out);
    if (a.values.json && !outArg)
      throw new ModelOpsError(
        'cli-usage',
        '--json prints the summary; the predictions then need a file: give --out.',
        USAGE,
      );
    const keep = (str(a.values.keep) ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    // Not read-only: a version's folder artifact is unpacked into .modelops/cache before it runs.
    const registry = openRegistry(rootFor(io, str(a.values.root), undefined));
    const sigint = abortOnSigint();
    const c = paint(io.isTTY);
    // With the CSV on standard output, everything else goes to standard error.
    const say = outArg ? io.out : io.err;
    let drawn = false;
    try {
      const r = await predictFile({
        registry,
        ref,
        dataPath: resolve(io.cwd, data),
        out: outArg
          ? resolve(io.cwd, outArg)
          : {
              write: async (text) => {
                // io.out ends every call with a newline; the text already ends with one.
                if (text) io.out(text.endsWith('\n') ? text.slice(0, -1) : text);
              },
            },
        keep,
        force: a.values.force === true,
        signal: sigint.signal,
        // The bar goes to standard error (standard output may be the CSV), on a terminal only.
        onProgress:
          process.stderr.isTTY && !a.values.json
            ? (p) => {
                // A bar for files that take a moment (about 10,000 rows and up).
                if (p.totalBytes < 512 * 1024) return;
                io.err(
                  `${drawn ? REDRAW_PREVIOUS_LINE : ''}${progressBar(p.bytes / p.totalBytes)}  ${p.rows.toLocaleString('en-US')} rows`,
                );
                drawn = true;
              }
            : undefined,
      });
      if (a.values.json) {
        io.out(JSON.stringify(r, null, 2));
        return 0;
      }
      const skipped = r.skipped.rows ? `; ${unpredictedText(r.skipped)}` : '';
      say(
        `${c.green('✓')} ${r.ref} (${RUNTIME[r.runtime] ?? r.runtime}) predicted ${r.predicted} of ${r.rows} rows of ${r.data}${r.out ? ` → ${r.out}` : ''}${skipped}`,
      );
      const summary = predictionSummaryText(r);
      if (summary) say(`  ${summary}`);
      return 0;
    } finally {
      sigint.dispose();
      registry.close();
    }
  },
};
