/**
 * The demo's data story, built from the sample dataset (Seattle daily weather 2012–2015):
 *  - history (2012–2013) trains version 1.0.0;
 *  - traffic (2014–2015) is replayed against the endpoint in a seeded random order (so that
 *    the seasons do not pass for drift within a window), with the true label sent as feedback;
 *  - part way, the station's new firmware reports imperial units (inches of rain, °F): the
 *    feature distributions shift and the old relation between the observed features and the
 *    label no longer holds, so accuracy falls;
 *  - the retrain uses the recent (drifted) traffic and its feedback labels.
 */
import { writeFile } from 'node:fs/promises';
import type { Row } from '../engine/data/read';
import { csvCell } from '../engine/data/write';
import { seededPermutation } from '../engine/data/split';

export const MM_PER_INCH = 25.4;

export interface Scenario {
  history: Row[];
  traffic: Row[];
  /** Index in `traffic` where the drift begins. */
  driftAt: number;
  /** Index in `traffic` up to which (exclusive) recent rows feed the retrain. */
  retrainUntil: number;
}

export function buildScenario(all: Row[], options: { driftAt: number; retrainRows: number; seed?: number }): Scenario {
  const history = all.filter((r) => String(r.date) < '2014-01-01');
  const recent = all.filter((r) => String(r.date) >= '2014-01-01');
  const order = seededPermutation(recent.length, options.seed ?? 7);
  const traffic = Array.from(order, (j, i) => (i >= options.driftAt ? drift(recent[j]) : recent[j]));
  return {
    history,
    traffic,
    driftAt: options.driftAt,
    retrainUntil: Math.min(traffic.length, options.driftAt + options.retrainRows),
  };
}

/** The station's new firmware reports imperial units: rain in inches, temperatures in °F. */
export function drift(row: Row): Row {
  const convert = (v: Row[string], f: (x: number) => number, digits: number) =>
    typeof v === 'number' ? Math.round(f(v) * 10 ** digits) / 10 ** digits : v;
  return {
    ...row,
    precipitation: convert(row.precipitation, (mm) => mm / MM_PER_INCH, 3),
    temp_max: convert(row.temp_max, (c) => (c * 9) / 5 + 32, 1),
    temp_min: convert(row.temp_min, (c) => (c * 9) / 5 + 32, 1),
  };
}

/** Writes rows as RFC 4180 CSV with the given column order. */
export async function writeCsv(path: string, columns: string[], rows: Row[]): Promise<void> {
  const lines = [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
  await writeFile(path, lines.join('\n') + '\n');
}
