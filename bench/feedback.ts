// Feedback benchmark: per-row rating updates in one commit, a stream of one-update-per-request
// from concurrent callers with group commit (updates/s, p99 until durable, files and bytes per
// update), an upsert half new, and adding then backfilling a 768-d column; LanceDB side by side
// on the same rows (mergeInsert, update, addColumns). Prints figures and ratios; never a timed test.
//
// Usage: flock /tmp/quiver-bench.lock node --import tsx bench/feedback.ts          100k rows, 10 s streams
//        flock /tmp/quiver-bench.lock node --import tsx bench/feedback.ts --quick  20k rows, 4 s streams
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import * as lancedb from '@lancedb/lancedb';
import * as quiver from '../src/index.js';
import { CountingStore, LocalStore } from '../src/storage/index.js';
import { rng } from './lib/datagen.js';

// LanceDB loads Arrow as CommonJS: its tables must come from that instance, not the ESM one.
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');

const quick = process.argv.includes('--quick');
const ROWS = quick ? 20_000 : 100_000;
const UPDATES = 10_000;
const STREAM_MS = quick ? 4_000 : 10_000;
const CALLERS = 16;
const DIM = 768;
const root = mkdtempSync(join(tmpdir(), 'quiver-bench-feedback-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const du = (dir: string) => Number(execSync(`du -sb ${dir}`).toString().split('\t')[0]);
const files = (dir: string) => Number(execSync(`find ${dir} -type f | wc -l`).toString().trim());
async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const mb = (b: number) => (b / 1e6).toFixed(2) + ' MB';
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const r = rng(7);
const base = Array.from({ length: ROWS }, (_, i) => ({ k: BigInt(i), rating: 1 + Math.floor(r() * 5), tag: `req-${i}` }));
const picks = Array.from({ length: UPDATES }, (_, i) => (i * 7919) % ROWS); // distinct rows (7919 is prime)
const embOf = (i: number) => Float32Array.from({ length: DIM }, (_, d) => Math.sin(i + d));
// Made before either side's clock starts: 77M Math.sin calls took 7-20 s, inside both sides'
// backfill figures (2/3 of Quiver's 33.6 s at load 19, profiled).
const embs = Array.from({ length: ROWS }, (_, i) => embOf(i));

interface Side { ms: number; bytes: number }
const results: Record<string, { quiver: Side; lance: Side }> = {};
const stream: Record<string, { perSec: number; p50: number; p99: number; filesPer: number; bytesPer: number }> = {};

/** Runs one caller per slot, each doing `one(i)` back to back until the time is up. */
async function feedbackStream(one: (i: number) => Promise<void>): Promise<{ n: number; lat: number[]; ms: number }> {
  const lat: number[] = [];
  const start = performance.now();
  const end = start + STREAM_MS;
  let next = 0;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      const i = next++;
      const t = performance.now();
      await one(i);
      lat.push(performance.now() - t);
    }
  }));
  return { n: lat.length, lat, ms: performance.now() - start };
}

// ---- Quiver ----
{
  const dir = join(root, 'q');
  const store = new CountingStore(new LocalStore(dir));
  const ds = await quiver.create(store, { schema: { k: 'int64', rating: 'int', tag: 'text' } });
  const ids = (await ds.append(base)).rowIds;
  await ds.commit('load');
  // Both sides answer a count before the clocks start, as a server taking feedback would have:
  // otherwise the first update also paid for starting DuckDB (16-70 ms measured).
  await ds.query('select count(*) from dataset');

  store.reset();
  const upMs = await timeMs(async () => {
    await ds.update({ rows: picks.map((p, i) => ({ row_id: ids[p], rating: 1 + (i % 5) })) });
    await ds.commit('10k ratings');
  });
  const upBytes = store.counts.putBytes;

  store.reset();
  const half = UPDATES / 2;
  const upsertRecords = [
    ...picks.slice(0, half).map((p) => ({ tag: `req-${p}`, rating: 5 })),
    ...Array.from({ length: half }, (_, i) => ({ k: BigInt(ROWS + i), tag: `new-${i}`, rating: 3 })),
  ];
  const usMs = await timeMs(async () => {
    await ds.upsert(upsertRecords, { on: 'tag' });
    await ds.commit('upsert');
  });
  const usBytes = store.counts.putBytes;

  store.reset();
  const filesBefore = files(dir);
  const s = await feedbackStream(async (i) => {
    await ds.update({ rows: [{ row_id: ids[(i * 104_729) % ROWS], rating: 1 + (i % 5) }] });
    await ds.commit('feedback');
  });
  stream.quiver = { perSec: (s.n * 1000) / s.ms, p50: pct(s.lat, 0.5), p99: pct(s.lat, 0.99), filesPer: (files(dir) - filesBefore) / s.n, bytesPer: store.counts.putBytes / s.n };
  await ds.compact();

  store.reset();
  const addMs = await timeMs(() => ds.addColumn('emb', `emb-${DIM}`));
  const addBytes = store.counts.putBytes;
  store.reset();
  const exprMs = await timeMs(() => ds.addColumn('liked', 'bool', { expr: 'rating >= 4' }));
  const exprBytes = store.counts.putBytes;
  store.reset();
  const fillMs = await timeMs(async () => {
    for (let i = 0; i < ROWS; i += 10_000) await ds.update({ rows: ids.slice(i, i + 10_000).map((id, j) => ({ row_id: id, emb: embs[i + j] })) });
    await ds.commit('emb backfill');
  });
  const fillBytes = store.counts.putBytes;
  results['10k per-row updates, one commit'] = { quiver: { ms: upMs, bytes: upBytes }, lance: { ms: 0, bytes: 0 } };
  results['upsert 10k (half new)'] = { quiver: { ms: usMs, bytes: usBytes }, lance: { ms: 0, bytes: 0 } };
  results[`add null emb-${DIM}`] = { quiver: { ms: addMs, bytes: addBytes }, lance: { ms: 0, bytes: 0 } };
  results['add bool = rating >= 4'] = { quiver: { ms: exprMs, bytes: exprBytes }, lance: { ms: 0, bytes: 0 } };
  results[`backfill emb-${DIM} × ${ROWS}`] = { quiver: { ms: fillMs, bytes: fillBytes }, lance: { ms: 0, bytes: 0 } };
  await ds.close();
  console.log('quiver: done');
}

// ---- LanceDB on the same rows ----
{
  const dir = join(root, 'l');
  const db = await lancedb.connect(dir);
  const tableOf = (rows: { k: bigint; rating: number; tag: string }[]) =>
    arrow.tableFromArrays({ k: BigInt64Array.from(rows, (x) => x.k), rating: Int32Array.from(rows, (x) => x.rating), tag: rows.map((x) => x.tag) });
  const tbl = await db.createTable('t', tableOf(base));
  await tbl.countRows();
  const measure = async (fn: () => Promise<unknown>): Promise<Side> => {
    const before = du(dir);
    const ms = await timeMs(fn);
    return { ms, bytes: du(dir) - before };
  };
  results['10k per-row updates, one commit'].lance = await measure(() =>
    tbl.mergeInsert('k').whenMatchedUpdateAll().execute(tableOf(picks.map((p, i) => ({ k: BigInt(p), rating: 1 + (i % 5), tag: `req-${p}` })))),
  );
  const half = UPDATES / 2;
  results['upsert 10k (half new)'].lance = await measure(() =>
    tbl.mergeInsert('tag').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(tableOf([
      ...picks.slice(0, half).map((p) => ({ k: BigInt(p), tag: `req-${p}`, rating: 5 })),
      ...Array.from({ length: half }, (_, i) => ({ k: BigInt(ROWS + i), tag: `new-${i}`, rating: 3 })),
    ])),
  );
  const filesBefore = files(dir);
  const bytesBefore = du(dir);
  const s = await feedbackStream(async (i) => {
    await tbl.update({ where: `k = ${(i * 104_729) % ROWS}`, values: { rating: String(1 + (i % 5)) } });
  });
  stream.lance = { perSec: (s.n * 1000) / s.ms, p50: pct(s.lat, 0.5), p99: pct(s.lat, 0.99), filesPer: (files(dir) - filesBefore) / s.n, bytesPer: (du(dir) - bytesBefore) / s.n };
  await tbl.optimize();
  results[`add null emb-${DIM}`].lance = await measure(() => tbl.addColumns(new arrow.Field('emb', new arrow.FixedSizeList(DIM, new arrow.Field('item', new arrow.Float32(), true)), true)));
  results['add bool = rating >= 4'].lance = await measure(() => tbl.addColumns([{ name: 'liked', valueSql: 'rating >= 4' }]));
  results[`backfill emb-${DIM} × ${ROWS}`].lance = await measure(async () => {
    for (let i = 0; i < ROWS; i += 10_000) {
      const n = Math.min(10_000, ROWS - i);
      const k = BigInt64Array.from({ length: n }, (_, j) => BigInt(i + j));
      const flat = new Float32Array(n * DIM);
      for (let j = 0; j < n; j++) flat.set(embs[i + j], j * DIM);
      const embType = new arrow.FixedSizeList(DIM, new arrow.Field('item', new arrow.Float32(), true));
      const emb = arrow.makeData({ type: embType, length: n, child: arrow.makeData({ type: new arrow.Float32(), length: n * DIM, data: flat }) });
      const batch = new arrow.Table({ k: arrow.makeVector(k), emb: arrow.makeVector(emb) });
      // One mergeInsert per batch: LanceDB has no staged multi-batch commit.
      await tbl.mergeInsert('k').whenMatchedUpdateAll().execute(batch);
    }
  });
  tbl.close();
  db.close();
  console.log('lancedb: done');
}

console.log(`\nFeedback and schema evolution, ${ROWS} rows (k int64, rating int, tag text); ms and bytes written`);
console.log('operation'.padEnd(34) + 'quiver ms / lance ms (ratio)'.padEnd(34) + 'quiver bytes / lance bytes');
for (const [name, x] of Object.entries(results)) {
  console.log(name.padEnd(34) + `${f(x.quiver.ms)} / ${f(x.lance.ms)} (${(x.quiver.ms / x.lance.ms).toFixed(2)}x)`.padEnd(34) + `${mb(x.quiver.bytes)} / ${mb(x.lance.bytes)}`);
}
console.log(`\nFeedback stream: ${CALLERS} callers, one rating update per request, ${STREAM_MS / 1000} s; quiver: update + commit (group commit), lance: update`);
console.log('side'.padEnd(8) + 'updates/s'.padStart(10) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'files/update'.padStart(14) + 'bytes/update'.padStart(14));
for (const [side, x] of Object.entries(stream)) {
  console.log(side.padEnd(8) + f(x.perSec).padStart(10) + f(x.p50).padStart(9) + f(x.p99).padStart(9) + x.filesPer.toFixed(3).padStart(14) + f(x.bytesPer).padStart(14));
}
console.log(`targets: ≥ 500 updates/s with p99 < 100 ms; quiver ${f(stream.quiver.perSec)}/s p99 ${f(stream.quiver.p99)} ms`);
