// Versioning benchmark: branch creation and checkout at growing sizes (should stay flat),
// commit time of a one-row change, storage a branch adds when it changes 1% of rows, bytes
// written to update one rating among 50 KB images, and LanceDB side by side on the same data
// (version checkout, update of one column). Prints figures and ratios; never a timed test.
//
// Usage: node --import tsx bench/versioning.ts            10k and 100k rows
//        node --import tsx bench/versioning.ts --large    adds 1M rows (small rows)
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import * as lancedb from '@lancedb/lancedb';
import * as quiver from '../src/index.js';
import { CountingStore, LocalStore } from '../src/storage/index.js';
import { rng } from './lib/datagen.js';

const large = process.argv.includes('--large');
const SIZES = large ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
const REPEAT = 5;
const root = mkdtempSync(join(tmpdir(), 'quiver-bench-versioning-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const schema = { k: 'int64', rating: 'int', tag: 'text', emb: 'emb-8' };
function rows(n: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({ k: i, rating: 1 + Math.floor(r() * 5), tag: r() < 0.1 ? 'unsafe' : 'safe', emb: Float32Array.from({ length: 8 }, () => r()) }));
}
const du = (dir: string) => Number(execSync(`du -sb ${dir}`).toString().split('\t')[0]);
async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
async function median(fn: (i: number) => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < REPEAT; i++) xs.push(await fn(i));
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const mb = (b: number) => (b / 1e6).toFixed(2) + ' MB';

interface Line { n: number; branchMs: number; checkoutMs: number; commitMs: number; branchBytes: number; dataBytes: number; lanceCheckoutMs: number; lanceUpdateMs: number; lanceUpdateBytes: number; quiverUpdateMs: number; quiverUpdateBytes: number }
const lines: Line[] = [];

for (const n of SIZES) {
  const dir = join(root, `q${n}`);
  const store = new CountingStore(new LocalStore(dir));
  const ds = await quiver.create(store, { schema, write: { autoCompact: false } });
  const data = rows(n, n);
  for (let i = 0; i < n; i += 100_000) await ds.append(data.slice(i, i + 100_000));
  await ds.commit('load');
  const dataBytes = du(dir);
  const branchMs = await median(async (i) => timeMs(() => ds.branch(`b${i}`).then((b) => b.close())));
  const checkoutMs = await median(async (i) => timeMs(() => quiver.open(dir, { branch: `b${i}` }).then((b) => b.close())));
  const commitMs = await median(async (i) =>
    timeMs(async () => {
      await ds.update({ where: 'k = $1', params: [i * 7], set: { rating: 5 } });
      await ds.commit('one row');
    }),
  );
  // A branch that changes 1% of rows (one small column).
  const br = await ds.branch('one-percent');
  store.reset();
  await br.update({ where: 'k % 100 = 0', set: { rating: 0 } });
  await br.commit('1%');
  const branchBytes = store.counts.putBytes;
  // Update of one column of one row, timed and measured like LanceDB's below.
  store.reset();
  const quiverUpdateMs = await timeMs(async () => {
    await ds.update({ where: 'k = 3', set: { rating: 4 } });
    await ds.commit('one');
  });
  const quiverUpdateBytes = store.counts.putBytes;
  await br.close();
  await ds.close();

  // LanceDB on the same rows.
  const ldir = join(root, `l${n}`);
  const db = await lancedb.connect(ldir);
  const table = arrow.tableFromArrays({
    k: BigInt64Array.from(data, (r) => BigInt(r.k)),
    rating: Int32Array.from(data, (r) => r.rating),
    tag: data.map((r) => r.tag),
  });
  const tbl = await db.createTable('t', table);
  const v0 = await tbl.version();
  await tbl.update({ where: 'k = 1', values: { rating: 5 } });
  const lanceCheckoutMs = await median(async () => timeMs(async () => {
    await tbl.checkout(v0);
    await tbl.countRows();
    await tbl.checkoutLatest();
  }));
  const before = du(ldir);
  const lanceUpdateMs = await timeMs(() => tbl.update({ where: 'k = 3', values: { rating: 4 } }));
  const lanceUpdateBytes = du(ldir) - before;
  tbl.close();
  db.close();
  lines.push({ n, branchMs, checkoutMs, commitMs, branchBytes, dataBytes, lanceCheckoutMs, lanceUpdateMs, lanceUpdateBytes, quiverUpdateMs, quiverUpdateBytes });
  console.log(`rows ${n}: done`);
}

console.log('\nQuiver versioning (median of 5; small rows: int64, int, text, emb-8)');
console.log('rows       branch ms  checkout ms  1-row commit ms  1% branch adds   (of data)');
for (const l of lines) console.log(`${String(l.n).padEnd(10)} ${f(l.branchMs).padStart(9)}  ${f(l.checkoutMs).padStart(11)}  ${f(l.commitMs).padStart(15)}  ${mb(l.branchBytes).padStart(13)}   ${((100 * l.branchBytes) / l.dataBytes).toFixed(2)}% of ${mb(l.dataBytes)}`);
console.log('\nSide by side with LanceDB (same rows; LanceDB without the embedding column)');
console.log('rows       checkout ms quiver / lance (ratio)   update-one ms quiver / lance (ratio)   update-one bytes quiver / lance');
for (const l of lines) {
  console.log(
    `${String(l.n).padEnd(10)} ${f(l.checkoutMs)} / ${f(l.lanceCheckoutMs)} (${(l.checkoutMs / l.lanceCheckoutMs).toFixed(2)}x)`.padEnd(53) +
      `${f(l.quiverUpdateMs)} / ${f(l.lanceUpdateMs)} (${(l.quiverUpdateMs / l.lanceUpdateMs).toFixed(2)}x)`.padEnd(39) +
      `${l.quiverUpdateBytes} / ${l.lanceUpdateBytes}`,
  );
}

// Updating one rating among 10,000 rows with 50 KB images.
{
  const dir = join(root, 'images');
  const store = new CountingStore(new LocalStore(dir));
  const ds = await quiver.create(store, { schema: { k: 'int64', rating: 'int', image: 'image' }, write: { autoCompact: false } });
  const sharp = (await import('sharp')).default;
  const base = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer();
  const pad = new Uint8Array(50_000 - base.length);
  // A PNG followed by padding: 50 KB of bytes per image that the header parser still accepts.
  for (let i = 0; i < 10_000; i += 1000) {
    await ds.append(Array.from({ length: 1000 }, (_, j) => ({ k: i + j, rating: 1, image: Buffer.concat([base, pad.fill((i + j) & 255)]) })));
  }
  await ds.commit('load');
  const total = du(dir);
  store.reset();
  await ds.update({ where: 'k = 4242', set: { rating: 5 } });
  await ds.commit('one rating');
  console.log(`\nOne rating among 10,000 rows with 50 KB images: ${store.counts.putBytes} bytes written = ${((100 * store.counts.putBytes) / total).toFixed(4)}% of ${mb(total)}`);
  await ds.close();
}
