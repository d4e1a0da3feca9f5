import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataset, readDatasetBatches, type ColumnType } from '../../../server/engine/data/read';
import { ModelOpsError } from '../../../server/engine/errors';

const dir = mkdtempSync(join(tmpdir(), 'modelops-data-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function rejects(p: Promise<unknown>, code: string, ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ModelOpsError, `expected ModelOpsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const part of parts) assert.ok(e.message.includes(part), `message "${e.message}" should mention ${part}`);
    assert.ok(e.hint && e.hint.length > 0, 'has a hint');
    return true;
  });
}

test('CSV: RFC 4180 quotes, doubled quotes, embedded comma and newline, CRLF, BOM', async () => {
  const p = file('q.csv', '\ufeffname,note,x\r\n"a, b","he said ""hi""",1\r\n"multi\r\nline",plain,2.5\r\nc,,-3e2\r\n');
  const ds = await readDataset(p);
  assert.deepEqual(ds.columns, [
    { name: 'name', type: 'string' },
    { name: 'note', type: 'string' },
    { name: 'x', type: 'number' },
  ]);
  assert.deepEqual(ds.rows, [
    { name: 'a, b', note: 'he said "hi"', x: 1 },
    { name: 'multi\r\nline', note: 'plain', x: 2.5 },
    { name: 'c', note: null, x: -300 },
  ]);
  // Line numbers are file lines: the header is line 1 and the quoted newline spans 3–4.
  assert.deepEqual(ds.lines, [2, 3, 5]);
});

test('CSV: type inference of numbers, booleans and strings; missing cells are null', async () => {
  const ds = await readDataset(file('t.csv', 'n,b,s\n1,true,x\n,FALSE,y\n3.5,,7\n'));
  assert.deepEqual(
    ds.columns.map((c) => c.type),
    ['number', 'boolean', 'string'],
  );
  assert.deepEqual(ds.rows[1], { n: null, b: false, s: 'y' });
  assert.equal(ds.rows[2].s, '7');
});

test('a CSV larger than one read chunk parses the same', async () => {
  const lines = ['a,b'];
  for (let i = 0; i < 20000; i++) lines.push(`${i},"v ${i}, ok"`);
  const ds = await readDataset(file('big.csv', lines.join('\n')));
  assert.equal(ds.rows.length, 20000);
  assert.deepEqual(ds.rows[19999], { a: 19999, b: 'v 19999, ok' });
  assert.equal(ds.lines[19999], 20001);
});

test('ragged row: names file, line and expected columns', async () => {
  await rejects(
    readDataset(file('ragged.csv', 'a,b,c\n1,2,3\n4,5\n'), { displayName: 'data/ragged.csv' }),
    'ragged-row',
    'data/ragged.csv',
    'line 3',
    'expected 3 fields',
    'found 2',
  );
});

test('text in a numeric column: names file, line and column', async () => {
  await rejects(
    readDataset(file('text.csv', 'x,y\n1,a\n2,b\nabc,c\n4,d\n')),
    'not-a-number',
    'text.csv',
    'line 4',
    "column 'x'",
    "'abc'",
  );
});

test('NaN and Infinity are errors naming file, line and column', async () => {
  await rejects(readDataset(file('nan.csv', 'x,y\n1,a\nNaN,b\n')), 'non-finite', 'nan.csv', 'line 3', "column 'x'");
  await rejects(readDataset(file('inf.csv', 'x,y\n1,a\n2,b\n-Infinity,c\n')), 'non-finite', 'line 4', "column 'x'");
  await rejects(readDataset(file('nan.jsonl', '{"x": 1}\n{"x": NaN}\n')), 'non-finite', 'nan.jsonl', 'line 2');
});

test('empty file, header only, missing target column', async () => {
  await rejects(readDataset(file('empty.csv', '')), 'data-empty', 'empty.csv', 'is empty');
  await rejects(readDataset(file('header.csv', 'a,b\n')), 'data-empty', 'header.csv', 'no rows');
  await rejects(
    readDataset(file('nt.csv', 'a,b\n1,2\n'), { require: [{ name: 'label', role: 'target' }] }),
    'missing-column',
    'nt.csv',
    "'label'",
    'columns: a, b',
  );
  await rejects(readDataset(join(dir, 'absent.csv')), 'data-not-found', 'absent.csv');
});

test('JSONL: typed values, union of keys, missing keys null, bad lines named', async () => {
  const ds = await readDataset(file('d.jsonl', '{"a": 1, "b": "x", "c": true}\n\n{"a": 2.5, "d": null}\n'));
  assert.deepEqual(
    ds.columns.map((c) => `${c.name}:${c.type}`),
    ['a:number', 'b:string', 'c:boolean', 'd:string'],
  );
  assert.deepEqual(ds.rows[1], { a: 2.5, b: null, c: null, d: null });
  assert.deepEqual(ds.lines, [1, 3]);
  await rejects(readDataset(file('bad.jsonl', '{"a": 1}\n[1,2]\n')), 'bad-json', 'bad.jsonl', 'line 2');
  await rejects(
    readDataset(file('bad2.jsonl', '{"a": 1}\n{"a": "zz"}\n{"a": 3}\n')),
    'not-a-number',
    'line 2',
    "column 'a'",
  );
});

test('forced types (from a trained model) reject text in a numeric column', async () => {
  await rejects(
    readDataset(file('forced.csv', 'x\nhello\n'), { types: { x: 'number' } }),
    'not-a-number',
    'line 2',
    "column 'x'",
  );
});

/** Every batch of readDatasetBatches, and their sizes. */
async function batches(path: string, columns: Array<{ name: string; type: ColumnType }>, batchRows: number) {
  const rows: Array<Record<string, unknown>> = [];
  const lines: number[] = [];
  const sizes: number[] = [];
  const bytes: number[] = [];
  for await (const b of readDatasetBatches(path, {
    columns: columns.map((c) => ({ ...c, role: 'feature' })),
    batchRows,
  })) {
    rows.push(...b.rows);
    lines.push(...b.lines);
    sizes.push(b.rows.length);
    bytes.push(b.bytes);
  }
  return { rows, lines, sizes, bytes };
}

test('batches: the rows and lines readDataset gives for the columns asked, in batches, CSV and JSONL', async () => {
  const csv = file(
    'b.csv',
    '\ufeffid,name,note,x\r\n007,"a, b","he said ""hi""",1\r\n008,"multi\r\nline",plain,2.5\r\n009,c,,-3e2\r\n\r\n010,d,e,4\n',
  );
  const columns = [
    { name: 'x', type: 'number' as const },
    { name: 'id', type: 'string' as const },
    { name: 'name', type: 'string' as const },
  ];
  const whole = await readDataset(csv, { types: { x: 'number', id: 'string', name: 'string' } });
  const got = await batches(csv, columns, 2);
  assert.deepEqual(got.sizes, [2, 2]);
  assert.deepEqual(got.lines, whole.lines);
  assert.deepEqual(
    got.rows,
    whole.rows.map((r) => ({ x: r.x, id: r.id, name: r.name })),
  );
  assert.equal(got.rows[0].id, '007');

  const jsonl = file(
    'b.jsonl',
    '{"id":"007","x":1,"extra":{"ignored":true}}\n\n{"id":"008","x":null}\n{"x":"3.5","id":9}\n',
  );
  const j = await batches(
    jsonl,
    [
      { name: 'x', type: 'number' },
      { name: 'id', type: 'string' },
    ],
    10,
  );
  assert.deepEqual(j.rows, [
    { x: 1, id: '007' },
    { x: null, id: '008' },
    { x: 3.5, id: '9' },
  ]);
  assert.deepEqual(j.lines, [1, 3, 4]);
});

test('batches: a large file is read a batch at a time; bad input names file, line and column', async () => {
  // ~1 MB: many 64 KB chunks, batches no larger than asked.
  const big = file('big.csv', 'a,b\n' + Array.from({ length: 60_000 }, (_, i) => `${i},${i % 7}`).join('\n') + '\n');
  const got = await batches(big, [{ name: 'b', type: 'number' }], 5000);
  assert.equal(got.rows.length, 60_000);
  assert.ok(got.sizes.every((n) => n <= 5000));
  assert.equal(got.rows[59_999].b, 59_999 % 7);
  assert.equal(got.lines[59_999], 60_001);
  // Each batch says how far into the file it is: rising, part way at first, the whole file at the end.
  const size = statSync(big).size;
  assert.ok(got.bytes.every((b, i) => i === 0 || b >= got.bytes[i - 1]));
  assert.ok(got.bytes[0] > 0 && got.bytes[0] < size / 2, String(got.bytes[0]));
  assert.equal(got.bytes.at(-1), size);

  const drain = async (path: string, name: string, type: ColumnType = 'number') => {
    for await (const _ of readDatasetBatches(path, { columns: [{ name, type, role: 'feature' }] })) void _;
  };
  await rejects(drain(file('m.csv', 'a,b\n1,2\n'), 'c'), 'missing-column', "no feature column 'c'", 'a, b');
  await rejects(drain(file('t.csv', 'a,b\n1,2\n1,warm\n'), 'b'), 'not-a-number', 'line 3', "'b'", 'warm');
  await rejects(drain(file('e.csv', 'a,b\n'), 'a'), 'data-empty', 'has a header but no rows');
  await rejects(drain(file('mj.jsonl', '{"a":1}\n{"a":2}\n'), 'c'), 'missing-column', "no feature column 'c'");
  await rejects(drain(file('nj.jsonl', '{"a":1}\n{"a":[2]}\n'), 'a'), 'bad-json', 'line 2', 'nested values');
  await rejects(drain(join(dir, 'nowhere.csv'), 'a'), 'data-not-found', 'does not exist');
});
