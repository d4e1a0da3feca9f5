/**
 * The data store on a large CSV: generates one (streamed), stores it (content-defined chunks),
 * appends 1 % more rows and stores it again (only the new tail should be written), then checks
 * the first version out. Prints throughput and the peak RSS growth over the baseline taken
 * after generation, which must stay flat whatever the file's size.
 *
 *   npx tsx bench/datastore.ts [--mb 1024] [--quick]      (--quick: 100 MB)
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataStore } from '../server/engine/data/store/store';
import { checkoutData } from '../server/engine/data/store/checkout';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const MB = process.argv.includes('--quick') ? 100 : Number(flag('mb') ?? 1024);

async function writeCsv(path: string, bytes: number, seed: number, header: boolean): Promise<void> {
  const out = createWriteStream(path, { flags: header ? 'w' : 'a' });
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  let written = 0;
  let id = seed * 1e9;
  if (header) out.write('id,temp_max,temp_min,wind,precipitation,weather\n');
  const kinds = ['sun', 'rain', 'fog', 'snow', 'drizzle'];
  while (written < bytes) {
    let block = '';
    for (let i = 0; i < 2000; i++)
      block += `${id++},${(rnd() * 40 - 5).toFixed(2)},${(rnd() * 30 - 10).toFixed(2)},${(rnd() * 12).toFixed(3)},${(rnd() * 50).toFixed(1)},${kinds[Math.floor(rnd() * 5)]}\n`;
    written += block.length;
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

async function measure<T>(label: string, bytes: number, fn: () => Promise<T>): Promise<T> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${(bytes / 1048576 / s).toFixed(0).padStart(5)} MiB/s  peak RSS growth ${((peak - base) / 1048576).toFixed(1)} MiB`,
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-data-'));
  try {
    console.log(
      `data store: ${MB} MB CSV; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}, node ${process.version}`,
    );
    const csv = join(dir, 'big.csv');
    await writeCsv(csv, MB * 1e6, 1, true);
    const size = statSync(csv).size;
    const store = new DataStore(join(dir, '.modelops'));
    const first = await measure('store (all chunks new)', size, () => store.putFile(csv));
    console.log(
      `  ${first.manifest.chunks.length} chunks, mean ${(size / first.manifest.chunks.length / 1048576).toFixed(2)} MiB`,
    );
    await writeCsv(csv, size * 0.01, 2, false);
    const size2 = statSync(csv).size;
    const second = await measure('store again with 1 % rows appended', size2, () => store.putFile(csv));
    console.log(
      `  ${second.newChunks} new chunks, ${(second.newBytes / 1048576).toFixed(2)} MiB written of ${(size2 / 1048576).toFixed(0)} MiB`,
    );
    await measure('checkout (verified)', size, () => checkoutData(store, first.manifest, join(dir, 'restored.csv')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
