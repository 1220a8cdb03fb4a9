// Per-query overhead: the seed's vector + filter query at a small size (5k rows by default), where
// the kernel's work is tiny and what is left is the fixed cost of a query (planning, the version
// check, the final DuckDB statement). Quiver through `ds.query` against LanceDB on the same rows,
// each with its indexes (Quiver: vector + scalar indexes; LanceDB: IVF_HNSW_SQ + btree/label-list),
// one query at a time, p50/p99 warm, and the ratios. Also the DuckDB statements Quiver ran per query.
// Run: npx tsx bench/overhead.ts [--rows=5000] [--queries=300] [--no-scalar]
// A benchmark, never a test: it prints figures, it asserts nothing.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import * as quiver from '../src/index.js';
import { Session } from '../src/query/index.js';
import { prompts, queriesNear, rng, vectors } from './lib/datagen.js';

const args = process.argv.slice(2);
const opt = (n: string, d: string) => args.find((a) => a.startsWith(`--${n}=`))?.split('=')[1] ?? d;
const N = Number(opt('rows', '5000'));
const NQ = Number(opt('queries', '300'));
const WARM = 50;
const DIM = 768;
const DAY = 86_400_000;
const DATA = join(process.cwd(), 'bench/.data');
const scalar = !args.includes('--no-scalar');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const f = (x: number, d = 2) => x.toFixed(d);

/** Per-query latencies of `fn` over NQ queries, after WARM untimed ones (JIT, caches). */
async function latencies(fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARM; i++) await fn(NQ + i);
  const out: number[] = [];
  for (let i = 0; i < NQ; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

console.log(`bench/overhead: ${N.toLocaleString()} rows × ${DIM}-d clustered embeddings, ${NQ} queries, ${scalar ? 'scalar indexes on the filter columns' : 'no scalar indexes'}`);
const vecs = vectors('clustered', N, DIM, 1);
const texts = prompts(N, 2);
const rand = rng(3);
const now = Date.now();
const rows = Array.from({ length: N }, (_, i) => ({
  prompt: texts[i],
  rating: 1 + Math.floor(rand() * 5),
  tags: rand() < 0.05 ? ['unsafe'] : ['safe'],
  user_id: `u${Math.floor(rand() * 1000)}`,
  created_at: new Date(now - Math.floor(rand() * 30) * DAY),
}));
const qv = queriesNear(vecs, DIM, NQ + WARM, 4);
const q = (i: number) => qv.slice(i * DIM, (i + 1) * DIM);

// Quiver: the seed's schema and query (bench/hybrid.ts), indexes as there.
const dir = join(DATA, `overhead-${N}`);
rmSync(dir, { recursive: true, force: true });
const ds = await quiver.create(dir, { schema: { prompt: 'text', prompt_emb: `emb-${DIM}`, rating: 'int', tags: 'list<text>', user_id: 'text', created_at: 'timestamp' } });
await ds.append(rows.map((r, i) => ({ ...r, prompt_emb: vecs.subarray(i * DIM, (i + 1) * DIM) })));
await ds.commit('data');
await ds.createIndex('prompt_emb', { kind: 'vector', metric: 'cosine' });
if (scalar) for (const c of ['rating', 'created_at', 'tags']) await ds.createIndex(c, { kind: 'scalar' });
const FILTER = `rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe')`;
const SQL = `select row_id, prompt, rating from dataset where ${FILTER} order by cosine_similarity(prompt_emb, $1) desc limit 20`;

// DuckDB statements per query, counted on the Session methods that send one.
let statements = 0;
let counting = false;
for (const m of ['all', 'run', 'arrow', 'readInt64', 'readVectors', 'stream', 'streamRows', 'describe'] as const) {
  const proto = Session.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = proto[m];
  proto[m] = function (this: unknown, ...a: unknown[]) {
    if (counting) statements++;
    return orig.apply(this, a);
  };
}
counting = true;
const ours = await latencies((i) => ds.query(SQL, [q(i)]));
counting = false;
// Resident memory of the process serving Quiver's queries, before LanceDB is loaded.
const rssMiB = process.memoryUsage().rss / 1024 ** 2;
const perQuery = statements / (NQ + WARM);

// LanceDB: the same rows, IVF_HNSW_SQ (one partition at this size) and scalar indexes, prefilter.
const lanceDir = join(DATA, `overhead-lance-${N}`);
rmSync(lanceDir, { recursive: true, force: true });
const db = await lancedb.connect(lanceDir);
const lt = await db.createTable('items', lancedb.makeArrowTable(rows.map((r, i) => ({ id: i, ...r, created_at: r.created_at.getTime(), vector: Array.from(vecs.subarray(i * DIM, (i + 1) * DIM)) }))), { mode: 'overwrite' });
await lt.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: 16, efConstruction: 128 }) });
if (scalar) {
  await lt.createIndex('rating', { config: lancedb.Index.btree() });
  await lt.createIndex('created_at', { config: lancedb.Index.btree() });
  await lt.createIndex('tags', { config: lancedb.Index.labelList() });
}
// created_at is stored as epoch ms here; the cutoff is computed per query as `now()` is in ours.
const lance = await latencies(async (i) =>
  lt.vectorSearch(q(i)).distanceType('cosine').where(`rating >= 4 AND created_at > ${Date.now() - 7 * DAY} AND NOT array_has(tags, 'unsafe')`).limit(20).select(['id', 'prompt', 'rating', '_distance']).toArray(),
);
await db.close?.();
await ds.close();

const table = [
  { system: 'quiver ds.query', p50: pct(ours, 50), p99: pct(ours, 99) },
  { system: 'lancedb', p50: pct(lance, 50), p99: pct(lance, 99) },
];
console.log('\n| system | p50 ms | p99 ms |\n|---|---|---|');
for (const r of table) console.log(`| ${r.system} | ${f(r.p50)} | ${f(r.p99)} |`);
console.log(`\nratio quiver / lancedb: p50 ${f(table[0].p50 / table[1].p50)}×, p99 ${f(table[0].p99 / table[1].p99)}×`);
console.log(`DuckDB statements per Quiver query: ${f(perQuery)}`);
console.log(`resident memory after Quiver's queries: ${f(rssMiB, 0)} MiB`);
