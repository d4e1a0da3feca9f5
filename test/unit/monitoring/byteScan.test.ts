import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PredictionLogReader, type LogColumns } from '../../../server/engine/monitoring/readLog';
import { tempDir } from '../serving/fixtures';

// The server-line scanner reads bytes in place: dictionary values are matched as UTF-8 bytes,
// request ids hashed from bytes, numbers parsed from bytes. Each case below is checked against
// JSON.parse of the decoded line, the reader's own fallback.

const CATS = ['a', 'b', 'é', '日本', '🌧 rain', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
const FEATURES = [
  { name: 'x', kind: 'numeric' as const },
  { name: 'c', kind: 'categorical' as const, categories: CATS },
  { name: 'prix €', kind: 'numeric' as const },
];
const LABELS = ['fog', 'rain', 'sun'];

const pred = (id: string, x: string, c: string, p: string, label: string, probs = '[0.25,0.25,0.5]') =>
  `{"type":"prediction","id":"${id}","time":"2026-01-01T00:00:00.000Z","version":"1.0.0","latencyMs":1,"inputs":{"x":[${x}],"c":[${c}],"prix €":[${p}]},"outputs":{"label":["${label}"],"probabilities":[${probs}]}}`;
const fb = (id: string, label: string) =>
  `{"type":"feedback","id":"${id}","time":"2026-01-01T00:00:01.000Z","labels":["${label}"]}`;

/** What JSON.parse reads from each line: rows of (x, c, prix, label, truth), bad lines. */
function reference(lines: Buffer[]): {
  rows: Array<[number, string | null, number, string, string | null]>;
  bad: number;
} {
  const rows: Array<[number, string | null, number, string, string | null]> = [];
  const byId = new Map<string, number>();
  let bad = 0;
  for (const raw of lines) {
    let o: {
      type: string;
      id: string;
      inputs: Record<string, unknown[]>;
      outputs: { label: string[] };
      labels: string[];
    };
    try {
      o = JSON.parse(raw.toString('utf8'));
    } catch {
      bad++;
      continue;
    }
    if (o.type === 'feedback') {
      const r = byId.get(o.id);
      if (r !== undefined) rows[r][4] = o.labels[0];
      continue;
    }
    const x = o.inputs.x[0];
    const c = o.inputs.c[0];
    const p = o.inputs['prix €'][0];
    byId.set(o.id, rows.length);
    rows.push([
      typeof x === 'number' ? x : NaN,
      typeof c === 'string' ? c : null,
      typeof p === 'number' ? p : NaN,
      o.outputs.label[0],
      null,
    ]);
  }
  return { rows, bad };
}

function rowsOf(c: LogColumns): Array<[number, string | null, number, string, string | null]> {
  return Array.from({ length: c.count }, (_, i) => {
    const code = c.categorical.c[i];
    const t = c.truthLabel![i];
    return [
      c.numeric.x[i],
      code < 0 ? null : c.dictionaries.c.values[code],
      c.numeric['prix €'][i],
      c.labels.values[c.predictedLabel![i]],
      t < 0 ? null : c.labels.values[t],
    ];
  });
}

test('bytes scanned in place read as JSON.parse reads them: UTF-8 values, escapes, lone surrogates, invalid bytes, non-ASCII ids', async () => {
  const tmp = tempDir('bytescan');
  try {
    const lines: Buffer[] = [];
    const add = (s: string) => lines.push(Buffer.from(s, 'utf8'));
    // Known values in many byte lengths (more than 8: the dictionary's hashed lookup), and new ones.
    for (let i = 0; i < 60; i++)
      add(pred(`q${i}`, String(i / 4), `"${[...CATS, 'ñandú', 'nouveau', '🌧 rain'][i % 15]}"`, '1.5', LABELS[i % 3]));
    // The same value escaped (JSON.parse path) gets the same code as its plain bytes.
    add(pred('esc1', '1', '"\\u00e9"', '2', 'sun'));
    add(pred('esc2', '1', '"\\u00f1and\\u00fa"', '2', 'sun'));
    // A lone surrogate (only escaped) and U+FFFD written plainly are different values.
    add(pred('lone', '1', '"\\ud83c"', '2', 'sun'));
    add(pred('fffd', '1', '"\uFFFD"', '2', 'sun'));
    add(pred('lone2', '1', '"\\ud83c"', '2', 'sun'));
    // Invalid UTF-8 bytes decode to U+FFFD, as the line's text does for JSON.parse.
    const bad = Buffer.from(pred('inv', '1', '"Z"', '2', 'sun'), 'utf8');
    bad[bad.indexOf('"Z"') + 1] = 0xff;
    lines.push(bad);
    // Non-ASCII request ids: scanned prediction with escaped feedback, and the other way round.
    add(pred('ид-1', '3', '"a"', '4', 'fog'));
    add(fb('\\u0438\\u0434-1', 'rain'));
    add(pred('\\u0438\\u0434-2', '3', '"a"', '4', 'fog'));
    add(fb('ид-2', 'sun'));
    add(fb('q7', 'fog'));
    // Numbers: every JSON form, and forms Number() takes but JSON does not (the line is bad).
    add(pred('n1', '-0', '"a"', '1e2', 'fog'));
    add(pred('n2', '2.5E-3', '"a"', '-1.0', 'fog'));
    add(pred('n3', '123456789012345678901234', '"a"', '0.1e-30', 'fog'));
    add(pred('n4', '01', '"a"', '1', 'fog'));
    add(pred('n5', '1.', '"a"', '1', 'fog'));
    add(pred('n6', '.5', '"a"', '1', 'fog'));
    add(pred('n7', '1', '"a"', '1', 'fog', '[0.10000000149011612,0.20000000298023224,0.699999988079071]'));
    writeFileSync(join(tmp.dir, 'predictions.jsonl'), Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));

    const ref = reference(lines);
    for (const stream of [false, true]) {
      let last: LogColumns | null = null;
      const reader = new PredictionLogReader(FEATURES, 'classification', LABELS, {
        probabilities: true,
        ...(stream ? { stream: { pendingRows: 1000, onBlock: (b) => void (last = b.cols) } } : {}),
      });
      const cols = await reader.read(tmp.dir);
      assert.ok(!stream || last !== null);
      assert.equal(cols.badLines, ref.bad, 'bad lines');
      assert.equal(ref.bad, 3);
      assert.deepEqual(rowsOf(cols), ref.rows);
      // Escaped and plain spellings share a code; the lone surrogate and U+FFFD do not.
      const values = cols.dictionaries.c.values;
      assert.equal(values.filter((v) => v === 'é').length, 1);
      assert.equal(values.filter((v) => v === '\ud83c').length, 1);
      assert.equal(values.filter((v) => v === '\uFFFD').length, 1);
      const n7 = cols.count - 1;
      assert.deepEqual(
        [...cols.probabilities!.subarray(n7 * 3, n7 * 3 + 3)],
        [0.10000000149011612, 0.20000000298023224, 0.699999988079071].map(Math.fround),
      );
      // The plain lines went through the byte scanner (the escaped and bad ones did not).
      assert.equal(reader.lines.fallback, 4 + 1 + 1 + 3);
      assert.equal(reader.lines.fast, lines.length - reader.lines.fallback);
    }
  } finally {
    tmp.cleanup();
  }
});
