// Object-storage benchmark (issue 11), side by side in one run: Quiver (`s3://…`) vs LanceDB 0.31
// on the same S3 server (the project's radosgw), both behind one counting HTTP proxy so one meter
// counts both. Measures append throughput (same batches), cold open + first query (a fresh child
// process per run), warm p50/p99 of a scalar query, the seed's vector + filter query and a
// 20-winner fetch returning images, and requests/bytes per query; prints pass/miss per target.
// Rows are append.ts's image-generation records (PNG, prompt_emb, image_emb, rating, tags, user_id).
// Usage: flock /tmp/quiver-bench.lock npx tsx bench/objstore.ts [--rows 20000] [--batch 1000]
//        [--image-bytes 6000] [--repeats 30] [--cold-runs 3] [--in-flight 16] [--only append]
// (--in-flight: Quiver's requestsInFlightMax, the S3 store's bound on requests in flight; default the store's.)
// `--only append` runs the append side by side and nothing after it (about 20 s instead of 90).
// A benchmark, never a test: it prints figures and asserts nothing. Its bucket is deleted at the end.

import { runJsonChild } from './lib/json-child.js';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { create } from '../src/index.js';
import { queriesNear } from './lib/datagen.js';
import { arrowSchema, benchRows, inputBytes, quiverSchema, type BenchRecord } from './lib/bench-rows.js';
import { makeImagePool } from './lib/records.js';
import { startCountingProxy, type CountingProxy, type Exchange } from './lib/counting-proxy.js';
import type { ColdRequest, ColdResult } from './lib/objstore-cold.js';
import { LANCE_TABLE, QUERY_NAMES, lanceStorage, openSystem, quiverStorage, type QueryAnswer, type QueryName, type S3Target, type SystemName } from './lib/objstore-systems.js';
import { bytesOf, meter, type Meter } from './lib/s3-meter.js';
import { timeline, type TimelineRow } from './lib/objstore-timeline.js';

const PROMPT_DIM = 768;
const IMAGE_DIM = 256;
const WARMUP_QUERIES = 3;
const WINNERS = 20;
const SYSTEMS: SystemName[] = ['Quiver', 'LanceDB'];
/** Large columns each query may read; any other large column's file read is a miss. */
const NEEDED_LARGE: Record<QueryName, string[]> = { scalar: [], 'vector + filter': ['image_emb'], '20 winners + images': ['image_emb', 'image'] };
const LARGE_COLUMNS = ['image', 'prompt_emb', 'image_emb'];

interface Args {
  rows: number;
  batch: number;
  imageBytes: number;
  repeats: number;
  coldRuns: number;
  /** Quiver's requestsInFlightMax; 0 leaves the store's default. */
  inFlight: number;
  /** Only the append measurement (`--only append`). */
  appendOnly: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { rows: 20_000, batch: 1_000, imageBytes: 6_000, repeats: 30, coldRuns: 3, inFlight: 0, appendOnly: false };
  const names: Record<string, Exclude<keyof Args, 'appendOnly'>> = { '--rows': 'rows', '--batch': 'batch', '--image-bytes': 'imageBytes', '--repeats': 'repeats', '--cold-runs': 'coldRuns', '--in-flight': 'inFlight' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') {
      if (argv[i + 1] !== 'append') throw new Error(`bench: --only takes "append", got "${argv[i + 1]}"`);
      a.appendOnly = true;
      i++;
      continue;
    }
    const name = names[argv[i]!];
    const v = Number(argv[i + 1]);
    if (!name || !Number.isInteger(v) || v <= 0) throw new Error(`bench: unknown or invalid argument "${argv[i]}" (use ${Object.keys(names).join(', ')} with a positive integer)`);
    a[name] = v;
    i++;
  }
  return a;
}

const DIMS = { promptDim: PROMPT_DIM, imageDim: IMAGE_DIM };
const SCHEMA = quiverSchema(DIMS);
const ARROW_SCHEMA = arrowSchema(DIMS);

// ---- the server --------------------------------------------------------------------------------

function serverTarget(): S3Target {
  const path = join(process.env.QUIVER_SERVERS_DIR ?? join(process.env.TMPDIR ?? tmpdir(), 'quiver-servers'), 'servers.env');
  if (!existsSync(path)) throw new Error(`bench: no ${path}; boot the test servers with: bash scripts/servers/up.sh`);
  const env = Object.fromEntries(readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  if (!env.QUIVER_S3_ENDPOINT) throw new Error(`bench: ${path} names no S3 server; run: bash scripts/servers/up.sh`);
  return { endpoint: env.QUIVER_S3_ENDPOINT, region: env.QUIVER_S3_REGION ?? 'us-east-1', accessKeyId: env.QUIVER_S3_ACCESS_KEY!, secretAccessKey: env.QUIVER_S3_SECRET_KEY! };
}

function adminClient(s3: S3Target): S3Client {
  return new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
}

async function objectSizes(client: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const keys = [...(await objectSizes(client, bucket)).keys()];
    if (keys.length === 0) break;
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
    }
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * An interrupted run (a signal, or its output pipe closed) still removes its bucket: radosgw keeps
 * it in memory, shared by everyone. A put still in flight may land after the first sweep, so a
 * failed delete is tried once more.
 */
function onInterrupt(cleanup: () => Promise<void>, bucket: string): void {
  let started = false;
  const stop = (code: number) => {
    if (started) return;
    started = true;
    const retry = () => new Promise((r) => setTimeout(r, 1000)).then(cleanup);
    void cleanup()
      .catch(retry)
      .catch((e: Error) => console.error(`bench: could not delete bucket ${bucket}: ${e.message}`))
      .finally(() => process.exit(code));
  };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.once(signal, () => stop(code));
  process.stdout.on('error', () => stop(1));
}

// ---- append --------------------------------------------------------------------------------------

interface AppendResult {
  system: SystemName;
  seconds: number;
  note: string;
  meter: Meter;
  indexSeconds: number;
}

async function appendQuiver(url: string, s3: S3Target, batches: BenchRecord[][], proxy: CountingProxy, prefix: string): Promise<AppendResult> {
  const mark = proxy.log.length;
  const t0 = performance.now();
  const ds = await create(url, { schema: SCHEMA, storage: quiverStorage(s3) });
  for (const [i, b] of batches.entries()) {
    await ds.append(b);
    await ds.commit(`batch ${i}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const m = meter(proxy.since(mark), prefix);
  const ti = performance.now();
  await ds.createIndex('image_emb', { kind: 'vector', metric: 'cosine' });
  for (const c of ['rating', 'tags']) await ds.createIndex(c, { kind: 'scalar' });
  const indexSeconds = (performance.now() - ti) / 1000;
  await ds.close();
  return { system: 'Quiver', seconds, note: 'create, then append + commit per batch', meter: m, indexSeconds };
}

async function appendLance(url: string, s3: S3Target, batches: BenchRecord[][], proxy: CountingProxy, prefix: string): Promise<AppendResult> {
  const mark = proxy.log.length;
  const t0 = performance.now();
  const db = await lancedb.connect(url, { storageOptions: lanceStorage(s3) });
  let table: lancedb.Table | undefined;
  for (const b of batches) {
    // LanceDB builds its input with its own makeArrowTable (bench/append.ts says why); timed, as a user pays it.
    const data = lancedb.makeArrowTable(b as unknown as Record<string, unknown>[], { schema: ARROW_SCHEMA });
    if (!table) table = await db.createTable(LANCE_TABLE, data);
    else await table.add(data);
  }
  const seconds = (performance.now() - t0) / 1000;
  const m = meter(proxy.since(mark), prefix);
  const ti = performance.now();
  await table!.createIndex('image_emb', { config: lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: 16, efConstruction: 128 }) });
  await table!.createIndex('rating', { config: lancedb.Index.btree() });
  await table!.createIndex('tags', { config: lancedb.Index.labelList() });
  const indexSeconds = (performance.now() - ti) / 1000;
  table!.close();
  db.close();
  return { system: 'LanceDB', seconds, note: 'createTable, then add per batch (each a version)', meter: m, indexSeconds };
}

// ---- cold and warm queries -------------------------------------------------------------------------

interface ColdRun extends ColdResult {
  meter: Meter;
  /** The run's requests by kind, in ms from the start of its open. */
  timeline: TimelineRow[];
}

function runCold(req: ColdRequest): Promise<ColdResult> {
  return runJsonChild<ColdResult>('bench/lib/objstore-cold.ts', req, `cold ${req.system} "${req.query}"`, { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
}

interface WarmRun {
  latenciesMs: number[];
  /** Per query, averaged over the timed repeats. */
  meter: Meter;
  storeGetsPerQuery?: number;
  recall: number;
  /** The distinct requests the timed queries made, ids shown as `*` ("get refs/heads/main"). */
  shapes: string[];
}

/** A request's shape: its op and key relative to the dataset, with hex ids and numbers as `*`. */
function shapeOf(e: Exchange, prefix: string): string {
  const key = e.key.startsWith(prefix) ? e.key.slice(prefix.length) : e.key;
  return `${e.op} ${key.replace(/[0-9a-f-]{8,}/g, '*').replace(/\d+/g, '*')}`;
}

async function runWarm(system: SystemName, url: string, s3: S3Target, q: QueryName, vectors: Float32Array[], truth: (v: number) => Set<string>, proxy: CountingProxy, prefix: string): Promise<WarmRun> {
  const sys = await openSystem(system, url, s3);
  try {
    for (let i = 0; i < WARMUP_QUERIES; i++) await sys.run(q, vectors[vectors.length - 1 - i]!);
    sys.resetCounts();
    const mark = proxy.log.length;
    const latenciesMs: number[] = [];
    let recall = 0;
    for (let i = 0; i < vectors.length - WARMUP_QUERIES; i++) {
      const t = performance.now();
      const a = await sys.run(q, vectors[i]!);
      latenciesMs.push(performance.now() - t);
      recall += recallOf(a, truth(i));
    }
    const n = latenciesMs.length;
    const exchanges = proxy.since(mark);
    const total = meter(exchanges, prefix);
    const per: Meter = { requests: total.requests / n, dataRequests: total.dataRequests / n, receivedBytes: total.receivedBytes / n, sentBytes: total.sentBytes / n, bytesByKind: new Map([...total.bytesByKind].map(([k, v]) => [k, v / n])) };
    const counts = sys.counts();
    return { latenciesMs, meter: per, storeGetsPerQuery: counts ? counts.gets / n : undefined, recall: recall / n, shapes: [...new Set(exchanges.map((e) => shapeOf(e, prefix)))] };
  } finally {
    await sys.close();
  }
}

// ---- exact answers ------------------------------------------------------------------------------------

const imageId = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The exact top-20 images (by cosine on image_emb) among rows passing the filter. */
function exactWinners(records: BenchRecord[], v: Float32Array): Set<string> {
  const norm = (x: Float32Array) => Math.sqrt(x.reduce((n, y) => n + y * y, 0));
  const nv = norm(v);
  const scored: [number, number][] = [];
  records.forEach((r, i) => {
    if (r.rating === null || r.rating < 4 || r.tags.includes('unsafe')) return;
    let dot = 0;
    for (let j = 0; j < IMAGE_DIM; j++) dot += r.image_emb[j]! * v[j]!;
    scored.push([dot / (norm(r.image_emb) * nv), i]);
  });
  scored.sort((a, b) => b[0] - a[0]);
  return new Set(scored.slice(0, WINNERS).map(([, i]) => imageId(records[i]!.image)));
}

function recallOf(a: QueryAnswer, truth: Set<string>): number {
  if (a.images.length === 0) return NaN;
  return a.images.filter((b) => truth.has(imageId(b))).length / truth.size;
}

// ---- output -------------------------------------------------------------------------------------------

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const median = (xs: number[]) => pct(xs, 50);
const kb = (n: number) => (n / 1e3).toFixed(1);
const mb = (n: number) => (n / 1e6).toFixed(1);
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function markdown(rows: (string | number)[][], header: string[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** The cold run of median time, whose requests and bytes the tables show. */
const medianRun = (runs: ColdRun[]) => [...runs].sort((a, b) => a.openToResultMs - b.openToResultMs)[Math.floor(runs.length / 2)]!;
const passMiss = (ok: boolean) => (ok ? 'pass' : 'MISS');

// ---- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // The SDK's notice that its 2027 releases need Node 22 is not the benchmark's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = performance.now();
  const s3Direct = serverTarget();
  const pool = await makeImagePool({ seed: 7, size: 128, targetBytes: args.imageBytes });
  const records = benchRows(args.rows, DIMS, pool);
  const batches: BenchRecord[][] = [];
  for (let i = 0; i < records.length; i += args.batch) batches.push(records.slice(i, i + args.batch));
  const flatEmb = new Float32Array(records.length * IMAGE_DIM);
  records.forEach((r, i) => flatEmb.set(r.image_emb, i * IMAGE_DIM));
  const qv = queriesNear(flatEmb, IMAGE_DIM, args.repeats + WARMUP_QUERIES + 1, 11);
  const vectors = Array.from({ length: args.repeats + WARMUP_QUERIES + 1 }, (_, i) => qv.slice(i * IMAGE_DIM, (i + 1) * IMAGE_DIM));
  const coldVector = vectors.pop()!;
  const truths = vectors.map((v) => exactWinners(records, v));
  const rowBytes = records.reduce((n, r) => n + inputBytes(r), 0) / records.length;
  console.log(`bench/objstore: ${args.rows.toLocaleString('en-US')} rows of ${kb(rowBytes)} KB (PNG ~${kb(pool.meanBytes)} KB, ${PROMPT_DIM}-d + ${IMAGE_DIM}-d float32), batches of ${args.batch.toLocaleString('en-US')}; ${args.repeats} warm queries, ${args.coldRuns} cold runs each`);

  const admin = adminClient(s3Direct);
  const bucket = `quiver-bench-objstore-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const proxy = await startCountingProxy(s3Direct.endpoint);
  const s3: S3Target = { ...s3Direct, endpoint: proxy.url, ...(args.inFlight ? { requestsInFlightMax: args.inFlight } : {}) };
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  console.log(`server ${s3Direct.endpoint} (through the counting proxy ${proxy.url}), bucket ${bucket}`);
  const urls: Record<SystemName, string> = { Quiver: `s3://${bucket}/quiver`, LanceDB: `s3://${bucket}/lance` };
  const prefixes: Record<SystemName, string> = { Quiver: 'quiver/', LanceDB: 'lance/' };
  onInterrupt(() => deleteBucket(admin, bucket), bucket);
  try {
    const appends = [await appendQuiver(urls.Quiver, s3, batches, proxy, prefixes.Quiver), await appendLance(urls.LanceDB, s3, batches, proxy, prefixes.LanceDB)];
    for (const a of appends) console.error(`  append ${a.system}: ${f(a.seconds, 2)} s; indexes ${f(a.indexSeconds, 1)} s`);
    if (args.appendOnly) {
      reportAppend(args, appends, rowBytes);
      return;
    }
    const sizes = await objectSizes(admin, bucket);

    const cold = new Map<string, ColdRun[]>();
    for (const q of QUERY_NAMES) {
      for (let run = 0; run < args.coldRuns; run++) {
        for (const system of SYSTEMS) {
          const mark = proxy.log.length;
          const r = await runCold({ system, url: urls[system], s3, query: q, vector: Array.from(coldVector) });
          const key = `${system}|${q}`;
          const exchanges = proxy.since(mark);
          cold.set(key, [...(cold.get(key) ?? []), { ...r, meter: meter(exchanges, prefixes[system]), timeline: timeline(exchanges, prefixes[system], r.openStartedAtMs) }]);
        }
      }
      console.error(`  cold "${q}" done`);
    }
    const warm = new Map<string, WarmRun>();
    for (const q of QUERY_NAMES) {
      for (const system of SYSTEMS) warm.set(`${system}|${q}`, await runWarm(system, urls[system], s3, q, vectors, (i) => truths[i]!, proxy, prefixes[system]));
      console.error(`  warm "${q}" done`);
    }
    report(args, appends, cold, warm, sizes, rowBytes);
  } finally {
    await proxy.close();
    await deleteBucket(admin, bucket).catch((e) => console.error(`bench: could not delete bucket ${bucket}: ${(e as Error).message}`));
    admin.destroy();
  }
  console.log(`\ntotal ${f((performance.now() - started) / 1000)} s`);
}

function reportAppend(args: Args, appends: AppendResult[], rowBytes: number): void {
  const [qa, la] = appends as [AppendResult, AppendResult];
  const rate = (a: AppendResult) => args.rows / a.seconds;
  console.log(`\n## Append (${args.rows.toLocaleString('en-US')} rows in batches of ${args.batch.toLocaleString('en-US')}, through the proxy)\n`);
  console.log(markdown(appends.map((a) => [a.system, a.note, f(a.seconds, 2), Math.round(rate(a)), f((rate(a) * rowBytes) / 1e6), a.meter.requests, mb(a.meter.sentBytes), f(a.indexSeconds, 1)]), ['system', 'how', 'seconds', 'rows/s', 'MB/s', 'requests', 'MB uploaded', 'index build s (not timed above)']));
  console.log(`\nQuiver ÷ LanceDB append throughput: ${f(rate(qa) / rate(la), 2)}×`);
}

function report(args: Args, appends: AppendResult[], cold: Map<string, ColdRun[]>, warm: Map<string, WarmRun>, sizes: Map<string, number>, rowBytes: number): void {
  reportAppend(args, appends, rowBytes);

  console.log(`\n## Cold open + first query (fresh process per run, client libraries loaded before the clock starts; median of ${args.coldRuns}; requests/bytes of the median run's process)\n`);
  const coldRows: (string | number)[][] = [];
  for (const q of QUERY_NAMES) {
    for (const system of SYSTEMS) {
      const runs = cold.get(`${system}|${q}`)!;
      const mid = medianRun(runs);
      coldRows.push([q, system, f(mid.openToResultMs, 0), f(median(runs.map((r) => r.processToResultMs)), 0), mid.rows, mid.meter.requests, mid.meter.dataRequests, kb(mid.meter.receivedBytes), system === 'Quiver' ? kb(bytesOf(mid.meter, ['image'])) : '—', kb(mid.imageBytes), mid.storeGets ?? '—']);
    }
  }
  console.log(markdown(coldRows, ['query', 'system', 'open→result ms', 'process start→result ms', 'rows', 'requests', 'data requests', 'KB down', 'KB of image files', 'KB of images returned', 'CountingStore gets']));
  console.log('\n"KB of image files" is Quiver\'s only: a LanceDB data file holds every column. Quiver\'s cold downloads by file kind (KB, median run):\n');
  const kinds = ['meta', 'scalar', 'index', 'image_emb', 'prompt_emb', 'image', 'deletes'];
  console.log(markdown(QUERY_NAMES.map((q) => {
    const runs = cold.get(`Quiver|${q}`)!;
    const mid = medianRun(runs);
    return [q, ...kinds.map((k) => kb(bytesOf(mid.meter, [k])))];
  }), ['query', ...kinds]));

  console.log('\nTimeline of the median cold run (ms from the start of the open; requests by kind of object, first start → last end; busy: time with one of them open at the proxy; peak: most open at once):\n');
  const tl: (string | number)[][] = [];
  for (const q of QUERY_NAMES) {
    for (const system of SYSTEMS) {
      const mid = medianRun(cold.get(`${system}|${q}`)!);
      tl.push([q, system, 'open returned', '', '', f(mid.openMs, 0), '', '', '']);
      for (const t of mid.timeline) tl.push(['', '', t.kind, t.requests, f(t.startMs, 0), f(t.endMs, 0), f(t.busyMs, 0), t.peakInFlight, kb(t.receivedBytes)]);
      tl.push(['', '', 'first result', '', '', f(mid.openToResultMs, 0), '', '', '']);
    }
  }
  console.log(markdown(tl, ['query', 'system', 'step', 'requests', 'start ms', 'end ms', 'busy ms', 'peak in flight', 'KB down']));

  console.log(`\n## Warm queries (${args.repeats} queries on an open handle after ${WARMUP_QUERIES} untimed; per query)\n`);
  const warmRows: (string | number)[][] = [];
  for (const q of QUERY_NAMES) {
    for (const system of SYSTEMS) {
      const w = warm.get(`${system}|${q}`)!;
      warmRows.push([q, system, f(pct(w.latenciesMs, 50)), f(pct(w.latenciesMs, 99)), f(w.meter.requests, 2), f(w.meter.dataRequests, 2), kb(w.meter.receivedBytes), w.storeGetsPerQuery === undefined ? '—' : f(w.storeGetsPerQuery, 2), f(w.recall, 2)]);
    }
  }
  console.log(markdown(warmRows, ['query', 'system', 'p50 ms', 'p99 ms', 'requests', 'data requests', 'KB down', 'CountingStore gets', 'recall@20 vs exact']));
  for (const system of SYSTEMS) {
    const shapes = [...new Set(QUERY_NAMES.flatMap((q) => warm.get(`${system}|${q}`)!.shapes))];
    console.log(`${system}'s warm requests: ${shapes.length ? shapes.join(', ') : 'none'}`);
  }
  console.log('\nRatios (LanceDB ÷ Quiver; > 1 means Quiver is faster):');
  console.log(markdown(QUERY_NAMES.map((q) => {
    const c = (s: SystemName) => median(cold.get(`${s}|${q}`)!.map((r) => r.openToResultMs));
    const w = (s: SystemName, p: number) => pct(warm.get(`${s}|${q}`)!.latenciesMs, p);
    return [q, f(c('LanceDB') / c('Quiver'), 2), f(w('LanceDB', 50) / w('Quiver', 50), 2), f(w('LanceDB', 99) / w('Quiver', 99), 2)];
  }), ['query', 'cold open→result', 'warm p50', 'warm p99']));

  reportTargets(args, appends[0]!, appends[1]!, cold, warm, sizes);
}

function reportTargets(args: Args, qa: AppendResult, la: AppendResult, cold: Map<string, ColdRun[]>, warm: Map<string, WarmRun>, sizes: Map<string, number>): void {
  const lines: string[][] = [];
  for (const q of QUERY_NAMES) {
    const w = warm.get(`Quiver|${q}`)!;
    lines.push([`warm "${q}" makes 0 data requests`, f(w.meter.dataRequests, 2), passMiss(w.meter.dataRequests === 0)]);
  }
  const img = cold.get('Quiver|20 winners + images')!;
  const worstRatio = Math.max(...img.map((r) => bytesOf(r.meter, ['image']) / r.imageBytes));
  lines.push([`cold: 20 winners' image bytes read < 2× their bytes`, `${f(worstRatio, 2)}× (worst of ${img.length})`, passMiss(worstRatio < 2)]);
  for (const q of QUERY_NAMES) {
    const unneeded = LARGE_COLUMNS.filter((c) => !NEEDED_LARGE[q].includes(c));
    const read = cold.get(`Quiver|${q}`)!.flatMap((r) => unneeded.filter((c) => bytesOf(r.meter, [c]) > 0).map((c) => `${c} ${kb(bytesOf(r.meter, [c]))} KB`));
    lines.push([`cold "${q}": no ${unneeded.join('/')} file read`, read.length ? [...new Set(read)].join(', ') : 'none', passMiss(read.length === 0)]);
  }
  const imageFiles = [...sizes].filter(([k]) => k.startsWith('quiver/') && k.endsWith('.image.parquet'));
  const imageFileBytes = imageFiles.reduce((n, [, s]) => n + s, 0);
  lines.push([`(context) Quiver image files`, `${imageFiles.length} files, ${mb(imageFileBytes)} MB`, '']);
  for (const q of QUERY_NAMES) {
    const c = (s: SystemName) => median(cold.get(`${s}|${q}`)!.map((r) => r.openToResultMs));
    lines.push([`cold "${q}": Quiver ≤ LanceDB`, `${f(c('Quiver'), 0)} ms vs ${f(c('LanceDB'), 0)} ms`, passMiss(c('Quiver') <= c('LanceDB'))]);
  }
  lines.push(['append throughput: Quiver ≥ LanceDB', `${Math.round(args.rows / qa.seconds)} vs ${Math.round(args.rows / la.seconds)} rows/s`, passMiss(qa.seconds <= la.seconds)]);
  console.log('\n## Targets (issue 11)\n');
  console.log(markdown(lines, ['target', 'measured', 'result']));
}

await main();
