// Persisted fulltext segments vs the in-memory build, with SQLite FTS5 side by side: the first
// BM25 query of a fresh process, and the first BM25 query of a new version (one appended
// fragment, some deletes) in a warm process. "before" is a dataset with no fulltext index
// declared (BM25 statistics built in memory from the whole text column, as before segments);
// "after" declares one (segments per fragment, combined per version).
// Usage: flock /tmp/quiver-bench.lock npx tsx bench/fts-segments.ts [--rows=100000] [--large]
// (--large = 1,000,000 rows). Prints a table with ratios.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { create, open, type Dataset } from '../src/index.js';
import { prompts, textQueries } from './lib/datagen.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
// The top-k shape (the fast plan); a tie-break on row_id would send it down the exact SQL path.
const SQL = (q: string) => `select row_id, bm25(prompt, '${q}') as s from dataset order by s desc limit 10`;

const VOCAB = 5000;
const queries = textQueries(20, 4, VOCAB);
/** The query every first-query figure uses (a seeded 1–3 word query over the same vocabulary). */
const QUERY = queries[0];

/** Child mode: open the dataset, run one BM25 query, print the time from open to result. */
if (arg('child')) {
  const dir = arg('child')!;
  const t0 = performance.now();
  const ds = await open(dir);
  const rows = await ds.query(SQL(QUERY));
  const ms = performance.now() - t0;
  await ds.close();
  process.stdout.write(JSON.stringify({ ms, rows: rows.length }) + '\n');
  process.exit(0);
}

const N = arg('rows') ? Number(arg('rows')) : process.argv.includes('--large') ? 1_000_000 : 100_000;
const FRAGMENT_ROWS = Math.min(100_000, Math.ceil(N / 10));
const NEW_ROWS = 1_000;
const docs = prompts(N + NEW_ROWS, 3, VOCAB);

function fresh(dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fts-segments.ts', `--child=${dir}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out).ms) : reject(new Error(`child exited ${code}`))));
  });
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

async function dataset(dir: string, indexed: boolean): Promise<{ ds: Dataset; indexMs: number }> {
  const ds = await create(dir, { schema: { prompt: 'text' } });
  for (let at = 0; at < N; at += FRAGMENT_ROWS) {
    await ds.append(docs.slice(at, Math.min(N, at + FRAGMENT_ROWS)).map((prompt) => ({ prompt })));
    await ds.commit(`rows ${at}`);
  }
  const [indexMs] = indexed ? await timed(() => ds.createIndex('prompt', { kind: 'fulltext' })) : [0];
  return { ds, indexMs };
}

/** A new version (NEW_ROWS appended, 1 % of rows deleted) and its first BM25 query, warm process. */
async function newVersion(ds: Dataset): Promise<number> {
  await ds.query(SQL(QUERY));
  await ds.append(docs.slice(N, N + NEW_ROWS).map((prompt) => ({ prompt })));
  await ds.delete({ where: 'row_id % 100 = 7' });
  await ds.commit('new version');
  const [ms] = await timed(() => ds.query(SQL(QUERY)));
  return ms;
}

/** Warm p50 over the queries. */
async function warm(ds: Dataset): Promise<number> {
  const t: number[] = [];
  for (const q of queries) t.push((await timed(() => ds.query(SQL(q))))[0]);
  return t.sort((a, b) => a - b)[t.length >> 1];
}

function fts5(): { buildMs: number; firstMs: number; warmMs: number; newVersionMs: number } {
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 1')`);
  const ins = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
  let t = performance.now();
  db.transaction(() => docs.slice(0, N).forEach((d, i) => ins.run(i, d)))();
  const buildMs = performance.now() - t;
  const st = db.prepare('SELECT rowid, bm25(t) AS s FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10');
  const or = (q: string) => q.split(/\s+/).map((w) => `"${w}"`).join(' OR ');
  t = performance.now();
  st.all(or(QUERY));
  const firstMs = performance.now() - t;
  const w: number[] = [];
  for (const q of queries) {
    const s = performance.now();
    st.all(or(q));
    w.push(performance.now() - s);
  }
  t = performance.now();
  db.transaction(() => {
    docs.slice(N, N + NEW_ROWS).forEach((d, i) => ins.run(N + i, d));
    db.prepare('DELETE FROM t WHERE rowid % 100 = 7').run();
  })();
  st.all(or(QUERY));
  const newVersionMs = performance.now() - t;
  db.close();
  return { buildMs, firstMs, warmMs: w.sort((a, b) => a - b)[w.length >> 1], newVersionMs };
}

const root = mkdtempSync(join(tmpdir(), 'quiver-fts-bench-'));
try {
  console.log(`fts-segments: ${N.toLocaleString()} rows in fragments of ${FRAGMENT_ROWS.toLocaleString()}, vocabulary ${VOCAB}, query '${QUERY}' (OR top 10); load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const out: Record<string, { build: number; first: number; warm: number; newVersion: number }> = {};
  for (const [name, indexed] of [['before (in-memory build)', false], ['after (segments)', true]] as const) {
    const dir = join(root, indexed ? 'segments' : 'memory');
    const { ds, indexMs } = await dataset(dir, indexed);
    await ds.close();
    const first = await fresh(dir);
    const again = await open(dir);
    const nv = await newVersion(again);
    const w = await warm(again);
    await again.close();
    out[name] = { build: indexMs, first, warm: w, newVersion: nv };
  }
  const f = fts5();
  out['SQLite FTS5 (in memory)'] = { build: f.buildMs, first: f.firstMs, warm: f.warmMs, newVersion: f.newVersionMs };
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)).padStart(9);
  console.log(`${'system'.padEnd(26)} ${'index ms'.padStart(9)} ${'fresh 1st'.padStart(9)} ${'warm p50'.padStart(9)} ${'new ver.'.padStart(9)}`);
  for (const [name, r] of Object.entries(out)) console.log(`${name.padEnd(26)} ${fmt(r.build)} ${fmt(r.first)} ${fmt(r.warm)} ${fmt(r.newVersion)}`);
  const b = out['before (in-memory build)'];
  const a = out['after (segments)'];
  console.log(`after / before: fresh first query ${(a.first / b.first).toFixed(3)}, new version ${(a.newVersion / b.newVersion).toFixed(3)}; after / FTS5: warm ${(a.warm / f.warmMs).toFixed(2)}, new version ${(a.newVersion / f.newVersionMs).toFixed(2)}`);
  console.log('fresh 1st = open + first query in a new process (ms); new ver. = first query after appending 1,000 rows and deleting 1 % (warm process; FTS5: the insert, delete and query).');
} finally {
  rmSync(root, { recursive: true, force: true });
}
