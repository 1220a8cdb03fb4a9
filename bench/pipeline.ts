// Pipeline benchmarks: per-batch overhead of each backend against calling the UDF directly;
// actor start-up amortised (a 1 s model load, once per actor); CPU-bound throughput with 1 and
// 2 workers (sharp resize); the whole pipeline against a hand-written Node script doing the
// same work; peak RSS while streaming GBs of image bytes.
// Usage: npx tsx bench/pipeline.ts [--large]   (default sizes run in about a minute)

import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import sharp from 'sharp';
import { connect, type BackendName, type Connection } from '../src/pipeline/index.js';
import { steady } from './lib/steady.js';
import { Fingerprint, SlowModel, fakeImageBytes, identity, resize } from './pipeline-udfs.js';

const large = process.argv.includes('--large');
const sizes = {
  overheadBatches: large ? 2000 : 400,
  images: large ? 400 : 120,
  imagePx: 1024,
  streamedBytes: large ? 3 * 2 ** 30 : 512 * 2 ** 20,
  bytesPerImage: 2 ** 20,
};
const backends: BackendName[] = ['inline', 'thread_task', 'subprocess_task', 'subprocess_actor'];
const ms = (t: number) => `${t.toFixed(1)} ms`;
const now = () => performance.now();

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = now();
  await f();
  return now() - t;
}

async function drain(rel: AsyncIterable<arrow.Table>): Promise<number> {
  let n = 0;
  for await (const b of rel) n += b.numRows;
  return n;
}

async function overhead(con: Connection): Promise<void> {
  console.log('\n## Per-batch overhead (identity UDF, 32 rows of (id, path) per batch)');
  const rows = 32;
  const table = (await con.sql(`select range as id, 'media/img-' || range || '.png' as path from range(${rows})`).toArrow());
  const direct = await timed(async () => {
    for (let i = 0; i < 10_000; i++) identity(table);
  }) / 10_000;
  console.log(`direct call: ${(direct * 1000).toFixed(2)} µs/batch`);
  const n = sizes.overheadBatches;
  for (const backend of backends) {
    const r = await steady(con.sql(`select range as id, 'media/img-' || range || '.png' as path from range(${n * rows})`)
      .mapBatches(identity, { schema: { id: 'BIGINT', path: 'VARCHAR' }, batchSize: rows, backend }));
    const perBatch = r.steadyMs / r.batchesAfterFirst;
    console.log(`${backend.padEnd(17)} ${ms(perBatch)}/batch over ${n} batches (start-up and first batch ${ms(r.totalMs - r.steadyMs)}), ${(perBatch / direct).toFixed(0)}× direct`);
  }
  console.log('(per-batch figures include reading the source from DuckDB and re-batching, which the direct call does not)');
}

async function actorStartup(con: Connection): Promise<void> {
  console.log('\n## Actor start-up amortised (model load takes 1 s)');
  const batches = 40;
  const rel = con.sql(`select range as id from range(${batches * 8})`).mapBatches(SlowModel, {
    schema: { id: 'BIGINT', label: 'VARCHAR', pid: 'INTEGER' }, batchSize: 8, backend: 'subprocess_actor', concurrency: 2,
  });
  let pids = new Set<unknown>();
  const t = await timed(async () => {
    for await (const b of rel) for (const p of b.getChild('pid')!) pids.add(p);
  });
  console.log(`subprocess_actor ×2: ${batches} batches in ${ms(t)}; model loaded ${pids.size} times (once per actor); init ${ms(rel.lastReport!.stages[0].initMs)} summed`);
  console.log(`a task backend would load it per batch: ≥ ${batches} s of loading alone (${(batches * 1000 / t).toFixed(0)}× slower)`);
  pids = new Set();
}

async function makeImages(dir: string, n: number): Promise<void> {
  await mkdir(join(dir, 'media'), { recursive: true });
  const base = await sharp({ create: { width: sizes.imagePx, height: sizes.imagePx, channels: 3, background: '#336699' } }).png().toBuffer();
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, 'media', `img-${i}.png`);
    await sharp(base).modulate({ hue: i % 360 }).png().toFile(p);
    rows.push(`(${i}::BIGINT, '${p}', 'image/png')`);
  }
  const con = await connect({ terminal: 'off' });
  await con.run(`copy (select * from (values ${rows.join(',')}) v(id, path, media_type)) to '${join(dir, 'index.parquet')}' (format parquet)`);
  await con.close();
}

async function throughput(con: Connection, dir: string): Promise<void> {
  console.log(`\n## CPU-bound throughput (sharp resize ${sizes.imagePx}px → 64px, ${sizes.images} PNG files, libvips 1 thread per worker)`);
  const rel = (backend: BackendName, concurrency: number) => con.sql(`select id, path from read_parquet('${dir}/index.parquet')`)
    .mapBatches(resize, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 8, backend, concurrency });
  for (const backend of ['thread_task', 'subprocess_task'] as const) {
    const r1 = await steady(rel(backend, 1));
    const r2 = await steady(rel(backend, 2));
    const rate = (r: typeof r1) => (r.rowsAfterFirst / r.steadyMs) * 1000;
    console.log(`${backend.padEnd(16)} 1 worker ${rate(r1).toFixed(1)} img/s, 2 workers ${rate(r2).toFixed(1)} img/s: ${(rate(r2) / rate(r1)).toFixed(2)}× (steady state; totals ${ms(r1.totalMs)} and ${ms(r2.totalMs)})`);
  }
}

async function versusByHand(con: Connection, dir: string): Promise<void> {
  console.log('\n## Whole pipeline vs a plain Node script (select from Parquet → resize → write Parquet)');
  const out = (name: string) => join(dir, `out-${name}`);
  const pipeline = await timed(() => con.sql(`select id, path from read_parquet('${dir}/index.parquet') where path is not null`)
    .mapBatches(resize, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 8, backend: 'subprocess_task', concurrency: 2 })
    .writeParquet(out('pipeline')));
  const byHand = await timed(async () => {
    const rows = await con.sql(`select id, path from read_parquet('${dir}/index.parquet') where path is not null`).rows();
    const ids: bigint[] = [];
    const thumbs: Uint8Array[] = [];
    for (const r of rows) {
      ids.push(r.id as bigint);
      thumbs.push(await sharp(await readFile(r.path as string)).resize(64, 64).png().toBuffer());
    }
    await con.sql('select 1').toArrow();
    const t = new arrow.Table({ id: arrow.vectorFromArray(ids, new arrow.Int64()), thumb: arrow.vectorFromArray(thumbs, new arrow.Binary()) });
    await con.sql(`select 1 as x`).mapBatches(() => t, { schema: { id: 'BIGINT', thumb: 'BLOB' } }).writeParquet(out('hand'));
  });
  console.log(`pipeline (subprocess_task ×2): ${ms(pipeline)}; by hand (one process, sequential): ${ms(byHand)}; ratio ${(byHand / pipeline).toFixed(2)}× (>1: pipeline faster)`);
}

async function peakMemory(con: Connection): Promise<void> {
  const rows = Math.round(sizes.streamedBytes / sizes.bytesPerImage);
  console.log(`\n## Peak RSS streaming ${(sizes.streamedBytes / 2 ** 30).toFixed(2)} GiB of image bytes (${rows} × 1 MiB, subprocess_task → subprocess_actor → table)`);
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t = await timed(() => con.sql(`select range as id, ${sizes.bytesPerImage}::INTEGER as bytes from range(${rows})`)
    .mapBatches(fakeImageBytes, { schema: { id: 'BIGINT', image_bytes: 'BLOB' }, batchSize: 16, backend: 'subprocess_task', concurrency: 2 })
    .mapBatches(Fingerprint, { schema: { id: 'BIGINT', size: 'INTEGER', hash: 'UBIGINT' }, batchSize: 16, backend: 'subprocess_actor', concurrency: 2 })
    .toTable('fingerprints', { mode: 'replace' }));
  clearInterval(timer);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const check = await con.sql('select count(*)::BIGINT as n, sum(size)::BIGINT as bytes from fingerprints').rows();
  console.log(`${mib(Number(check[0].bytes))} streamed in ${ms(t)} (${(Number(check[0].bytes) / 2 ** 20 / (t / 1000)).toFixed(0)} MiB/s); parent RSS ${mib(before)} → peak ${mib(peak)} (+${mib(peak - before)}), maxRSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
  console.log(`bound: ≈ stages × batchesInFlightMax (4) × batchSize (16) × 1 MiB, plus IPC copies; independent of the input size`);
}

const dir = mkdtempSync(join(tmpdir(), 'quiver-bench-pipeline-'));
const con = await connect({ terminal: 'off' });
try {
  console.log(`# bench/pipeline.ts (${large ? 'large' : 'default'} sizes; node ${process.version}; ${(await import('node:os')).cpus().length} cores)`);
  await overhead(con);
  await actorStartup(con);
  await makeImages(dir, sizes.images);
  await throughput(con, dir);
  await versusByHand(con, dir);
  await peakMemory(con);
} finally {
  await con.close();
  rmSync(dir, { recursive: true, force: true });
}
