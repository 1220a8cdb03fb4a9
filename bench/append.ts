// Append throughput, side by side in one process: Quiver vs LanceDB (`table.add`) vs plain
// Parquet written by DuckDB, on the same pre-generated image-generation records (one ~50 KB
// PNG, a 1536-d and a 1024-d float32 embedding, prompt, rating, tags, user_id), in batches of
// 1, 100 and 1,000; then `select user_id, avg(rating) … group by user_id` on what each wrote.
// Usage: npx tsx bench/append.ts [--rows 10000] [--quick]

import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as arrow from 'apache-arrow';
import * as lancedb from '@lancedb/lancedb';
import { create, open } from '../src/index.js';
import { Engine, quoteString, type Session } from '../src/query/index.js';
import { arrowSchema, benchRows, inputBytes, quiverSchema, type BenchRecord } from './lib/bench-rows.js';
import { makeImagePool } from './lib/records.js';

const DATA_DIR = resolve('bench/.data/append');
const PROMPT_DIM = 1536;
const IMAGE_DIM = 1024;
const IMAGE_BYTES_TARGET = 50_000;
const QUERY_REPEATS = 5;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Args {
  rows: number;
  /** Batch-of-1 runs stop after this many records: every system pays a commit per record. */
  singleRowsMax: number;
}

function parseArgs(argv: string[]): Args {
  let rows = 10_000;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--rows' && Number.isInteger(Number(argv[i + 1])) && Number(argv[i + 1]) > 0) rows = Number(argv[++i]);
    else throw new Error(`bench: unknown or invalid argument "${argv[i]}" (use --rows N, --quick)`);
  }
  if (quick && !argv.includes('--rows')) rows = 2_000;
  return { rows, singleRowsMax: Math.min(rows, quick ? 200 : 1_000) };
}

const DIMS = { promptDim: PROMPT_DIM, imageDim: IMAGE_DIM };
const SCHEMA = quiverSchema(DIMS);

function batchesOf<T>(items: T[], size: number, limit: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < Math.min(items.length, limit); i += size) out.push(items.slice(i, Math.min(i + size, limit)));
  return out;
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    n += st.isDirectory() ? folderBytes(p) : st.size;
  }
  return n;
}

function freshDir(name: string): string {
  const dir = join(DATA_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---- Arrow (LanceDB's and DuckDB's input) ----------------------------------------------------

const ARROW_SCHEMA = arrowSchema(DIMS);

function binaryData(values: Uint8Array[]): arrow.Data {
  const valueOffsets = new Int32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) valueOffsets[i + 1] = valueOffsets[i] + values[i].length;
  const data = new Uint8Array(valueOffsets[values.length]);
  values.forEach((v, i) => data.set(v, valueOffsets[i]));
  return arrow.makeData({ type: new arrow.Binary(), length: values.length, nullCount: 0, valueOffsets, data });
}

function vectorData(values: Float32Array[], type: arrow.DataType): arrow.Data {
  const fsl = type as arrow.FixedSizeList;
  const flat = new Float32Array(values.length * fsl.listSize);
  values.forEach((v, i) => flat.set(v, i * fsl.listSize));
  const child = arrow.makeData({ type: new arrow.Float32(), length: flat.length, nullCount: 0, data: flat });
  return arrow.makeData({ type: fsl, length: values.length, nullCount: 0, child });
}

/** The batch as one Arrow record batch with fixed-size-list float32 vectors, built column-wise. */
function arrowTable(batch: BenchRecord[]): arrow.Table {
  const f = ARROW_SCHEMA.fields;
  const children = [
    arrow.vectorFromArray(batch.map((r) => r.prompt), f[0].type).data[0],
    binaryData(batch.map((r) => r.image)),
    vectorData(batch.map((r) => r.prompt_emb), f[2].type),
    vectorData(batch.map((r) => r.image_emb), f[3].type),
    arrow.vectorFromArray(batch.map((r) => r.rating), f[4].type).data[0],
    arrow.vectorFromArray(batch.map((r) => r.tags), f[5].type).data[0],
    arrow.vectorFromArray(batch.map((r) => r.user_id), f[6].type).data[0],
  ];
  const data = arrow.makeData({ type: new arrow.Struct(ARROW_SCHEMA.fields), length: batch.length, nullCount: 0, children });
  return new arrow.Table(ARROW_SCHEMA, [new arrow.RecordBatch(ARROW_SCHEMA, data)]);
}

// ---- the three writers ---------------------------------------------------------------------

interface RunResult {
  system: string;
  mode: string;
  batch: number;
  records: number;
  seconds: number;
  /** Where `seconds` went, when the writer has separate steps (e.g. "Arrow build 0.3 s"). */
  breakdown: string;
  dir: string;
  files: number;
  diskBytes: number;
}

async function runQuiver(batches: BenchRecord[][], batch: number, commitEach: boolean): Promise<RunResult> {
  const dir = freshDir(`quiver-${commitEach ? 'commit-each' : 'one-commit'}-b${batch}`);
  rmSync(dir, { recursive: true, force: true });
  const ds = await create(dir, { schema: SCHEMA });
  const t0 = performance.now();
  for (const [i, b] of batches.entries()) {
    await ds.append(b);
    if (commitEach) await ds.commit(`batch ${i}`);
  }
  if (!commitEach) await ds.commit(`${batches.length} batches`);
  const seconds = (performance.now() - t0) / 1000;
  await ds.close();
  return result('Quiver', commitEach ? 'append+commit per batch' : 'append per batch, 1 commit', batches, batch, seconds, '-', dir);
}

async function runLance(batches: BenchRecord[][], batch: number): Promise<RunResult> {
  const dir = freshDir(`lancedb-b${batch}`);
  const db = await lancedb.connect(dir);
  let arrowMs = 0;
  const t0 = performance.now();
  let table: lancedb.Table | undefined;
  for (const b of batches) {
    const ta = performance.now();
    // LanceDB builds its input with its own makeArrowTable (from the same records, to the same
    // schema); handing it a table built column-wise here fails inside LanceDB 0.31's IPC step.
    const data = lancedb.makeArrowTable(b as unknown as Record<string, unknown>[], { schema: ARROW_SCHEMA });
    arrowMs += performance.now() - ta;
    if (!table) table = await db.createTable('gen', data);
    else await table.add(data);
  }
  const seconds = (performance.now() - t0) / 1000;
  table?.close();
  db.close();
  return result('LanceDB', 'createTable, then add per batch', batches, batch, seconds, `Arrow build ${(arrowMs / 1000).toFixed(2)} s`, dir);
}

async function runDuckParquet(session: Session, batches: BenchRecord[][], batch: number): Promise<RunResult> {
  const dir = freshDir(`duckdb-parquet-b${batch}`);
  await session.run('drop table if exists staged');
  const ms = { arrow: 0, insert: 0, copy: 0 };
  const t0 = performance.now();
  for (const [i, b] of batches.entries()) {
    let t = performance.now();
    const data = arrowTable(b);
    ms.arrow += performance.now() - t;
    t = performance.now();
    await session.insertArrow('staged', data, { create: i === 0, temp: true });
    ms.insert += performance.now() - t;
    t = performance.now();
    await session.run(`copy staged to ${quoteString(join(dir, `part-${String(i).padStart(5, '0')}.parquet`))} (format parquet)`);
    await session.run('delete from staged');
    ms.copy += performance.now() - t;
  }
  const seconds = (performance.now() - t0) / 1000;
  await session.run('drop table staged');
  const breakdown = `Arrow build ${(ms.arrow / 1000).toFixed(2)} s, insertArrow ${(ms.insert / 1000).toFixed(2)} s, COPY ${(ms.copy / 1000).toFixed(2)} s`;
  return result('DuckDB→Parquet', 'insertArrow + COPY, 1 file per batch', batches, batch, seconds, breakdown, dir);
}

function countFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}

function result(system: string, mode: string, batches: BenchRecord[][], batch: number, seconds: number, breakdown: string, dir: string): RunResult {
  return { system, mode, batch, records: batches.reduce((n, b) => n + b.length, 0), seconds, breakdown, dir, files: countFiles(dir), diskBytes: folderBytes(dir) };
}

// ---- the query ---------------------------------------------------------------------------

type Averages = Map<string, number>;

interface QueryResult {
  coldMs: number;
  warmMs: number;
  averages: Averages;
  how: string;
}

async function timed(run: () => Promise<Averages>): Promise<{ coldMs: number; warmMs: number; averages: Averages }> {
  let t = performance.now();
  const averages = await run();
  const coldMs = performance.now() - t;
  const warm: number[] = [];
  for (let i = 0; i < QUERY_REPEATS; i++) {
    t = performance.now();
    await run();
    warm.push(performance.now() - t);
  }
  warm.sort((a, b) => a - b);
  return { coldMs, warmMs: warm[Math.floor(warm.length / 2)], averages };
}

const GROUP_SQL = 'select user_id, avg(rating) as avg_rating from dataset group by user_id';

async function queryQuiver(dir: string): Promise<QueryResult> {
  const ds = await open(dir);
  try {
    const r = await timed(async () => new Map((await ds.query(GROUP_SQL)).map((row) => [row.user_id as string, row.avg_rating as number])));
    return { ...r, how: 'ds.query (DuckDB SQL over its Parquet)' };
  } finally {
    await ds.close();
  }
}

async function queryLance(dir: string): Promise<QueryResult> {
  const db = await lancedb.connect(dir);
  const table = await db.openTable('gen');
  try {
    const r = await timed(async () => {
      const t = await table.query().select(['user_id', 'rating']).toArrow();
      const users = t.getChild('user_id')!;
      const ratings = t.getChild('rating')!;
      const sums = new Map<string, [number, number]>();
      for (let i = 0; i < t.numRows; i++) {
        const rating = ratings.get(i) as number | null;
        const s = sums.get(users.get(i)) ?? [0, 0];
        if (rating !== null) {
          s[0] += rating;
          s[1]++;
        }
        sums.set(users.get(i), s);
      }
      return new Map([...sums].map(([u, [sum, n]]) => [u, n ? sum / n : NaN]));
    });
    return { ...r, how: 'query().select().toArrow() + JS group-by (no SQL aggregation in its JS API)' };
  } finally {
    table.close();
    db.close();
  }
}

async function queryDuck(session: Session, dir: string): Promise<QueryResult> {
  const sql = `select user_id, avg(rating) as avg_rating from read_parquet(${quoteString(join(dir, '*.parquet'))}) group by user_id`;
  const r = await timed(async () => new Map((await session.all(sql)).rows.map((row) => [row.user_id as string, row.avg_rating as number])));
  return { ...r, how: 'DuckDB SQL over read_parquet(*.parquet)' };
}

function expectedAverages(records: BenchRecord[]): Averages {
  const sums = new Map<string, [number, number]>();
  for (const r of records) {
    const s = sums.get(r.user_id) ?? [0, 0];
    if (r.rating !== null) {
      s[0] += r.rating;
      s[1]++;
    }
    sums.set(r.user_id, s);
  }
  return new Map([...sums].map(([u, [sum, n]]) => [u, n ? sum / n : NaN]));
}

function sameAverages(a: Averages, b: Averages): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || (v === null || Number.isNaN(v) ? !(w === null || Number.isNaN(w)) : Math.abs(v - (w as number)) > 1e-9)) return false;
  }
  return true;
}

// ---- output ------------------------------------------------------------------------------

function markdownTable(rows: Record<string, string | number>[]): string {
  const names = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v);
  const widths = names.map((n) => Math.max(n.length, ...rows.map((r) => String(cell(r[n])).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(names), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(names.map((n) => String(cell(r[n])))))].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const pool = await makeImagePool({ seed: 7, size: 128, targetBytes: IMAGE_BYTES_TARGET });
  const records = benchRows(args.rows, DIMS, pool);
  const bytesPerRecord = records.reduce((n, r) => n + inputBytes(r), 0) / records.length;
  console.log(`bench/append: ${args.rows.toLocaleString('en-US')} records, ${(bytesPerRecord / 1e3).toFixed(1)} KB each (PNG ~${(pool.meanBytes / 1e3).toFixed(1)} KB + ${PROMPT_DIM}+${IMAGE_DIM} float32), pre-generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`batch-of-1 runs are capped at ${args.singleRowsMax.toLocaleString('en-US')} records (each is a commit per record for every system)\n`);

  const engine = await Engine.create();
  const session = await engine.session();
  const runs: RunResult[] = [];
  for (const batch of [1, 100, 1000]) {
    const batches = batchesOf(records, batch, batch === 1 ? args.singleRowsMax : records.length);
    for (const run of [() => runQuiver(batches, batch, true), () => runQuiver(batches, batch, false), () => runLance(batches, batch), () => runDuckParquet(session, batches, batch)]) {
      gc();
      const r = await run();
      runs.push(r);
      console.error(`  ${r.system} (${r.mode}) batch ${batch}: ${r.seconds.toFixed(2)} s`);
    }
  }

  const mbps = (r: RunResult) => (r.records * bytesPerRecord) / 1e6 / r.seconds;
  console.log(
    markdownTable(
      runs.map((r) => ({
        batch: r.batch,
        system: r.system,
        mode: r.mode,
        records: r.records,
        seconds: r.seconds,
        'records/s': Math.round(r.records / r.seconds),
        'MB/s': mbps(r),
        files: r.files,
        'disk MB': r.diskBytes / 1e6,
        'time spent in': r.breakdown,
      })),
    ),
  );

  console.log('\nRatios of throughput (records/s; > 1 means Quiver is faster):');
  const ratioRows = [1, 100, 1000].map((batch) => {
    const find = (system: string, mode?: string) => runs.find((r) => r.batch === batch && r.system === system && (!mode || r.mode === mode))!;
    const qEach = find('Quiver', 'append+commit per batch');
    const qOne = find('Quiver', 'append per batch, 1 commit');
    const lance = find('LanceDB');
    const duck = find('DuckDB→Parquet');
    const rate = (r: RunResult) => r.records / r.seconds;
    return {
      batch,
      'Quiver (commit/batch) ÷ LanceDB': rate(qEach) / rate(lance),
      'Quiver (1 commit) ÷ LanceDB': rate(qOne) / rate(lance),
      'Quiver (commit/batch) ÷ DuckDB': rate(qEach) / rate(duck),
      'Quiver (1 commit) ÷ DuckDB': rate(qOne) / rate(duck),
    };
  });
  console.log(markdownTable(ratioRows));

  console.log(`\nQuery: select user_id, avg(rating) … group by user_id (cold = first run on a fresh handle, warm = median of ${QUERY_REPEATS})`);
  const queryRows: Record<string, string | number>[] = [];
  for (const r of runs.filter((x) => x.mode !== 'append per batch, 1 commit')) {
    const expected = expectedAverages(records.slice(0, r.records));
    gc();
    const q = r.system === 'Quiver' ? await queryQuiver(r.dir) : r.system === 'LanceDB' ? await queryLance(r.dir) : await queryDuck(session, r.dir);
    queryRows.push({ written_in_batches_of: r.batch, system: r.system, rows: r.records, files: r.files, 'cold ms': q.coldMs, 'warm ms': q.warmMs, correct: sameAverages(expected, q.averages) ? 'yes' : 'NO', how: q.how });
  }
  console.log(markdownTable(queryRows));
  session.close();
  engine.close();
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
