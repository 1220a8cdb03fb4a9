// End-to-end search benchmark: the seed's queries through ds.query (filter + vector, filter +
// BM25, and the rrf hybrid), on seeded data, against the same SQL run exactly and against plain
// DuckDB over the same Parquet files. Reports p50/p99 latency, recall@k against exact, index
// build time, and ratios.
// Run: npx tsx bench/hybrid.ts [--quick | --large] [--queries=N] [--reuse [--keep-index]] [--no-scalar] [--incremental]
// --reuse keeps a dataset a previous run left in bench/.data and rebuilds its vector index
// (--keep-index keeps that too); --no-scalar leaves the filter columns without scalar indexes,
// so DuckDB evaluates the WHERE; --incremental times folding 1 % more rows into the index.
// A benchmark, never a test: it prints figures, it asserts nothing.

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import * as quiver from '../src/index.js';
import { Engine } from '../src/query/index.js';
import { prompts, queriesNear, rng, textQueries, vectors } from './lib/datagen.js';

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string, d: string) => args.find((a) => a.startsWith(`--${n}=`))?.split('=')[1] ?? d;
const N = flag('quick') ? 20_000 : flag('large') ? 1_000_000 : 100_000;
const DIM = 768;
const NQ = Number(opt('queries', '50'));
const EXACT_Q = Math.min(NQ, flag('large') ? 5 : 20);
const DIR = join(process.cwd(), `bench/.data/hybrid-${N}`);
const DAY = 86_400_000;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const f = (x: number, d = 1) => x.toFixed(d);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

console.log(`bench/hybrid: ${N.toLocaleString()} rows × ${DIM}-d clustered embeddings, ${NQ} queries`);
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
t = performance.now();
const BATCH = 10_000;
for (let s = 0; s < N && !reuse; s += BATCH) {
  const recs = [];
  for (let i = s; i < Math.min(N, s + BATCH); i++) {
    recs.push({ prompt: texts![i], prompt_emb: vecs!.subarray(i * DIM, (i + 1) * DIM), rating: 1 + Math.floor(rand() * 5), tags: rand() < 0.05 ? ['unsafe'] : ['safe'], user_id: `u${Math.floor(rand() * 1000)}`, created_at: new Date(now - Math.floor(rand() * 30) * DAY) });
  }
  await ds.append(recs);
}
if (!reuse) await ds.commit('data');
const appendS = (performance.now() - t) / 1000;
console.log(reuse ? 'reusing the dataset of an earlier run (its rows were written relative to that run\'s clock)' : `appended and committed in ${f(appendS)} s (${f(N / appendS, 0)} rows/s)`);
t = performance.now();
const keep = reuse && flag('keep-index') && ds.indexes.some((x) => x.column === 'prompt_emb' && x.kind === 'vector');
if (!keep) await ds.createIndex('prompt_emb', { kind: 'vector', metric: 'cosine', rebuild: true }); // a timed build, not an incremental no-op
const buildS = (performance.now() - t) / 1000;
console.log(keep ? 'vector index kept from an earlier run' : `vector index built in ${f(buildS)} s`);
// The filter columns get scalar indexes (as a user would give a filtered column a B-tree),
// unless the run measures DuckDB evaluating the WHERE.
const scalar = !flag('no-scalar');
for (const c of ['rating', 'created_at', 'tags']) {
  const has = ds.indexes.some((x) => x.column === c && x.kind === 'scalar');
  if (scalar && !has) await ds.createIndex(c, { kind: 'scalar' });
  if (!scalar && has) await ds.dropIndex(c, 'scalar');
}
console.log(scalar ? 'scalar indexes on rating, created_at, tags' : 'no scalar indexes: DuckDB evaluates the WHERE');

// WARM extra queries per type run first and are not timed (JIT, and the garbage of loading).
const WARM = 5;
const qv = queriesNear(vecs!, DIM, NQ + WARM, 4);
const extra = Math.max(1, Math.floor(N / 100));
const extraVecs = vecs!.slice(0, extra * DIM);
const extraTexts = texts!.slice(0, extra);
vecs = null;
texts = null;
const qt = textQueries(NQ + WARM, 5);
const q = (i: number) => qv.slice(i * DIM, (i + 1) * DIM);
const FILTER = `rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe')`;
const queries: { name: string; sql: (i: number) => string; params: (i: number) => quiver.Param[]; k: number }[] = [
  { name: 'vector + filter', sql: () => `select row_id, prompt, rating from dataset where ${FILTER} order by cosine_similarity(prompt_emb, $1) desc limit 20`, params: (i) => [q(i)], k: 20 },
  { name: 'bm25 + filter', sql: (i) => `select row_id, prompt, bm25(prompt, '${qt[i].replace(/'/g, "''")}') as score from dataset where match(prompt, '${qt[i].replace(/'/g, "''")}') and rating >= 3 order by score desc limit 10`, params: () => [], k: 10 },
  { name: 'hybrid rrf + filter', sql: (i) => `select row_id, prompt from dataset where ${FILTER} order by rrf(cosine_similarity(prompt_emb, $1), bm25(prompt, '${qt[i].replace(/'/g, "''")}')) desc limit 10`, params: (i) => [q(i)], k: 10 },
];

// Warm the per-version caches (vectors and BM25 statistics load once per version).
t = performance.now();
for (const qq of queries) await ds.query(qq.sql(NQ), qq.params(NQ));
console.log(`first queries (load vectors + BM25 statistics for this version): ${f(performance.now() - t, 0)} ms`);
for (let i = NQ + 1; i < NQ + WARM; i++) for (const qq of queries) await ds.query(qq.sql(i), qq.params(i));

// Plain DuckDB over the same files: what a user without Quiver would run.
const engine = await Engine.create();
const duck = await engine.session();
const scan = await ds.scanSql();
await duck.run(`create view plain as ${scan}`);

// Garbage-collection pauses during the timed loops, reported beside the latencies.
let gcPauses: number[] = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => gcPauses.push(e.duration))).observe({ entryTypes: ['gc'] });

const rows: string[][] = [];
for (const qq of queries) {
  const lat: number[] = [];
  gcPauses = [];
  const exactLat: number[] = [];
  let recallSum = 0;
  // The timed loop runs alone: an exact query between two timed ones would leave its garbage
  // and cold caches to the next one, which is not what a steady workload sees.
  const answers: Record<string, unknown>[][] = [];
  for (let i = 0; i < NQ; i++) {
    const [got, ms] = await timed(() => ds.query(qq.sql(i), qq.params(i)));
    lat.push(ms);
    if (i < EXACT_Q) answers.push(got);
  }
  const gcMax = Math.max(0, ...gcPauses);
  for (let i = 0; i < EXACT_Q; i++) {
    const [want, ems] = await timed(() => ds.query(`select * from (${qq.sql(i)}) as exact_only`, qq.params(i)));
    exactLat.push(ems);
    const w = new Set(want.map((r) => r.row_id));
    recallSum += w.size ? answers[i].filter((r) => w.has(r.row_id)).length / w.size : 1;
  }
  let duckMs = NaN;
  if (qq.name === 'vector + filter') {
    const d: number[] = [];
    for (let i = 0; i < EXACT_Q; i++) d.push((await timed(() => duck.all(`select row_id from plain where ${FILTER} order by array_cosine_similarity(prompt_emb, $1::FLOAT[${DIM}]) desc limit 20`, [q(i)])))[1]);
    duckMs = pct(d, 50);
  }
  rows.push([qq.name, f(pct(lat, 50)), f(pct(lat, 99)), f(recallSum / EXACT_Q, 3), f(pct(exactLat, 50)), f(pct(exactLat, 50) / pct(lat, 50)), Number.isFinite(duckMs) ? f(duckMs) : '—', Number.isFinite(duckMs) ? f(duckMs / pct(lat, 50)) : '—', f(gcMax)]);
}
duck.close();
engine.close();

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

console.log(`\n| query (${N.toLocaleString()} rows) | p50 ms | p99 ms | recall@k vs exact | exact SQL p50 ms | exact / ours | plain DuckDB p50 ms | DuckDB / ours | max GC pause ms |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (incremental) console.log(`\n${incremental}`);
console.log(`\nindex build ${f(buildS)} s${reuse ? '' : `; append ${f(N / appendS, 0)} rows/s`}. exact = the same SQL wrapped so no fast path applies (${EXACT_Q} queries).`);
