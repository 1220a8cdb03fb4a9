// One cold run of bench/hybrid.ts, in a fresh process so no cache of the parent helps: opens the
// dataset (or LanceDB table), runs one query of a shape, then `warm` more, and prints one JSON
// line: open and first-query times (client libraries loaded before the clock starts) and the
// resident memory after the warm queries. Invoked by the parent only.
// Usage: node --import tsx bench/lib/hybrid-cold.ts '<ColdRequest as JSON>'

import { readFileSync } from 'node:fs';
import { lanceQuery, quiverQuery, type QuerySet, type ShapeName } from './hybrid-shapes.js';

export interface ColdRequest {
  system: 'quiver' | 'lancedb';
  /** Quiver's dataset folder, or LanceDB's database folder (table `items`). */
  dir: string;
  /** The file the parent wrote the queries to (JSON: dim, base64 vectors, texts). */
  queries: string;
  shape: ShapeName;
  warm: number;
  ef: number;
  /** Where Quiver's src/index.ts lives (another checkout measures the code before a change). */
  quiverEntry?: string;
  /**
   * Quiver only: first run the shape's query without its filter (loading vectors and the vector
   * index), so `firstMs` is the first filtered query alone: what the scalar index costs cold.
   */
  primeUnfiltered?: boolean;
}

export interface ColdResult {
  openMs: number;
  firstMs: number;
  rssMiB: number;
  warmP50Ms: number;
}

const req = JSON.parse(process.argv[2]!) as ColdRequest;
const raw = JSON.parse(readFileSync(req.queries, 'utf8')) as { dim: number; vectors: string; texts: string[] };
const b = Buffer.from(raw.vectors, 'base64');
const qs: QuerySet = { dim: raw.dim, vectors: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), texts: raw.texts };
const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

let result: ColdResult;
if (req.system === 'quiver') {
  const quiver = (await import(req.quiverEntry ?? '../../src/index.js')) as typeof import('../../src/index.js');
  const t0 = performance.now();
  const ds = await quiver.open(req.dir);
  let t1 = performance.now();
  if (req.primeUnfiltered) {
    await ds.query(`select row_id from dataset order by cosine_similarity(prompt_emb, $1) desc limit 20`, [quiverQuery('vector + filter', qs, qs.texts.length - 1).params[0]]);
    t1 = performance.now();
  }
  const first = quiverQuery(req.shape, qs, 0);
  await ds.query(first.sql, first.params);
  const t2 = performance.now();
  const lat: number[] = [];
  for (let i = 1; i <= req.warm; i++) {
    const q = quiverQuery(req.shape, qs, i % qs.texts.length);
    const s = performance.now();
    await ds.query(q.sql, q.params);
    lat.push(performance.now() - s);
  }
  result = { openMs: t1 - t0, firstMs: t2 - t1, rssMiB: process.memoryUsage().rss / 1024 ** 2, warmP50Ms: pct(lat, 50) };
  await ds.close();
} else {
  const lance = await import('@lancedb/lancedb');
  const rrf = await lance.rerankers.RRFReranker.create();
  const t0 = performance.now();
  const db = await lance.connect(req.dir);
  const table = await db.openTable('items');
  const t1 = performance.now();
  await lanceQuery(lance, table, rrf, req.shape, qs, 0, req.ef);
  const t2 = performance.now();
  const lat: number[] = [];
  for (let i = 1; i <= req.warm; i++) {
    const s = performance.now();
    await lanceQuery(lance, table, rrf, req.shape, qs, i % qs.texts.length, req.ef);
    lat.push(performance.now() - s);
  }
  result = { openMs: t1 - t0, firstMs: t2 - t1, rssMiB: process.memoryUsage().rss / 1024 ** 2, warmP50Ms: pct(lat, 50) };
}
console.log(JSON.stringify(result));
