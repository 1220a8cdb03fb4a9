// Search-kernel benchmark: our int8-HNSW/planner vector index and BM25 index side by side with
// the peers a user would pick instead (raw usearch HNSW and exactSearch, LanceDB IVF_HNSW_SQ with
// prefilter and its FTS, SQLite FTS5, DuckDB exact array_cosine_similarity), on seeded data.
// Run: npx tsx bench/search.ts [--quick | --large] [--kinds=clustered,low-rank,isotropic] [--queries=N]
// A benchmark, never a test: it prints absolute figures and ratios (ours / peer), never asserts.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { ARRAY, DuckDBDataChunk, DuckDBInstance, FLOAT, INTEGER, arrayValue } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import usearch from 'usearch';
import { Bitmap, FullTextIndex, VectorIndex, exactSearch } from '../src/index/index.js';
import { ints, prompts, queriesNear, textQueries, vectors, type VectorKind } from './lib/datagen.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = flag('quick') ? 20_000 : flag('large') ? 1_000_000 : 100_000;
const DIM = 768;
const NQ = Number(opt('queries', flag('quick') ? '50' : '100'));
const KINDS = opt('kinds', 'clustered,low-rank,isotropic').split(',') as VectorKind[];
const DATA = join(process.cwd(), 'bench/.data');
// Selectivity is a predicate on `day` (uniform 0..999): day < 1 keeps 0.1 %, day < 1000 all.
const SELECTIVITIES: [string, number][] = [['0.1%', 1], ['1%', 10], ['10%', 100], ['50%', 500], ['100%', 1000]];

type Row = Record<string, string | number>;
const table: Row[] = [];
const log = (...a: unknown[]) => console.log(...a);
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}
async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

function recallAt10(got: ArrayLike<number>, truth: ArrayLike<number>): number {
  const t = new Set(Array.from(truth));
  let hit = 0;
  for (let i = 0; i < got.length; i++) if (t.has(Number(got[i]))) hit++;
  return truth.length === 0 ? 1 : hit / truth.length;
}

function filterFor(days: Int32Array, below: number): Bitmap | undefined {
  if (below >= 1000) return undefined;
  const b = new Bitmap(days.length);
  for (let i = 0; i < days.length; i++) if (days[i] < below) b.set(i);
  return b;
}

/** Runs `fn` for every query once (up to 200) to warm up the JIT and caches, then times a second pass. */
function measure(nq: number, fn: (i: number) => ArrayLike<number>, truth: (i: number) => ArrayLike<number>) {
  for (let i = 0; i < Math.min(nq, 200); i++) fn(i);
  let r = 0;
  const t = performance.now();
  for (let i = 0; i < nq; i++) r += recallAt10(fn(i), truth(i));
  const ms = (performance.now() - t) / nq;
  return { qps: 1000 / ms, recall: r / nq };
}
async function measureAsync(nq: number, fn: (i: number) => Promise<ArrayLike<number>>, truth: (i: number) => ArrayLike<number>) {
  for (let i = 0; i < Math.min(nq, 20); i++) await fn(i);
  let r = 0;
  const t = performance.now();
  for (let i = 0; i < nq; i++) r += recallAt10(await fn(i), truth(i));
  const ms = (performance.now() - t) / nq;
  return { qps: 1000 / ms, recall: r / nq };
}

async function benchKind(kind: VectorKind, days: Int32Array, ratings: Int32Array, texts: string[]) {
  log(`\n## ${kind}: ${N} × ${DIM}, ${NQ} queries`);
  const [data, genMs] = time(() => vectors(kind, N, DIM, 1));
  const queries = queriesNear(data, DIM, NQ, 2);
  const q = (i: number) => queries.slice(i * DIM, (i + 1) * DIM);
  log(`generated in ${fmt(genMs / 1000, 1)} s`);

  // Ground truth: exact top-10 per query and selectivity (2 threads: it is not what we time).
  const filters = SELECTIVITIES.map(([, below]) => filterFor(days, below));
  const truth = filters.map((f) => Array.from({ length: NQ }, (_, i) => exactSearch(data, DIM, q(i), 10, { candidates: f, threads: 2 }).ordinals));

  // Ours.
  const [ours, oursBuildMs] = time(() => VectorIndex.build(data, DIM, { metric: 'cosine' }));
  log(`ours build ${fmt(oursBuildMs / 1000, 1)} s`);
  const oursRes = SELECTIVITIES.map((_, s) => {
    const m = measure(NQ, (i) => ours.search(q(i), 10, { filter: filters[s] }).ordinals, (i) => truth[s][i]);
    return { ...m, plan: ours.search(q(0), 10, { filter: filters[s] }).plan.strategy };
  });

  // Raw usearch: f32 HNSW with the same graph parameters; ef emulated by asking for more.
  const raw = new usearch.Index({ dimensions: DIM, metric: 'cos' as never, quantization: 'f32' as never, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
  const keys = new BigUint64Array(N).map((_, i) => BigInt(i));
  const [, rawBuildMs] = time(() => raw.add(keys, data, 0));
  log(`usearch build ${fmt(rawBuildMs / 1000, 1)} s`);
  const rawHnsw = [64, 128].map((ef) => ({ ef, ...measure(NQ, (i) => Array.from(raw.search(q(i), ef, 1).keys.slice(0, 10), Number), (i) => truth[4][i]) }));
  const rawExact = measure(Math.min(NQ, 30), (i) => Array.from((usearch.exactSearch(data, q(i), DIM, 10, 'cos' as never, 1) as { keys: BigUint64Array }).keys, Number), (i) => truth[4][i]);

  // LanceDB: IVF_HNSW_SQ (one partition, same M and efConstruction) plus a btree on day for its prefilter.
  const lanceDir = join(DATA, `lance-${kind}-${N}`);
  rmSync(lanceDir, { recursive: true, force: true });
  const db = await lancedb.connect(lanceDir);
  // Built with LanceDB's own makeArrowTable, in chunks: LanceDB 0.31 rejects a FixedSizeList
  // column built column-wise with apache-arrow 18 ("schemas must be equivalent").
  const CHUNK = 10_000;
  const rowsOf = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, j) => {
      const i = from + j;
      return { id: i, day: days[i], rating: ratings[i], vector: Array.from(data.subarray(i * DIM, (i + 1) * DIM)) };
    });
  const lt = await db.createTable('items', lancedb.makeArrowTable(rowsOf(0, Math.min(N, CHUNK))), { mode: 'overwrite' });
  for (let from = CHUNK; from < N; from += CHUNK) await lt.add(lancedb.makeArrowTable(rowsOf(from, Math.min(N, from + CHUNK))));
  const [, lanceBuildMs] = await timeAsync(() => lt.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: 16, efConstruction: 128 }) }));
  await lt.createIndex('day', { config: lancedb.Index.btree() });
  log(`lancedb build ${fmt(lanceBuildMs / 1000, 1)} s`);
  const lanceRes = [] as { ef: number; qps: number; recall: number }[][];
  for (const ef of [64, 128]) {
    const row = [];
    for (let s = 0; s < SELECTIVITIES.length; s++) {
      const below = SELECTIVITIES[s][1];
      const m = await measureAsync(NQ, async (i) => {
        let vq = lt.vectorSearch(q(i)).limit(10).ef(ef).select(['id']);
        if (below < 1000) vq = vq.where(`day < ${below}`);
        return (await vq.toArray()).map((r) => r.id as number);
      }, (i) => truth[s][i]);
      row.push({ ef, ...m });
    }
    lanceRes.push(row);
  }
  await db.close?.();

  // DuckDB: exact array_cosine_similarity on a native table, one thread.
  const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await duck.connect();
  await con.run(`CREATE TABLE items (id INTEGER, day INTEGER, vec FLOAT[${DIM}])`);
  const app = await con.createAppender('items');
  const [, duckLoadMs] = time(() => {
    for (let start = 0; start < N; start += 2048) {
      const m = Math.min(2048, N - start);
      const chunk = DuckDBDataChunk.create([INTEGER, INTEGER, ARRAY(FLOAT, DIM)], m);
      chunk.setColumnValues(0, Array.from({ length: m }, (_, i) => start + i));
      chunk.setColumnValues(1, Array.from(days.subarray(start, start + m)));
      chunk.setColumnValues(2, Array.from({ length: m }, (_, i) => arrayValue(Array.from(data.subarray((start + i) * DIM, (start + i + 1) * DIM)))));
      app.appendDataChunk(chunk);
    }
    app.flushSync();
  });
  app.closeSync();
  log(`duckdb load ${fmt(duckLoadMs / 1000, 1)} s`);
  const duckQ = Math.min(NQ, 20);
  const duckRes: { qps: number; recall: number }[] = [];
  for (let s = 0; s < SELECTIVITIES.length; s++) {
    const below = SELECTIVITIES[s][1];
    duckRes.push(await measureAsync(duckQ, async (i) => {
      const lit = `[${Array.from(q(i)).join(',')}]::FLOAT[${DIM}]`;
      const where = below < 1000 ? `WHERE day < ${below}` : '';
      const r = await con.runAndReadAll(`SELECT id FROM items ${where} ORDER BY array_cosine_similarity(vec, ${lit}) DESC, id LIMIT 10`);
      return r.getRows().map((x) => Number(x[0]));
    }, (i) => truth[s][i]));
  }
  con.closeSync?.();

  // Report.
  log(`\n| selectivity | ours plan | ours qps | ours recall | LanceDB ef64 qps / recall | LanceDB ef128 qps / recall | DuckDB exact qps | ours / LanceDB (best ≥0.95) |`);
  log(`|---|---|---|---|---|---|---|---|`);
  SELECTIVITIES.forEach(([label], s) => {
    const o = oursRes[s];
    const l = lanceRes.map((row) => row[s]);
    const ok = l.filter((x) => x.recall >= 0.95);
    const peer = ok.length ? Math.max(...ok.map((x) => x.qps)) : NaN;
    log(`| ${label} | ${o.plan} | ${fmt(o.qps, 0)} | ${fmt(o.recall, 3)} | ${fmt(l[0].qps, 0)} / ${fmt(l[0].recall, 3)} | ${fmt(l[1].qps, 0)} / ${fmt(l[1].recall, 3)} | ${fmt(duckRes[s].qps, 1)} | ${fmt(o.qps / peer)}× |`);
    table.push({ kind, sel: label, plan: o.plan, oursQps: o.qps, oursRecall: o.recall, lanceQps: peer, lanceRecall: ok.length ? ok[ok.indexOf(ok.reduce((a, b) => (a.qps > b.qps ? a : b)))].recall : NaN, duckQps: duckRes[s].qps });
  });
  const rawOk = rawHnsw.filter((x) => x.recall >= 0.95);
  const rawBest = rawOk.length ? rawOk.reduce((a, b) => (a.qps > b.qps ? a : b)) : rawHnsw[rawHnsw.length - 1];
  log(`\nunfiltered: ours ${fmt(oursRes[4].qps, 0)} qps @ ${fmt(oursRes[4].recall, 3)} | usearch HNSW f32 ${rawHnsw.map((x) => `ef${x.ef} ${fmt(x.qps, 0)} qps @ ${fmt(x.recall, 3)}`).join(', ')} | usearch exactSearch ${fmt(rawExact.qps, 1)} qps`);
  log(`ratios: ours/usearch-HNSW (ef${rawBest.ef}) ${fmt(oursRes[4].qps / rawBest.qps)}×, ours/exactSearch ${fmt(oursRes[4].qps / rawExact.qps, 1)}×`);
  log(`build: ours ${fmt(oursBuildMs / 1000, 1)} s, usearch ${fmt(rawBuildMs / 1000, 1)} s, LanceDB ${fmt(lanceBuildMs / 1000, 1)} s; ours/usearch ${fmt(oursBuildMs / rawBuildMs)}×, ours/LanceDB ${fmt(oursBuildMs / lanceBuildMs)}×`);
  summary.push({ kind, oursBuildS: oursBuildMs / 1000, usearchBuildS: rawBuildMs / 1000, lanceBuildS: lanceBuildMs / 1000, oursQps: oursRes[4].qps, oursRecall: oursRes[4].recall, rawQps: rawBest.qps, rawRecall: rawBest.recall, rawEf: rawBest.ef, exactQps: rawExact.qps });
  rmSync(lanceDir, { recursive: true, force: true });
}

const summary: { kind: string; oursBuildS: number; usearchBuildS: number; lanceBuildS: number; oursQps: number; oursRecall: number; rawQps: number; rawRecall: number; rawEf: number; exactQps: number }[] = [];

async function benchText(texts: string[]) {
  log(`\n## BM25: ${N} prompts (Zipfian vocabulary), ${NQ * 5} queries of 1–3 words`);
  const qs = textQueries(NQ * 5, 4);
  const [fts, oursBuildMs] = time(() => FullTextIndex.build(texts));
  const sq = new Database(':memory:');
  const [, ftsBuildMs] = time(() => {
    sq.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 1')`);
    const ins = sq.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
    sq.transaction(() => texts.forEach((d, i) => ins.run(i, d)))();
  });
  const quoted = (s: string, j: string) => s.split(/\s+/).map((w) => `"${w}"`).join(j);
  const st = sq.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10');
  const out: Record<string, { qps: number; agree: number }> = {};
  for (const mode of ['and', 'or'] as const) {
    const theirs = qs.map((x) => (st.all(quoted(x, mode === 'and' ? ' ' : ' OR ')) as { rowid: number }[]).map((r) => r.rowid));
    out[`fts5-${mode}`] = (({ qps, recall }) => ({ qps, agree: recall }))(measure(qs.length, (i) => (st.all(quoted(qs[i], mode === 'and' ? ' ' : ' OR ')) as { rowid: number }[]).map((r) => r.rowid), (i) => theirs[i]));
    out[`ours-${mode}`] = (({ qps, recall }) => ({ qps, agree: recall }))(measure(qs.length, (i) => fts.search(qs[i], 10, { mode }).ordinals, (i) => theirs[i]));
  }
  // LanceDB FTS (BM25, any term matches: compared with OR).
  const dir = join(DATA, `lance-fts-${N}`);
  rmSync(dir, { recursive: true, force: true });
  const db = await lancedb.connect(dir);
  const lt = await db.createTable('t', lancedb.makeArrowTable(texts.map((prompt, id) => ({ id, prompt }))), { mode: 'overwrite' });
  const [, lanceBuildMs] = await timeAsync(() => lt.createIndex('prompt', { config: lancedb.Index.fts() }));
  const theirsOr = qs.map((x) => (st.all(quoted(x, ' OR ')) as { rowid: number }[]).map((r) => r.rowid));
  const lance = await measureAsync(qs.length, async (i) => (await lt.query().fullTextSearch(qs[i]).limit(10).select(['id', '_score']).toArray()).map((r) => r.id as number), (i) => theirsOr[i]);
  rmSync(dir, { recursive: true, force: true });
  log(`build: ours ${fmt(oursBuildMs / 1000, 2)} s, FTS5 ${fmt(ftsBuildMs / 1000, 2)} s, LanceDB FTS ${fmt(lanceBuildMs / 1000, 2)} s`);
  log(`| query | ours qps | FTS5 qps | ours / FTS5 | top-10 agreement with FTS5 | LanceDB FTS qps | ours / LanceDB |`);
  log(`|---|---|---|---|---|---|---|`);
  log(`| AND (implicit) | ${fmt(out['ours-and'].qps, 0)} | ${fmt(out['fts5-and'].qps, 0)} | ${fmt(out['ours-and'].qps / out['fts5-and'].qps, 1)}× | ${fmt(out['ours-and'].agree, 3)} | — | — |`);
  log(`| OR | ${fmt(out['ours-or'].qps, 0)} | ${fmt(out['fts5-or'].qps, 0)} | ${fmt(out['ours-or'].qps / out['fts5-or'].qps, 1)}× | ${fmt(out['ours-or'].agree, 3)} | ${fmt(lance.qps, 0)} (agreement ${fmt(lance.recall, 2)}) | ${fmt(out['ours-or'].qps / lance.qps, 1)}× |`);
  return { oursAnd: out['ours-and'].qps, fts5And: out['fts5-and'].qps, oursOr: out['ours-or'].qps, fts5Or: out['fts5-or'].qps, lance: lance.qps };
}

async function main() {
  mkdirSync(DATA, { recursive: true });
  log(`# search kernels: ${N} rows × ${DIM}, single-thread queries (build: all cores), node ${process.version}`);
  const days = ints(N, 0, 999, 5);
  const ratings = ints(N, 1, 5, 6);
  const texts = prompts(N, 3);
  for (const kind of KINDS) await benchKind(kind, days, ratings, texts);
  const text = await benchText(texts);
  log(`\n## Summary (recall@10 vs exact; qps = queries/s, one query at a time)\n`);
  log(`| data | selectivity | ours plan | ours qps @ recall | LanceDB prefilter qps @ recall | ours / LanceDB | DuckDB exact qps | ours / DuckDB |`);
  log(`|---|---|---|---|---|---|---|---|`);
  for (const r of table) {
    log(`| ${r.kind} | ${r.sel} | ${r.plan} | ${fmt(r.oursQps as number, 0)} @ ${fmt(r.oursRecall as number, 3)} | ${fmt(r.lanceQps as number, 0)} @ ${fmt(r.lanceRecall as number, 3)} | ${fmt((r.oursQps as number) / (r.lanceQps as number))}× | ${fmt(r.duckQps as number, 1)} | ${fmt((r.oursQps as number) / (r.duckQps as number), 0)}× |`);
  }
  log(`\n| data | ours build s | usearch build s | LanceDB build s | ours unfiltered qps @ recall | usearch HNSW qps @ recall | ours / usearch | usearch exactSearch qps |`);
  log(`|---|---|---|---|---|---|---|---|`);
  for (const s of summary) {
    log(`| ${s.kind} | ${fmt(s.oursBuildS, 1)} | ${fmt(s.usearchBuildS, 1)} | ${fmt(s.lanceBuildS, 1)} | ${fmt(s.oursQps, 0)} @ ${fmt(s.oursRecall, 3)} | ${fmt(s.rawQps, 0)} @ ${fmt(s.rawRecall, 3)} (ef ${s.rawEf}) | ${fmt(s.oursQps / s.rawQps)}× | ${fmt(s.exactQps, 1)} |`);
  }
  log(`\n| BM25 | ours qps | FTS5 qps | ours / FTS5 | LanceDB FTS qps | ours / LanceDB |`);
  log(`|---|---|---|---|---|---|`);
  log(`| AND | ${fmt(text.oursAnd, 0)} | ${fmt(text.fts5And, 0)} | ${fmt(text.oursAnd / text.fts5And, 1)}× | — | — |`);
  log(`| OR | ${fmt(text.oursOr, 0)} | ${fmt(text.fts5Or, 0)} | ${fmt(text.oursOr / text.fts5Or, 1)}× | ${fmt(text.lance, 0)} | ${fmt(text.oursOr / text.lance, 1)}× |`);
}

await main();
