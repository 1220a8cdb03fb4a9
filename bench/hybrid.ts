// End-to-end search benchmark: the seed's queries through ds.query (filter + vector, filter +
// BM25, and the rrf hybrid), on seeded data, side by side with LanceDB on the same rows with its
// indexes (IVF_HNSW_SQ, FTS, btree and label-list scalar indexes; RRFReranker for hybrid), against
// the same SQL run exactly and plain DuckDB over the same Parquet files. Reports p50/p99 warm
// latency, recall@k against exact, throughput and p99 with 1, 4 and 8 concurrent clients, cold
// open + first query in a fresh process per shape, resident memory after warm queries (in those
// fresh processes, one system each), and index build times.
// Run: npx tsx bench/hybrid.ts [--quick | --large] [--queries=N] [--reuse [--keep-index]] [--no-scalar]
//      [--incremental] [--no-lance] [--no-cold] [--clients=1,4,8] [--lance-ef=64] [--base=<checkout>]
// --reuse keeps a dataset a previous run left in bench/.data and rebuilds its vector index
// (--keep-index keeps that too); --no-scalar leaves the filter columns without scalar indexes,
// so DuckDB evaluates the WHERE; --incremental times folding 1 % more rows into the index;
// --base=<dir> also runs the cold vector + filter query with the Quiver of another checkout
// (the code before a change) on the same dataset.
// A benchmark, never a test: it prints figures, it asserts nothing.

import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import * as lancedb from '@lancedb/lancedb';
import * as quiver from '../src/index.js';
import { Engine } from '../src/query/index.js';
import { prompts, queriesNear, rng, textQueries, vectors } from './lib/datagen.js';
import type { ColdRequest, ColdResult } from './lib/hybrid-cold.js';
import { runJsonChild } from './lib/json-child.js';
import { DAY, FILTER, lanceQuery, quiverQuery, SHAPES, type QuerySet, type ShapeName } from './lib/hybrid-shapes.js';

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string, d: string) => args.find((a) => a.startsWith(`--${n}=`))?.split('=')[1] ?? d;
const N = flag('quick') ? 20_000 : flag('large') ? 1_000_000 : 100_000;
const DIM = 768;
const NQ = Number(opt('queries', '50'));
const EXACT_Q = Math.min(NQ, flag('large') ? 5 : 20);
const DIR = join(process.cwd(), `bench/.data/hybrid-${N}`);
const LANCE_DIR = join(process.cwd(), `bench/.data/hybrid-lance-${N}`);
const LANCE = !flag('no-lance');
const LANCE_EF = Number(opt('lance-ef', '64'));
const CLIENTS = opt('clients', '1,4,8').split(',').map(Number);
const BASE = opt('base', '');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const f = (x: number, d = 1) => x.toFixed(d);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

console.log(`bench/hybrid: ${N.toLocaleString()} rows × ${DIM}-d clustered embeddings, ${NQ} queries; load average ${load()}`);
const reuse = flag('reuse') && existsSync(join(DIR, '_quiver.json'));
if (!reuse) rmSync(DIR, { recursive: true, force: true });
let t = performance.now();
// The generated rows are dropped once written (see below): a serving process does not hold a
// million prompts on its heap, and garbage collection would otherwise mark them during timing.
let vecs: Float32Array | null = vectors('clustered', N, DIM, 1);
let texts: string[] | null = prompts(N, 2);
const rand = rng(3);
const now = Date.now();
console.log(`generated in ${f((performance.now() - t) / 1000)} s`);

const ds = reuse ? await quiver.open(DIR) : await quiver.create(DIR, { schema: { prompt: 'text', prompt_emb: `emb-${DIM}`, rating: 'int', tags: 'list<text>', user_id: 'text', created_at: 'timestamp' } });
// LanceDB gets the same rows in the same batches (its `id` is Quiver's row id), written beside.
const lanceDb = LANCE ? await lancedb.connect(LANCE_DIR) : null;
let table: lancedb.Table | null = null;
const lanceReuse = LANCE && reuse && existsSync(join(LANCE_DIR, 'items.lance'));
if (LANCE && !lanceReuse) rmSync(LANCE_DIR, { recursive: true, force: true });
if (lanceReuse) table = await lanceDb!.openTable('items');
let appendMs = 0;
let lanceAppendMs = 0;
const BATCH = 10_000;
for (let s = 0; s < N && !reuse; s += BATCH) {
  const recs: { prompt: string; prompt_emb: Float32Array; rating: number; tags: string[]; user_id: string; created_at: Date }[] = [];
  for (let i = s; i < Math.min(N, s + BATCH); i++) {
    recs.push({ prompt: texts![i], prompt_emb: vecs!.subarray(i * DIM, (i + 1) * DIM), rating: 1 + Math.floor(rand() * 5), tags: rand() < 0.05 ? ['unsafe'] : ['safe'], user_id: `u${Math.floor(rand() * 1000)}`, created_at: new Date(now - Math.floor(rand() * 30) * DAY) });
  }
  const [{ rowIds }, ms] = await timed(() => ds.append(recs));
  appendMs += ms;
  if (!LANCE) continue;
  const lrecs = recs.map((r, j) => ({ id: Number(rowIds[j]), prompt: r.prompt, vector: Array.from(r.prompt_emb), rating: r.rating, tags: r.tags, user_id: r.user_id, created_at: r.created_at.getTime() }));
  const [, lms] = await timed(async () => (table ? table.add(lrecs) : (table = await lanceDb!.createTable('items', lancedb.makeArrowTable(lrecs), { mode: 'overwrite' }))));
  lanceAppendMs += lms;
}
if (!reuse) appendMs += (await timed(() => ds.commit('data')))[1];
console.log(reuse ? 'reusing the dataset of an earlier run (its rows were written relative to that run\'s clock)' : `appended and committed in ${f(appendMs / 1000)} s (${f(N / (appendMs / 1000), 0)} rows/s)${LANCE ? `; LanceDB ${f(lanceAppendMs / 1000)} s` : ''}`);

// Index builds, side by side. Quiver: vector (int8 HNSW + calibration), fulltext segments, scalar
// files; LanceDB: IVF_HNSW_SQ (one partition, same M and efConstruction), FTS, btree, label list.
const builds: { what: string; quiverS: number; lanceS: number }[] = [];
const keep = reuse && flag('keep-index') && ds.indexes.some((x) => x.column === 'prompt_emb' && x.kind === 'vector');
t = performance.now();
if (!keep) await ds.createIndex('prompt_emb', { kind: 'vector', metric: 'cosine', rebuild: true }); // a timed build, not an incremental no-op
const buildS = (performance.now() - t) / 1000;
console.log(keep ? 'vector index kept from an earlier run' : `vector index built in ${f(buildS)} s`);
const lanceBuild = async (fn: () => Promise<unknown>) => (LANCE && !lanceReuse ? (await timed(fn))[1] / 1000 : NaN);
builds.push({ what: 'vector (Quiver int8 HNSW; LanceDB IVF_HNSW_SQ)', quiverS: keep ? NaN : buildS, lanceS: await lanceBuild(() => table!.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: 16, efConstruction: 128 }) })) });
const hasFts = ds.indexes.some((x) => x.column === 'prompt' && x.kind === 'fulltext');
const [, ftsMs] = await timed(async () => void (hasFts ? undefined : await ds.createIndex('prompt', { kind: 'fulltext' })));
builds.push({ what: 'full text on prompt (segments; FTS)', quiverS: hasFts ? NaN : ftsMs / 1000, lanceS: await lanceBuild(() => table!.createIndex('prompt', { config: lancedb.Index.fts() })) });
// The filter columns get scalar indexes (as a user would give a filtered column a B-tree),
// unless the run measures DuckDB evaluating the WHERE.
const scalar = !flag('no-scalar');
let scalarMs = NaN; // NaN: every one kept from an earlier run
for (const c of ['rating', 'created_at', 'tags']) {
  const has = ds.indexes.some((x) => x.column === c && x.kind === 'scalar');
  if (scalar && !has) scalarMs = (Number.isNaN(scalarMs) ? 0 : scalarMs) + (await timed(() => ds.createIndex(c, { kind: 'scalar' })))[1];
  if (!scalar && has) await ds.dropIndex(c, 'scalar');
}
builds.push({
  what: 'scalar on rating, created_at, tags (files; btree, btree, label list)',
  quiverS: scalar ? scalarMs / 1000 : NaN,
  lanceS: await lanceBuild(async () => {
    await table!.createIndex('rating', { config: lancedb.Index.btree() });
    await table!.createIndex('created_at', { config: lancedb.Index.btree() });
    await table!.createIndex('tags', { config: lancedb.Index.labelList() });
  }),
});
console.log(scalar ? 'scalar indexes on rating, created_at, tags' : 'no scalar indexes: DuckDB evaluates the WHERE');

// WARM extra queries per type run first and are not timed (JIT, and the garbage of loading).
const WARM = 5;
const qs: QuerySet = { dim: DIM, vectors: queriesNear(vecs!, DIM, NQ + WARM, 4), texts: textQueries(NQ + WARM, 5) };
const extra = Math.max(1, Math.floor(N / 100));
const extraVecs = vecs!.slice(0, extra * DIM);
const extraTexts = texts!.slice(0, extra);
vecs = null;
texts = null;
const QUERIES_FILE = join(DIR, '..', `hybrid-queries-${N}.json`);
writeFileSync(QUERIES_FILE, JSON.stringify({ dim: DIM, vectors: Buffer.from(qs.vectors.buffer, qs.vectors.byteOffset, qs.vectors.byteLength).toString('base64'), texts: qs.texts }));
const rrf = await lancedb.rerankers.RRFReranker.create();
const ours = (shape: ShapeName, i: number) => {
  const q = quiverQuery(shape, qs, i);
  return ds.query(q.sql, q.params);
};
const theirs = (shape: ShapeName, i: number) => lanceQuery(lancedb, table!, rrf, shape, qs, i, LANCE_EF);

// Warm the per-version caches (vectors and BM25 statistics load once per version).
t = performance.now();
for (const s of SHAPES) await ours(s, NQ);
console.log(`first queries (load vectors + BM25 statistics for this version): ${f(performance.now() - t, 0)} ms`);
for (let i = NQ + 1; i < NQ + WARM; i++) for (const s of SHAPES) await ours(s, i);
if (LANCE) for (let i = NQ; i < NQ + WARM; i++) for (const s of SHAPES) await theirs(s, i);

// Plain DuckDB over the same files: what a user without Quiver would run.
const engine = await Engine.create();
const duck = await engine.session();
const scan = await ds.scanSql();
await duck.run(`create view plain as ${scan}`);

// Garbage-collection pauses during the timed loops, reported beside the latencies.
let gcPauses: number[] = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => gcPauses.push(e.duration))).observe({ entryTypes: ['gc'] });

const rows: string[][] = [];
const side: string[][] = [];
for (const shape of SHAPES) {
  const lat: number[] = [];
  gcPauses = [];
  const exactLat: number[] = [];
  let recallSum = 0;
  let lanceRecallSum = 0;
  // The timed loop runs alone: an exact query between two timed ones would leave its garbage
  // and cold caches to the next one, which is not what a steady workload sees.
  const answers: Record<string, unknown>[][] = [];
  for (let i = 0; i < NQ; i++) {
    const [got, ms] = await timed(() => ours(shape, i));
    lat.push(ms);
    if (i < EXACT_Q) answers.push(got);
  }
  const gcMax = Math.max(0, ...gcPauses);
  const lanceLat: number[] = [];
  const lanceAnswers: number[][] = [];
  for (let i = 0; LANCE && i < NQ; i++) {
    const [got, ms] = await timed(() => theirs(shape, i));
    lanceLat.push(ms);
    if (i < EXACT_Q) lanceAnswers.push(got);
  }
  for (let i = 0; i < EXACT_Q; i++) {
    const q = quiverQuery(shape, qs, i);
    const [want, ems] = await timed(() => ds.query(`select * from (${q.sql}) as exact_only`, q.params));
    exactLat.push(ems);
    const w = new Set(want.map((r) => r.row_id));
    recallSum += w.size ? answers[i].filter((r) => w.has(r.row_id)).length / w.size : 1;
    if (LANCE) lanceRecallSum += w.size ? lanceAnswers[i].filter((id) => w.has(BigInt(id))).length / w.size : 1;
  }
  let duckMs = NaN;
  if (shape === 'vector + filter') {
    const d: number[] = [];
    for (let i = 0; i < EXACT_Q; i++) d.push((await timed(() => duck.all(`select row_id from plain where ${FILTER} order by array_cosine_similarity(prompt_emb, $1::FLOAT[${DIM}]) desc limit 20`, [quiverQuery(shape, qs, i).params[0]])))[1]);
    duckMs = pct(d, 50);
  }
  rows.push([shape, f(pct(lat, 50)), f(pct(lat, 99)), f(recallSum / EXACT_Q, 3), f(pct(exactLat, 50)), f(pct(exactLat, 50) / pct(lat, 50)), Number.isFinite(duckMs) ? f(duckMs) : '—', Number.isFinite(duckMs) ? f(duckMs / pct(lat, 50)) : '—', f(gcMax)]);
  if (LANCE) side.push([shape, `${f(pct(lat, 50))} / ${f(pct(lanceLat, 50))}`, `${f(pct(lat, 99))} / ${f(pct(lanceLat, 99))}`, `${f(recallSum / EXACT_Q, 3)} / ${f(lanceRecallSum / EXACT_Q, 3)}`, f(pct(lanceLat, 50) / pct(lat, 50), 2)]);
}
duck.close();
engine.close();

// Throughput: C clients on one handle (one table), each running its own sequence of queries as
// fast as answers come back; queries/s over the wall time, and p99 of every query's latency.
const PER_CLIENT = Math.min(NQ, 25);
async function throughput(run: (i: number) => Promise<unknown>, clients: number): Promise<{ qps: number; p50: number; p99: number }> {
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let j = 0; j < PER_CLIENT; j++) {
        const s = performance.now();
        await run((c * 7 + j) % NQ);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { qps: (clients * PER_CLIENT) / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}
const tput: string[][] = [];
for (const shape of SHAPES) {
  for (const c of CLIENTS) {
    const a = await throughput((i) => ours(shape, i), c);
    const b = LANCE ? await throughput((i) => theirs(shape, i), c) : { qps: NaN, p50: NaN, p99: NaN };
    tput.push([shape, String(c), `${f(a.qps, 0)} / ${f(b.qps, 0)}`, f(a.qps / b.qps, 2), `${f(a.p50)} / ${f(b.p50)}`, `${f(a.p99)} / ${f(b.p99)}`]);
  }
}

// --incremental: on a throwaway branch, append 1 % more rows and fold them into the index.
let incremental = '';
if (flag('incremental')) {
  const name = `bench-incremental-${Date.now()}`;
  const br = await ds.branch(name);
  const recs = [];
  for (let i = 0; i < extra; i++) recs.push({ prompt: extraTexts[i], prompt_emb: extraVecs.subarray(i * DIM, (i + 1) * DIM), rating: 1 + Math.floor(rand() * 5), tags: ['safe'], user_id: 'u0', created_at: new Date(now) });
  await br.append(recs);
  await br.commit('1 % more rows');
  const [, ms] = await timed(() => br.createIndex('prompt_emb', { kind: 'vector', metric: 'cosine' }));
  incremental = `incremental createIndex after appending ${extra.toLocaleString()} rows (1 %): ${f(ms / 1000)} s`;
  await br.close();
  await ds.deleteBranch(name);
}
await ds.close();
await lanceDb?.close?.();

// Cold: a fresh process per system and shape opens the dataset and answers the first query
// (libraries loaded before the clock), then 20 warm queries, then reports its resident memory.
const runCold = (req: ColdRequest) => runJsonChild<ColdResult>('bench/lib/hybrid-cold.ts', req, `cold ${req.system} "${req.shape}"`);
const cold: string[][] = [];
const scalarCold: string[] = [];
if (!flag('no-cold')) {
  const base = { dir: DIR, queries: QUERIES_FILE, warm: 20, ef: LANCE_EF };
  // The first filtered query of a fresh process: before (the code of --base, which decodes each
  // fragment's columns from its Parquet file; or this code with no scalar files yet, which also
  // writes them) and after (the files are there and read by range).
  const qscl = () => readdirSync(join(DIR, 'index')).filter((k) => k.endsWith('.qscl'));
  // Each measured twice: the whole first query, and the first filtered query after an
  // unfiltered one loaded the vectors (the scalar index's own cold cost).
  const both = async (what: string, req: ColdRequest) => {
    const whole = await runCold(req);
    const primed = await runCold({ ...req, primeUnfiltered: true });
    scalarCold.push(`${what}: open ${f(whole.openMs)} ms + first vector + filter ${f(whole.firstMs)} ms; after an unfiltered first query, the first filtered one ${f(primed.firstMs)} ms`);
  };
  const q = { ...base, system: 'quiver' as const, shape: 'vector + filter' as const };
  if (BASE) await both(`before (${BASE}: each fragment's columns decoded from its Parquet file)`, { ...q, quiverEntry: resolve(BASE, 'src/index.ts') });
  if (scalar) {
    const files = qscl();
    const drop = () => qscl().forEach((k) => rmSync(join(DIR, 'index', k)));
    drop();
    const whole = await runCold(q);
    const written = qscl().length;
    drop();
    const primed = await runCold({ ...q, primeUnfiltered: true });
    scalarCold.push(`this code, its ${files.length} scalar files removed (decoded, built and written back: ${written}): open ${f(whole.openMs)} ms + first vector + filter ${f(whole.firstMs)} ms; after an unfiltered first query, the first filtered one ${f(primed.firstMs)} ms`);
    await both('after (the scalar files read by range)', q);
  }
  for (const shape of SHAPES) {
    const a = await runCold({ ...base, system: 'quiver', shape });
    const b = LANCE ? await runCold({ ...base, dir: LANCE_DIR, system: 'lancedb', shape }) : null;
    cold.push([shape, `${f(a.openMs + a.firstMs, 0)} / ${b ? f(b.openMs + b.firstMs, 0) : '—'}`, `${f(a.openMs, 0)} + ${f(a.firstMs, 0)} / ${b ? `${f(b.openMs, 0)} + ${f(b.firstMs, 0)}` : '—'}`, `${f(a.rssMiB, 0)} / ${b ? f(b.rssMiB, 0) : '—'}`, `${f(a.warmP50Ms)} / ${b ? f(b.warmP50Ms) : '—'}`]);
  }
}

console.log(`\n| query (${N.toLocaleString()} rows) | p50 ms | p99 ms | recall@k vs exact | exact SQL p50 ms | exact / ours | plain DuckDB p50 ms | DuckDB / ours | max GC pause ms |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (LANCE) {
  console.log(`\nQuiver / LanceDB, warm, one client (LanceDB ef ${LANCE_EF}; its recall is against Quiver's exact answer of the same SQL):`);
  console.log('| query | p50 ms | p99 ms | recall@k | LanceDB ÷ Quiver p50 |\n|---|---|---|---|---|');
  for (const r of side) console.log(`| ${r.join(' | ')} |`);
}
console.log(`\nthroughput, Quiver / LanceDB (${PER_CLIENT} queries per client, clients concurrent on one handle / table):`);
console.log('| query | clients | queries/s | Quiver ÷ LanceDB | p50 ms | p99 ms |\n|---|---|---|---|---|---|');
for (const r of tput) console.log(`| ${r.join(' | ')} |`);
if (cold.length) {
  console.log('\ncold, a fresh process per system and shape, Quiver / LanceDB (libraries loaded before the clock):');
  console.log('| query | open + first ms | open + first ms | RSS after 20 warm MiB | warm p50 ms in that process |\n|---|---|---|---|---|');
  for (const r of cold) console.log(`| ${r.join(' | ')} |`);
}
if (scalarCold.length) console.log(`\nfirst filtered query in a fresh process:\n- ${scalarCold.join('\n- ')}`);
console.log('\nindex build s, Quiver / LanceDB:\n| index | Quiver s | LanceDB s |\n|---|---|---|');
for (const b of builds) console.log(`| ${b.what} | ${f(b.quiverS)} | ${f(b.lanceS)} |`);
if (incremental) console.log(`\n${incremental}`);
console.log(`\nindex build ${f(buildS)} s${reuse ? '' : `; append ${f(N / (appendMs / 1000), 0)} rows/s`}. exact = the same SQL wrapped so no fast path applies (${EXACT_Q} queries). load average at the end ${load()}.`);
