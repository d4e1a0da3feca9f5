import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CliCommand, CliIO } from '../../../server/cli/command';
import { dataCommand } from '../../../server/cli/commands/data';
import { gcCommand } from '../../../server/cli/commands/gc';
import { openRegistry } from '../../../server/engine/registry';
import { describeError, ModelOpsError } from '../../../server/engine/errors';
import { intFlag } from '../../../server/cli/shared/args';
import { tempWorkspace } from '../registry/helpers';

async function run(cwd: string, argv: string[], cmd: CliCommand = dataCommand) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { cwd, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  try {
    const code = await cmd.run(argv, io);
    return { code, text: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    return { code: 1, text: out.join('\n'), err: describeError(e) };
  }
}

test('modelops data add, list, show, checkout (by digest prefix and by model@version) and gc --dry-run', async () => {
  const ws = tempWorkspace('modelops-datacli-');
  try {
    ws.file('modelops.yaml', 'version: 1\n');
    const body =
      'temp,wind,weather\n' +
      Array.from(
        { length: 400 },
        (_, i) => `${i % 37},${i % 5 === 0 ? '' : (i * 0.1).toFixed(1)},${['sun', 'rain', 'fog'][i % 3]}`,
      ).join('\n') +
      '\n';
    ws.file('data/train.csv', body);
    const added = await run(ws.root, ['add', 'data/train.csv', '--json']);
    assert.equal(added.code, 0, added.err);
    const a = JSON.parse(added.text) as { digest: string; rows: number; newChunks: number; chunks: number };
    assert.deepEqual([a.rows, a.newChunks, a.chunks], [400, 1, 1]);

    // A version trained on it, with an alias; and a dataset recorded by digest only (as before data versions).
    const reg = openRegistry(ws.root);
    ws.file('m.pt', 'w1');
    await reg.registerVersion({
      model: 'weather',
      source: join(ws.root, 'm.pt'),
      version: '1.0.0',
      datasets: [{ role: 'train', path: 'data/train.csv', digest: a.digest }],
    });
    reg.setAlias('weather', 'production', '1.0.0');
    const old = `sha256:abcd1111${'0'.repeat(56)}`;
    reg.recordDataset({ digest: old, path: 'data/old.csv', rows: 10, columns: [{ name: 'x', type: 'number' }] });
    reg.recordDataset({
      digest: `sha256:abcd2222${'0'.repeat(56)}`,
      path: 'data/older.csv',
      rows: 5,
      columns: [{ name: 'x', type: 'number' }],
    });
    ws.file('m2.pt', 'w2');
    await reg.registerVersion({
      model: 'weather',
      source: join(ws.root, 'm2.pt'),
      version: '0.9.0',
      datasets: [{ role: 'train', path: 'data/old.csv', digest: old }],
    });
    ws.file('m3.pt', 'w3');
    await reg.registerVersion({ model: 'weather', source: join(ws.root, 'm3.pt'), version: '0.8.0' });
    reg.close();

    const list = await run(ws.root, ['list']);
    assert.equal(list.code, 0, list.err);
    assert.equal((await run(ws.root, [])).text, list.text, '`modelops data` alone lists');
    assert.match(list.text, /data\/train\.csv\s+400\s+3\s+\S+ \S+\s+stored\s+weather@1\.0\.0 \(production\)/);
    assert.match(list.text, /data\/old\.csv\s+10\s+1\s+—\s+digest only\s+weather@0\.9\.0/);

    const show = await run(ws.root, ['show', a.digest.slice(7, 19), '--json']);
    assert.equal(show.code, 0, show.err);
    const s = JSON.parse(show.text) as {
      rows: number;
      chunks: number;
      profile: Array<{
        name: string;
        missing: number;
        max?: number;
        distinct?: number;
        top?: Array<{ value: string; count: number }>;
      }>;
      usedBy: Array<{ model: string; version: string }>;
    };
    assert.deepEqual([s.rows, s.chunks, s.usedBy.map((u) => `${u.model}@${u.version}`)], [400, 1, ['weather@1.0.0']]);
    const [temp, wind, weather] = s.profile;
    assert.equal(temp.max, 36);
    assert.equal(wind.missing, 80);
    assert.deepEqual([weather.distinct, weather.top?.[0]], [3, { value: 'sun', count: 134 }]);
    const showText = await run(ws.root, ['show', 'weather@production']);
    assert.match(showText.text, /train: data\/train\.csv/);
    assert.match(showText.text, /weather\s+string\s+400\s+0\s+—\s+—\s+—\s+3\s+sun \(134\)/);

    // Checkout by version, then again by digest: refused without --force, exact bytes with it.
    const co = await run(ws.root, ['checkout', 'weather@production', '--out', 'restore']);
    assert.equal(co.code, 0, co.err);
    assert.match(co.text, /train data\/train\.csv → restore\/train\.csv/);
    assert.equal(readFileSync(join(ws.root, 'restore', 'train.csv'), 'utf8'), body);
    const again = await run(ws.root, ['checkout', a.digest, '--out', 'restore']);
    assert.equal(again.code, 1);
    assert.match(again.err, /restore\/train\.csv already exists; nothing was written.*--force/s);
    assert.equal((await run(ws.root, ['checkout', a.digest, '--out', 'restore', '--force'])).code, 0);

    // Bad input.
    const ambiguous = await run(ws.root, ['show', 'abcd']);
    assert.match(
      ambiguous.err,
      /'abcd' matches 2 datasets: sha256:abcd1111.*data\/old\.csv.*sha256:abcd2222.*Give more hex digits/s,
    );
    assert.match((await run(ws.root, ['show', 'ffff0000'])).err, /No dataset with digest sha256:ffff0000…/);
    const notHex = await run(ws.root, ['checkout', 'sha256:nope']);
    assert.equal(notHex.code, 1);
    assert.match(
      notHex.err,
      /'sha256:nope' is not a data digest: after 'sha256:' come hexadecimal digits.*modelops data list/s,
    );
    const digestOnly = await run(ws.root, ['checkout', 'weather@0.9.0']);
    assert.match(
      digestOnly.err,
      /data\/old\.csv \(sha256:abcd1111.*\) was recorded by digest only, bytes were not stored.*Retrain.*modelops data add/s,
    );
    assert.match((await run(ws.root, ['show', 'weather@0.8.0'])).err, /weather@0\.8\.0 has no recorded data/);
    assert.match(
      (await run(ws.root, ['checkout', 'weather@1.0.0', '--role', 'test'])).err,
      /has no test dataset \(it has: train\)/,
    );
    assert.match((await run(ws.root, ['list', '--out', 'x'])).err, /--out does not apply/);

    // Chunks lost (a store copied without .modelops/data): refused, naming the digest and what to do.
    rmSync(join(ws.root, '.modelops', 'data'), { recursive: true });
    const lost = await run(ws.root, ['checkout', 'weather@1.0.0', '--out', 'lost']);
    assert.match(
      lost.err,
      new RegExp(
        `Data version ${a.digest} cannot be restored: 1 of its 1 chunks are missing.*copy that folder.*modelops data add`,
        's',
      ),
    );
    assert.deepEqual(readdirSync(join(ws.root)).includes('lost') ? readdirSync(join(ws.root, 'lost')) : [], []);
    // `data add` of the same file restores it.
    assert.equal((await run(ws.root, ['add', 'data/train.csv'])).code, 0);
    assert.equal((await run(ws.root, ['checkout', 'weather@1.0.0', '--out', 'lost'])).code, 0);

    // gc: referenced (and young) data is kept; --dry-run deletes nothing.
    const gc = await run(ws.root, ['--dry-run', '--json'], gcCommand);
    assert.equal(gc.code, 0, gc.err);
    const report = JSON.parse(gc.text) as {
      dryRun: boolean;
      freed: unknown[];
      kept: Array<{ digest: string; reasons: string[] }>;
    };
    assert.equal(report.dryRun, true);
    assert.deepEqual(report.freed, []);
    assert.match(report.kept[0].reasons.join('; '), /version weather@1\.0\.0; alias weather@production/);
    assert.match((await run(ws.root, ['--keep-days', 'soon'], gcCommand)).err, /--keep-days must be a whole number/);
    // A file named on the command line is looked for from the current folder, and the hint says so.
    assert.match(
      (await run(ws.root, ['add', 'data/nope.csv'])).err,
      /Data file .*nope\.csv does not exist\. — .*on the command line to the current folder/,
    );
    // A whole-number flag with a range says the range (serve --port 99999 gave Node's own message).
    assert.throws(
      () => intFlag('99999', '--port', 0, 65535),
      (e: unknown) =>
        e instanceof ModelOpsError && e.message === "--port must be a whole number from 0 to 65535, not '99999'.",
    );
    assert.equal(intFlag('8765', '--port', 0, 65535), 8765);
    const text = await run(ws.root, [], gcCommand);
    assert.match(text.text, /no data version to free/);
    assert.match(text.text, /kept 1 data version/);
  } finally {
    ws.cleanup();
  }
});
