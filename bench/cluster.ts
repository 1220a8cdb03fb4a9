// The bullmq runner against the local subprocess backends, side by side in one run: per-batch
// overhead (identity UDF), CPU-bound throughput (sharp resize) with 1, 2 and 3 `quiver worker`
// processes, and the bytes that crossed the coordinator against the media bytes the workers read
// (the read_parquet index splits into per-file scans the workers read, so no source row is sent;
// a dataset of the images themselves splits into per-fragment scans).
// Needs a Redis: scripts/servers/redis.sh up (or --redis URL). All workers run on this machine,
// so throughput is bounded by its cores; say so when reading the figures.
// Usage: npx tsx bench/cluster.ts [--large] [--redis redis://127.0.0.1:6390]

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as arrow from 'apache-arrow';
import sharp from 'sharp';
import { create, open } from '../src/dataset/index.js';
import { configure, connect, type BackendName, type Connection, type Relation } from '../src/pipeline/index.js';
import { steady } from './lib/steady.js';
import { identity, resize, resizeBackfill, resizeBytes } from './pipeline-udfs.js';

const large = process.argv.includes('--large');
const sizes = { overheadBatches: large ? 1000 : 200, images: large ? 240 : 96, imagePx: 1024 };
const redisUrl = process.argv[process.argv.indexOf('--redis') + 1] && process.argv.includes('--redis')
  ? process.argv[process.argv.indexOf('--redis') + 1]
  : /QUIVER_REDIS_URL=(\S+)/.exec(readFileSync(join(tmpdir(), 'quiver-servers', 'redis.env'), 'utf8'))?.[1];
if (!redisUrl) throw new Error('bench/cluster: no Redis; run bash scripts/servers/redis.sh up or pass --redis URL');
const prefix = `bench${process.pid}`;

function startWorker(i: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', resolve('src/cli/main.ts'), 'worker', '--redis', redisUrl!, '--prefix', prefix, '--concurrency', '1', '--name', `bench-${i}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => ((out += d), /: ready\n/.test(out) && ok(p)));
    p.once('exit', (c) => fail(new Error(`worker exited ${c}: ${out}`)));
  });
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise<void>((r) => (w.once('exit', () => r()), w.kill('SIGTERM')))));
}

function useRunner(cluster: boolean, store: string): void {
  configure({ runner: cluster ? { kind: 'bullmq', connection: redisUrl!, prefix, store } : 'local', progress: 'off' });
}

async function overhead(con: Connection, store: string): Promise<void> {
  console.log(`\n## Per-batch overhead (identity UDF, 32 rows of (id, path), ${sizes.overheadBatches} batches, one worker/process)`);
  const rel = (backend: BackendName) => con.sql(`select range as id, 'media/img-' || range || '.png' as path from range(${32 * sizes.overheadBatches})`)
    .mapBatches(identity, { schema: { id: 'BIGINT', path: 'VARCHAR' }, batchSize: 32, backend, concurrency: 1 });
  const per: Record<string, number> = {};
  for (const backend of ['subprocess_task', 'subprocess_actor', 'cluster_task', 'cluster_actor'] as const) {
    useRunner(backend.startsWith('cluster'), store);
    const r = await steady(rel(backend));
    per[backend] = r.steadyMs / r.batchesAfterFirst;
    console.log(`${backend.padEnd(17)} ${per[backend].toFixed(2)} ms/batch (total ${r.totalMs.toFixed(0)} ms)`);
  }
  console.log(`cluster_task / subprocess_task: ${(per.cluster_task / per.subprocess_task).toFixed(1)}×; cluster_actor / subprocess_actor: ${(per.cluster_actor / per.subprocess_actor).toFixed(1)}×`);
}

async function makeImages(dir: string, n: number): Promise<number> {
  await mkdir(join(dir, 'media'), { recursive: true });
  const base = await sharp({ create: { width: sizes.imagePx, height: sizes.imagePx, channels: 3, background: '#336699' } }).png().toBuffer();
  const rows: string[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const p = join(dir, 'media', `img-${i}.png`);
    await sharp(base).modulate({ hue: i % 360 }).png().toFile(p);
    bytes += statSync(p).size;
    rows.push(`(${i}::BIGINT, '${p}')`);
  }
  // Three index files, so the cluster source splits into several per-file scans.
  const con = await connect({ terminal: 'off' });
  await mkdir(join(dir, 'index'));
  for (const part of [0, 1, 2]) await con.run(`copy (select * from (values ${rows.join(',')}) v(id, path) where id % 3 = ${part}) to '${join(dir, 'index', `part-${part}.parquet`)}' (format parquet)`);
  await con.close();
  return bytes;
}

async function throughput(con: Connection, dir: string, store: string, mediaBytes: number, workers: ChildProcess[]): Promise<void> {
  console.log(`\n## CPU-bound throughput (sharp resize ${sizes.imagePx}px → 64px, ${sizes.images} PNGs, libvips 1 thread per process; ${cpus().length} cores here)`);
  const rel = (backend: BackendName, concurrency: number): Relation => con.sql(`select id, path from read_parquet('${dir}/index/*.parquet')`)
    .mapBatches(resize, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 4, backend, concurrency });
  const rate = (r: { rowsAfterFirst: number; steadyMs: number }) => (r.rowsAfterFirst / r.steadyMs) * 1000;
  useRunner(false, store);
  for (const c of [1, 2, 3]) {
    const r = await steady(rel('subprocess_task', c));
    console.log(`subprocess_task ×${c}      ${rate(r).toFixed(1)} img/s`);
  }
  useRunner(true, store);
  let base = 0;
  for (const n of [1, 2, 3]) {
    while (workers.length < n) workers.push(await startWorker(workers.length + 1));
    // A warm-up run, so a worker that just joined has started its UDF processes (workers keep a
    // task pool across runs) and the measured run is the steady state, not process start-up.
    await steady(rel('cluster_task', 3));
    const q = rel('cluster_task', 3);
    const r = await steady(q);
    base ||= rate(r);
    const b = q.lastReport!.coordinatorBytes!;
    console.log(`cluster_task, ${n} worker${n > 1 ? 's' : ' '}  ${rate(r).toFixed(1)} img/s (${(rate(r) / base).toFixed(2)}× one worker); coordinator sent ${b.sent} B of rows and ${b.scanDescriptions} B of source scan descriptions, received ${b.received} B (the thumbnails, for the caller); media read by workers ${mediaBytes} B`);
  }
}

/** A dataset holding the PNGs themselves (a binary column, two commits so two fragments), read by cluster workers fragment by fragment. */
async function datasetSource(con: Connection, dir: string, store: string, workers: ChildProcess[]): Promise<void> {
  const url = join(dir, 'media-ds');
  const ds = await create(url, { schema: { id: 'int64', image: 'binary' } });
  let bytes = 0;
  const half = Math.ceil(sizes.images / 2);
  let first = '';
  for (const [from, to] of [[0, half], [half, sizes.images]]) {
    const rows = [];
    for (let i = from; i < to; i++) {
      const image = readFileSync(join(dir, 'media', `img-${i}.png`));
      bytes += image.byteLength;
      rows.push({ id: BigInt(i), image: new Uint8Array(image) });
    }
    await ds.append(rows);
    const c = await ds.commit(`images ${from}..${to}`);
    first ||= c.id;
  }
  await ds.close();
  console.log(`\n## Dataset source (${sizes.images} PNGs inside a dataset, ${bytes} B, ${workers.length} workers): bytes through the coordinator`);
  useRunner(true, store);
  const q = con.dataset(url).mapBatches(resizeBytes, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 4, backend: 'cluster_task', concurrency: 3 });
  const r = await steady(q);
  const b = q.lastReport!.coordinatorBytes!;
  console.log(`cluster_task over con.dataset(): ${((r.rowsAfterFirst / r.steadyMs) * 1000).toFixed(1)} img/s; coordinator sent ${b.sent} B of rows and ${b.scanDescriptions} B of fragment scan descriptions, received ${b.received} B (the thumbnails, for the caller); image bytes read by workers ${bytes} B`);
  // A filtered SELECT over the dataset bound by name, and `since` (the second commit's images only): split by fragment too.
  for (const [label, rel] of [
    ['con.sql(select … from media where id % 2 = 0, { datasets })', con.sql('select id, image from media where id % 2 = 0', { datasets: { media: url } })],
    ['con.dataset(url, { since: first commit })', con.dataset(url, { since: first })],
  ] as const) {
    const bq = rel.mapBatches(resizeBytes, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 4, backend: 'cluster_task', concurrency: 3 });
    const rows = (await bq.toArrow()).numRows;
    const bb = bq.lastReport!.coordinatorBytes!;
    console.log(`cluster_task over ${label}: ${rows} images; coordinator sent ${bb.sent} B of rows and ${bb.scanDescriptions} B of fragment scan descriptions, received ${bb.received} B (the thumbnails, for the caller)`);
  }
  // Dataset → dataset: the workers write the thumbnails' fragments themselves; only their metadata comes back.
  const started = Date.now();
  const { report } = await con.dataset(url).mapBatches(resizeBytes, { schema: { id: 'BIGINT', thumb: 'BLOB' }, batchSize: 4, backend: 'cluster_task', concurrency: 3 }).writeDataset(join(dir, 'thumbs-ds'), { message: 'thumbnails' });
  const w = report.coordinatorBytes!;
  console.log(`cluster_task con.dataset() → writeDataset: ${((report.rowsOut / (Date.now() - started)) * 1000).toFixed(1)} img/s (whole run, one commit); coordinator sent ${w.sent} B of rows, received ${w.received} B of rows, ${w.scanDescriptions} B of scan descriptions, ${w.writtenMeta} B of written-file metadata`);
  await backfill(con, url);
}

/**
 * Issue 15's backfill: a large column added as NULL, then `select row_id, image` → resize →
 * writeDataset(…, { update: { on: 'row_id' } }). Workers store the thumbnails as pieces and merge
 * jobs write them into the files; before, every output batch came back to the coordinator.
 */
async function backfill(con: Connection, url: string): Promise<void> {
  const ds = await open(url);
  await ds.addColumn('thumb', 'binary');
  await ds.close();
  const started = Date.now();
  const { report } = await con.sql('select row_id, image from media', { datasets: { media: url } })
    .mapBatches(resizeBackfill, { schema: { row_id: 'BIGINT', thumb: 'BLOB' }, batchSize: 4, backend: 'cluster_task', concurrency: 3 })
    .writeDataset(url, { update: { on: 'row_id' }, message: 'backfill thumbnails' });
  const w = report.coordinatorBytes!;
  const [{ n, bytes }] = await con.sql('select count(thumb)::int as n, sum(octet_length(thumb))::bigint as bytes from media', { datasets: { media: url } }).rows();
  console.log(`cluster_task backfill (update on row_id) of ${n} thumbnails, ${bytes} B: ${((report.rowsOut / (Date.now() - started)) * 1000).toFixed(1)} img/s (whole run, two rounds, one commit); coordinator sent ${w.sent} B of rows, received ${w.received} B of rows (before this change: every thumbnail, ${bytes} B plus Arrow framing), ${w.scanDescriptions} B of scan descriptions, ${w.writtenMeta} B of piece, merge-task and file metadata`);
}

const dir = mkdtempSync(join(tmpdir(), 'quiver-bench-cluster-'));
const store = pathToFileURL(join(dir, 'store')).href;
const workers: ChildProcess[] = [];
const con = await connect({ terminal: 'off' });
try {
  console.log(`# bench/cluster (redis ${redisUrl}, store ${store})`);
  workers.push(await startWorker(1));
  await overhead(con, store);
  const mediaBytes = await makeImages(dir, sizes.images);
  await throughput(con, dir, store, mediaBytes, workers);
  await datasetSource(con, dir, store, workers);
  const left = existsSync(join(dir, 'store')) ? readdirSync(join(dir, 'store'), { recursive: true }).length : 0;
  console.log(`\nstore entries left after the runs: ${left} (empty folders only)`);
} finally {
  configure({ runner: 'local' });
  await con.close();
  await stopWorkers(workers);
  rmSync(dir, { recursive: true, force: true });
}
