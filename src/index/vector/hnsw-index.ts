// The ANN vector index: an int8-quantized usearch HNSW graph whose picks are re-ranked with the
// float32 originals, plus the int8 codes kept flat for filtered scans. One object answers every
// strategy the planner can choose, so a filtered search never returns fewer than it should.
// Invariant: vectors, codes and graph always hold the same `vectorCount` vectors, keyed by
// vector ordinal; rows (max-sim) map onto contiguous vector ranges.

import { QuiverError } from '../../errors.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import usearch from './usearch.js';
import { Bitmap } from '../bitmap.js';
import { decodeContainer, encodeContainer, f32Of, i8Of, u32Of } from '../codec.js';
import { type Metric, type SearchResult, MetricTopK, checkK, checkMetric, checkQuery, scoreOf, usearchMetric } from './metric.js';
import { type VectorPlan, type VectorStrategy, planVectorSearch, rerankPool } from './planner.js';
import { type Quantizer, codeDim, codeUsearchMetric, encodeQuery, encodeRows, fitQuantizer } from './quantize.js';
import { type RowMap, checkRowMap, rowOfVector, vectorsPerRowMax } from './row-map.js';
import { scan } from './scan.js';

/** Options for {@link VectorIndex.build}. */
export interface VectorIndexOptions {
  /** Metric; scores are in its SQL units. Default `'cosine'`. */
  metric?: Metric;
  /** HNSW edges per node (M). Default 16. */
  connectivity?: number;
  /** HNSW candidate list size while inserting (efConstruction). Default 128. */
  expansionAdd?: number;
  /** Default graph search depth (ef); a search may ask for more. Default 64 (128 for ip, whose lifted
   * vectors crowd together on the sphere and need a deeper search for recall ≥ 0.95). */
  ef?: number;
  /** Graph or scan picks re-ranked in float32 per wanted row. Default 4 for cosine, 8 for l2 and ip,
   * whose int8 order is noisier (measured: recall@10 0.93 → 0.97 at 50 % selectivity). */
  rerankFactor?: number;
  /** Threads for building the graph; 0 means all cores. Default 0. */
  buildThreads?: number;
  /** Vectors inserted per graph batch (progress is reported between batches). Default 16384. */
  buildBatchVectors?: number;
  /** Multi-vector rows: a row is scored by its best vector. Default: one vector per row. */
  rows?: RowMap;
  /** Bound on the scan scratch buffer. Default 64 MiB. */
  scratchBytesMax?: number;
}

/** Options for {@link VectorIndex.search}. */
export interface VectorSearchOptions {
  /** Rows that may be returned (filter and live rows). Default: all rows. */
  filter?: Bitmap;
  /** Graph search depth for this query. Default: the index's `ef`. */
  ef?: number;
  /** Threads for this query. Default 1. */
  threads?: number;
  /** Run this plan instead of asking the planner (for tests and benchmarks). */
  plan?: VectorPlan;
  /** How many of the k results must be in exact order (default k); see {@link VectorPlanInput.exactTop}. */
  exactTop?: number;
}

export interface VectorSearchResult extends SearchResult {
  /** The plan chosen before running. */
  plan: VectorPlan;
  /** The strategy that produced the result (differs from the plan's after a fallback). */
  strategy: VectorStrategy;
}

export type BuildProgress = (p: { phase: 'quantize' | 'graph'; done: number; total: number }) => void;

type GraphIndex = InstanceType<typeof usearch.Index>;
type Resolved = Required<Omit<VectorIndexOptions, 'rows'>>;
// 2: l2 codes centred with a robust scale, ip lift with a robust M (quantize.ts).
const FORMAT_VERSION = 2;
/** Graph recall below which search scans instead. */
export const RECALL_MIN = 0.95;
/** Rows below which the graph is not calibrated (scans are cheap there anyway). */
const CALIBRATE_ROWS_MIN = 1000;
/** Rows below which the int8 codes are not calibrated: the planner reads them all exactly. */
const CODES_CALIBRATE_ROWS_MIN = 64;
/** Largest widening of the re-rank pool that calibration tries for codes that rank poorly. */
const RERANK_WIDEN_MAX = 8;
const CALIBRATE_QUERIES = 64;
/**
 * The recall calibration asks of the graph on its probe queries: above RECALL_MIN, because the
 * probe is a sample (a measured 0.966 once gave 0.927 on other queries).
 */
const CALIBRATE_TARGET = 0.98;
const MAGIC = 'QVEC';

function resolve(o: VectorIndexOptions): Resolved {
  const metric = checkMetric(o.metric ?? 'cosine');
  return {
    metric,
    connectivity: o.connectivity ?? 16,
    expansionAdd: o.expansionAdd ?? 128,
    ef: o.ef ?? (metric === 'ip' ? 128 : 64),
    rerankFactor: o.rerankFactor ?? (metric === 'cosine' ? 4 : 8),
    buildThreads: o.buildThreads ?? 0,
    buildBatchVectors: o.buildBatchVectors ?? 16384,
    scratchBytesMax: o.scratchBytesMax ?? 64 * 1024 * 1024,
  };
}

function newGraph(dim: number, o: Resolved): GraphIndex {
  return new usearch.Index({
    dimensions: codeDim(o.metric, dim),
    metric: codeUsearchMetric(o.metric) as never,
    quantization: 'i8' as never,
    connectivity: o.connectivity,
    expansion_add: o.expansionAdd,
    expansion_search: o.ef,
    multi: false,
  });
}

/**
 * Approximate (and, for small filters, exact) top-k over rows, with any filter.
 *
 * @example
 * const index = VectorIndex.build(vectors, 768, { metric: 'cosine' });
 * const { ordinals, scores } = index.search(query, 10, { filter });
 */
export class VectorIndex {
  readonly dim: number;
  /** The resolved options; calibration may raise `rerankFactor` (see calibrateCodes). */
  options: Resolved;
  private vecs: Float32Array;
  /** Loaded without its float32 vectors (deserialize with null) and none attached yet. */
  private vectorsAbsent = false;
  /** Loaded without its graph section (fromParts) and none loaded yet: only the int8 scans run. */
  private graphAbsent = false;
  private codes: Int8Array;
  private count = 0;
  private offsets: Uint32Array | undefined;
  private rowTotal = 0;
  private vprMax = 1;
  private quant: Quantizer;
  /** Width of one int8 code row (dim, or dim + 1 for ip's lift). */
  private readonly cdim: number;
  private graph: GraphIndex;
  /**
   * recall@10 of unfiltered graph search on a sample of queries, measured at build. Below
   * RECALL_MIN the planner treats the index as absent and scans (isotropic random vectors defeat
   * every graph index: measured 0.21 at 100k × 768), so answers keep recall >= 0.95 on any data.
   */
  graphRecall = 1;
  /** The configured re-rank factor, before calibration widened it (every calibration starts here). */
  private rerankBase: number;
  /** The search depth calibration chose (the configured `ef` unless recall needed more). */
  searchEf = 64;

  private constructor(dim: number, options: Resolved, capacity: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new QuiverError('invalid_input', `index: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.options = options;
    this.rerankBase = options.rerankFactor;
    this.searchEf = options.ef;
    this.vecs = new Float32Array(capacity * dim);
    this.cdim = codeDim(options.metric, dim);
    this.codes = new Int8Array(capacity * this.cdim);
    this.quant = { metric: options.metric, scale: 1, center: new Array<number>(this.cdim).fill(0), normMax: 1 };
    this.graph = newGraph(dim, options);
  }

  /** Builds over `vectors` (row-major, `dim` wide); the data is copied, the caller keeps its array. */
  static build(vectors: Float32Array, dim: number, options: VectorIndexOptions = {}, onProgress?: BuildProgress): VectorIndex {
    const o = resolve(options);
    if (vectors.length % dim !== 0) throw new QuiverError('invalid_input', `index: vector data length ${vectors.length} is not a multiple of dim ${dim}`);
    checkFinite(vectors);
    const n = vectors.length / dim;
    const index = new VectorIndex(dim, o, n);
    index.quant = fitQuantizer(o.metric, vectors, dim);
    if (options.rows) {
      checkRowMap(options.rows, n);
      index.offsets = options.rows.offsets.slice();
    }
    index.append(vectors, onProgress);
    index.calibrate();
    return index;
  }

  get vectorCount(): number {
    return this.count;
  }

  get rowCount(): number {
    return this.offsets ? this.rowTotal : this.count;
  }

  /** Whether rows may hold several vectors (then {@link add} takes vectors per row). */
  get isMultiVector(): boolean {
    return this.offsets !== undefined;
  }

  get metric(): Metric {
    return this.options.metric;
  }

  /** The stored float32 vectors (a view; do not mutate). */
  get vectors(): Float32Array {
    return this.vecs.subarray(0, this.count * this.dim);
  }

  private get rows(): RowMap | undefined {
    return this.offsets ? { offsets: this.offsets.subarray(0, this.rowTotal + 1) } : undefined;
  }

  /**
   * Appends vectors. For multi-vector indexes `rowVectorCounts[i]` says how many of them belong
   * to the i-th new row. New vectors reuse the build's quantization scale (outliers clamp).
   */
  add(vectors: Float32Array, rowVectorCounts?: Uint32Array, onProgress?: BuildProgress): void {
    if (this.vectorsAbsent) throw new QuiverError('invalid_input', 'index: loaded without its vectors; attachVectors() before add()');
    if (this.graphAbsent) throw new QuiverError('invalid_input', 'index: loaded without its graph; loadGraph() before add()');
    if (vectors.length % this.dim !== 0) throw new QuiverError('invalid_input', `index: vector data length ${vectors.length} is not a multiple of dim ${this.dim}`);
    checkFinite(vectors);
    const m = vectors.length / this.dim;
    if (this.offsets) {
      if (!rowVectorCounts) throw new QuiverError('invalid_input', 'index: a multi-vector index needs rowVectorCounts in add()');
      let sum = 0;
      for (let i = 0; i < rowVectorCounts.length; i++) sum += rowVectorCounts[i];
      if (sum !== m) throw new QuiverError('invalid_input', `index: rowVectorCounts add up to ${sum}, got ${m} vectors`);
      const next = new Uint32Array(this.rowTotal + rowVectorCounts.length + 1);
      next.set(this.offsets.subarray(0, this.rowTotal + 1));
      for (let i = 0; i < rowVectorCounts.length; i++) next[this.rowTotal + 1 + i] = next[this.rowTotal + i] + rowVectorCounts[i];
      this.offsets = next;
    } else if (rowVectorCounts) {
      throw new QuiverError('invalid_input', 'index: rowVectorCounts given to a one-vector-per-row index');
    }
    this.reserve(this.count + m);
    this.append(vectors, onProgress);
    this.calibrate();
  }

  /**
   * Measures {@link graphRecall}: graph search against an exact scan for queries near sampled
   * stored vectors, at the configured depth and, while recall stays under CALIBRATE_TARGET, at 2×,
   * 4× and 8× that depth; the first depth that reaches it becomes the default (`searchEf`). A graph
   * that cannot reach it even at 8× is left to scans by the planner.
   */
  private calibrate(): void {
    const n = this.rowCount;
    this.searchEf = this.options.ef;
    this.graphRecall = 1;
    if (n < CODES_CALIBRATE_ROWS_MIN) return;
    const k = 10;
    const queries = this.probeQueries(k);
    // The codes first: the graph is built on them and both int8 strategies pick from them.
    if (!this.calibrateCodes(queries, k)) {
      this.graphRecall = RECALL_MIN - 0.01;
      return;
    }
    if (n < CALIBRATE_ROWS_MIN) return;
    for (const factor of [1, 2, 4, 8]) {
      const ef = this.options.ef * factor;
      const plan = planVectorSearch({ n, matches: n, k, hasIndex: true, dim: this.dim, vectorsPerRowMax: this.vprMax, ef, rerankFactor: this.options.rerankFactor });
      if (plan.strategy !== 'ann') return; // scanning is cheaper here anyway
      let found = 0;
      let wanted = 0;
      for (const { q, exact } of queries) {
        const graph = this.searchGraph(q, k, undefined, plan.params.count, plan.params.countMax, 1, rerankPool(k, this.options.rerankFactor) * this.vprMax);
        if (!graph) continue;
        graph.ordinals.forEach((o) => void (exact.has(o) && found++));
        wanted += exact.size;
      }
      this.graphRecall = wanted ? found / wanted : 1;
      this.searchEf = ef;
      if (this.graphRecall >= CALIBRATE_TARGET) return;
    }
    // No depth reached the target: keep the measurement under RECALL_MIN so the planner scans.
    this.graphRecall = Math.min(this.graphRecall, RECALL_MIN - 0.01);
  }

  /** Queries near sampled stored vectors (as real queries are near the data), with their exact top k. */
  private probeQueries(k: number): { q: Float32Array; exact: Set<number> }[] {
    const queries: { q: Float32Array; exact: Set<number> }[] = [];
    const count = Math.min(CALIBRATE_QUERIES, this.count);
    for (let i = 0; i < count; i++) {
      const a = Math.floor((i * this.count) / count);
      const b = (a + Math.floor(this.count / 2) + i) % this.count;
      const q = new Float32Array(this.dim);
      for (let j = 0; j < this.dim; j++) q[j] = 0.9 * this.vecs[a * this.dim + j] + 0.1 * this.vecs[b * this.dim + j];
      queries.push({ q, exact: new Set(this.scanExact(q, k, undefined, 1).ordinals) });
    }
    return queries;
  }

  /**
   * Measures how well the int8 codes rank: the recall of the int8 scan (re-ranked in float32)
   * on the probe queries, widening the re-rank pool ×2 up to RERANK_WIDEN_MAX while it stays
   * under CALIBRATE_TARGET; the first factor that reaches it is kept. False when none does
   * (data with detail finer than 8 bits resolve, e.g. points on a line far from the origin):
   * the planner then reads those rows exactly.
   */
  private calibrateCodes(queries: { q: Float32Array; exact: Set<number> }[], k: number): boolean {
    const base = this.rerankBase;
    for (let widen = 1; widen <= RERANK_WIDEN_MAX; widen *= 2) {
      let found = 0;
      let wanted = 0;
      for (const { q, exact } of queries) {
        const got = this.scanQuantized(q, k, undefined, 1, rerankPool(k, base * widen) * this.vprMax);
        got.ordinals.forEach((o) => void (exact.has(o) && found++));
        wanted += exact.size;
      }
      if (wanted === 0 || found / wanted >= CALIBRATE_TARGET) {
        this.options = { ...this.options, rerankFactor: base * widen };
        return true;
      }
    }
    return false;
  }

  private reserve(vectorsNeeded: number): void {
    if (vectorsNeeded * this.dim <= this.vecs.length) return;
    const cap = Math.max(vectorsNeeded, Math.ceil((this.vecs.length / this.dim) * 1.5));
    const v = new Float32Array(cap * this.dim);
    v.set(this.vecs.subarray(0, this.count * this.dim));
    const c = new Int8Array(cap * this.cdim);
    c.set(this.codes.subarray(0, this.count * this.cdim));
    this.vecs = v;
    this.codes = c;
  }

  /** Copies, quantizes and inserts `vectors` after the current ones, batch by batch. */
  private append(vectors: Float32Array, onProgress?: BuildProgress): void {
    const { dim } = this;
    const m = vectors.length / dim;
    const base = this.count;
    this.vecs.set(vectors, base * dim);
    const cdim = this.cdim;
    const codes = this.codes.subarray(base * cdim, (base + m) * cdim);
    encodeRows(this.quant, vectors, dim, codes);
    onProgress?.({ phase: 'quantize', done: m, total: m });
    const batch = Math.max(1, this.options.buildBatchVectors);
    for (let at = 0; at < m; at += batch) {
      const end = Math.min(m, at + batch);
      const keys = new BigUint64Array(end - at);
      for (let i = 0; i < keys.length; i++) keys[i] = BigInt(base + at + i);
      // A copy, not a view: the binding ignores a typed array's byte offset.
      this.graph.add(keys, codes.slice(at * cdim, end * cdim), this.options.buildThreads);
      onProgress?.({ phase: 'graph', done: end, total: m });
    }
    this.count = base + m;
    if (this.offsets) {
      this.rowTotal = this.offsets.length - 1;
      this.vprMax = vectorsPerRowMax(this.rows);
    }
  }

  /** The plan {@link search} would run for a filter of `matches` rows. */
  plan(k: number, matches: number, ef?: number, exactTop?: number): VectorPlan {
    return planVectorSearch({
      n: this.rowCount,
      matches,
      k,
      hasIndex: this.graphRecall >= RECALL_MIN,
      dim: this.dim,
      vectorsPerRowMax: this.vprMax,
      ef: ef ?? this.searchEf,
      rerankFactor: this.options.rerankFactor,
      ...(exactTop !== undefined ? { exactTop } : {}),
    });
  }

  /**
   * Top-k rows by the metric, best first, ties by lower ordinal; always min(k, matching rows
   * that have vectors) results. Throws on a query of the wrong length or with NaN.
   */
  search(query: Float32Array, k: number, options: VectorSearchOptions = {}): VectorSearchResult {
    if (!this.hasVectors) throw new QuiverError('invalid_input', 'index: loaded without its vectors; use candidates() and rerank(), or attachVectors()');
    checkQuery(query, this.dim);
    checkK(k);
    const filter = options.filter;
    if (filter && filter.size < this.rowCount) {
      throw new QuiverError('invalid_input', `index: filter covers ${filter.size} rows, index has ${this.rowCount}`);
    }
    const matches = filter ? countBelow(filter, this.rowCount) : this.rowCount;
    const plan = options.plan ?? this.plan(k, matches, options.ef, options.exactTop);
    const pool = rerankPool(Math.min(k, matches), this.options.rerankFactor, options.exactTop) * this.vprMax;
    const want = Math.min(k, matches);
    const threads = options.threads ?? 1;
    switch (plan.strategy) {
      case 'empty':
        return { ordinals: new Uint32Array(0), scores: new Float32Array(0), plan, strategy: 'empty' };
      case 'exact-scan':
      case 'exact-gather':
        return { ...this.scanExact(query, want, filter, threads), plan, strategy: plan.strategy };
      case 'quantized-gather':
        return { ...this.scanQuantized(query, want, filter, threads, pool), plan, strategy: plan.strategy };
      case 'ann':
      case 'ann-filtered': {
        const hit = this.searchGraph(query, want, filter, plan.params.count, plan.params.countMax, threads, pool);
        if (hit) return { ...hit, plan, strategy: plan.strategy };
        return { ...this.scanQuantized(query, want, filter, threads, pool), plan, strategy: 'quantized-gather' };
      }
    }
  }

  private scanExact(query: Float32Array, want: number, filter: Bitmap | undefined, threads: number): SearchResult {
    const top = new MetricTopK(Math.max(1, want), this.metric);
    scan({
      data: this.vectors,
      query,
      dim: this.dim,
      usearchMetric: usearchMetric(this.metric),
      candidates: filter,
      rowTotal: this.rowCount,
      rows: this.rows,
      fetch: (want + 8) * this.vprMax,
      bytesMax: this.options.scratchBytesMax,
      threads,
      visit: (v, r) => top.push(r, scoreOf(this.metric, query, this.vecs, v, this.dim)),
    });
    return top.result();
  }

  private scanQuantized(query: Float32Array, want: number, filter: Bitmap | undefined, threads: number, pool: number): SearchResult {
    const top = new MetricTopK(Math.max(1, want), this.metric);
    this.pickQuantized(query, filter, threads, pool, (v, r) => top.push(r, scoreOf(this.metric, query, this.vecs, v, this.dim)));
    return top.result();
  }

  /** The int8 scan's picks (`pool` per scan chunk), each handed to `visit` with its row. */
  private pickQuantized(query: Float32Array, filter: Bitmap | undefined, threads: number, pool: number, visit: (v: number, r: number) => void): void {
    scan({
      data: this.codes.subarray(0, this.count * this.cdim),
      query: encodeQuery(this.quant, query),
      dim: this.cdim,
      usearchMetric: codeUsearchMetric(this.metric),
      candidates: filter,
      rowTotal: this.rowCount,
      rows: this.rows,
      fetch: pool,
      bytesMax: this.options.scratchBytesMax,
      threads,
      visit,
    });
  }

  /**
   * Graph search asking for `count` vectors, keeping those of matching rows and re-ranking the
   * best `pool` of them in float32. Widens ×4 while fewer than `want` distinct
   * rows come back; returns undefined once `countMax` is exhausted so the caller scans instead.
   */
  private searchGraph(
    query: Float32Array,
    want: number,
    filter: Bitmap | undefined,
    count: number,
    countMax: number,
    threads: number,
    pool: number,
  ): SearchResult | undefined {
    const picks = this.pickGraph(query, want, filter, count, countMax, threads, pool);
    if (!picks) return undefined;
    const top = new MetricTopK(Math.max(1, want), this.metric);
    for (const v of picks) top.push(rowOfVector(this.rows, v), scoreOf(this.metric, query, this.vecs, v, this.dim));
    return top.result();
  }

  /**
   * The graph's picks in its order: vectors of matching rows, the first `pool` of them once they
   * cover `want` distinct rows (widening the search ×4 until they do); undefined once `countMax`
   * is exhausted.
   */
  private pickGraph(query: Float32Array, want: number, filter: Bitmap | undefined, count: number, countMax: number, threads: number, pool: number): number[] | undefined {
    if (this.graphAbsent) throw new QuiverError('invalid_input', 'index: loaded without its graph; loadGraph() before a plan that walks it');
    const q8 = encodeQuery(this.quant, query);
    for (;;) {
      const c = Math.min(count, this.count);
      const keys = this.graph.search(q8, c, threads).keys;
      const picks: number[] = [];
      const rows = new Set<number>();
      for (let i = 0; i < keys.length && (picks.length < pool || rows.size < want); i++) {
        const v = Number(keys[i]);
        if (v >= this.count) continue;
        const r = rowOfVector(this.rows, v);
        if (filter && !filter.has(r)) continue;
        picks.push(v);
        rows.add(r);
      }
      if (rows.size >= want) return picks;
      if (c >= this.count || count >= countMax) return undefined;
      count = Math.min(countMax, count * 4);
    }
  }

  /**
   * For an index loaded without its float32 vectors ({@link deserialize} with `null`): the
   * vector ordinals `search` would re-rank under this plan, unscored, so the caller fetches only
   * their vectors and finishes with {@link rerank}. Null when the plan scores every matching row
   * in float32 (the exact strategies): the caller attaches them all ({@link attachVectors}).
   */
  candidates(query: Float32Array, k: number, options: VectorSearchOptions = {}): { ordinals: Uint32Array; plan: VectorPlan; strategy: VectorStrategy } | null {
    checkQuery(query, this.dim);
    checkK(k);
    const filter = options.filter;
    const matches = filter ? countBelow(filter, this.rowCount) : this.rowCount;
    const plan = options.plan ?? this.plan(k, matches, options.ef, options.exactTop);
    const pool = rerankPool(Math.min(k, matches), this.options.rerankFactor, options.exactTop) * this.vprMax;
    const want = Math.min(k, matches);
    const threads = options.threads ?? 1;
    const collect = (strategy: VectorStrategy) => {
      const seen = new Set<number>();
      this.pickQuantized(query, filter, threads, pool, (v) => void seen.add(v));
      return { ordinals: Uint32Array.from(seen), plan, strategy };
    };
    switch (plan.strategy) {
      case 'empty':
        return { ordinals: new Uint32Array(0), plan, strategy: 'empty' };
      case 'exact-scan':
      case 'exact-gather':
        return null;
      case 'quantized-gather':
        return collect('quantized-gather');
      case 'ann':
      case 'ann-filtered': {
        const picks = this.pickGraph(query, want, filter, plan.params.count, plan.params.countMax, threads, pool);
        return picks ? { ordinals: Uint32Array.from(picks), plan, strategy: plan.strategy } : collect('quantized-gather');
      }
    }
  }

  /**
   * The cosine similarity of the query to each of these vectors as their int8 codes give it
   * (the units of the float32 score, off by the codes' rounding), or null for the other
   * metrics, whose codes clamp outliers (l2) or carry a lift (ip) and so bound nothing.
   */
  codeScores(query: Float32Array, ordinals: Uint32Array): Float64Array | null {
    if (this.metric !== 'cosine') return null;
    checkQuery(query, this.dim);
    const q8 = encodeQuery(this.quant, query);
    const d = this.cdim;
    let nq = 0;
    for (let j = 0; j < d; j++) nq += q8[j] * q8[j];
    const out = new Float64Array(ordinals.length);
    for (let i = 0; i < ordinals.length; i++) {
      const base = ordinals[i] * d;
      let dot = 0;
      let nx = 0;
      for (let j = 0; j < d; j++) {
        const x = this.codes[base + j];
        dot += q8[j] * x;
        nx += x * x;
      }
      out[i] = nq === 0 || nx === 0 ? 0 : dot / Math.sqrt(nq * nx);
    }
    return out;
  }

  /** Most vectors one row holds (1 for a one-vector column). */
  get vectorsPerRowMax(): number {
    return this.vprMax;
  }

  /** The best `k` rows among `candidates` (vector ordinals), scored in float32: candidate i's vector is `vectors[i·dim, (i+1)·dim)`. */
  rerank(query: Float32Array, k: number, candidates: Uint32Array, vectors: Float32Array): SearchResult {
    if (vectors.length !== candidates.length * this.dim) throw new QuiverError('invalid_input', `index: rerank got ${vectors.length} floats for ${candidates.length} candidates of dim ${this.dim}`);
    const top = new MetricTopK(Math.max(1, k), this.metric);
    for (let i = 0; i < candidates.length; i++) top.push(rowOfVector(this.rows, candidates[i]), scoreOf(this.metric, query, vectors, i, this.dim));
    return top.result();
  }

  /** Whether the float32 vectors are held (false for an index loaded without them, until attached). */
  get hasVectors(): boolean {
    return !this.vectorsAbsent;
  }

  /** Gives an index loaded without its vectors all of them (in vector order), for the exact strategies. */
  attachVectors(vectors: Float32Array): void {
    if (vectors.length !== this.count * this.dim) throw new QuiverError('invalid_input', `index: ${vectors.length} floats attached to ${this.count} vectors of dim ${this.dim}`);
    this.vecs = vectors;
    this.vectorsAbsent = false;
  }

  /** A self-describing binary (format {@link FORMAT_VERSION}) with a CRC-32; see docs/search-kernels.md. */
  serialize(options: { vectors?: boolean } = {}): Uint8Array {
    const { header, sections } = this.serializeParts(options);
    return encodeContainer(MAGIC, FORMAT_VERSION, header, sections);
  }

  /**
   * The index as a JSON-able header and named binary sections (`codes`, `graph`, and
   * `vectors` / `rowOffsets` when present), for a caller that lays them out itself so that
   * each can be read on its own (index-file.ts reads the graph only when
   * a plan walks it).
   */
  serializeParts(options: { vectors?: boolean } = {}): IndexParts {
    // Without `vectors` the float32 copy is left out (a caller that keeps the vectors elsewhere
    // hands them back to deserialize): at 1M × 768 it is 3 GB of a 4 GB file.
    const withVectors = options.vectors ?? true;
    const dir = mkdtempSync(join(tmpdir(), 'quiver-vec-'));
    try {
      const path = join(dir, 'graph.usearch');
      this.graph.save(path);
      const graph = new Uint8Array(readFileSync(path));
      const sections: Record<string, Uint8Array> = {
        ...(withVectors ? { vectors: viewBytes(this.vectors) } : {}),
        codes: viewBytes(this.codes.subarray(0, this.count * this.cdim)),
        graph,
      };
      if (this.offsets) sections.rowOffsets = viewBytes(this.offsets.subarray(0, this.rowTotal + 1));
      const header = { kind: 'vector-hnsw-i8', dim: this.dim, vectorCount: this.count, rowCount: this.rowCount, quantizer: this.quant, multiVector: !!this.offsets, options: this.options, graphRecall: this.graphRecall, searchEf: this.searchEf, rerankBase: this.rerankBase, externalVectors: !withVectors };
      return { header, sections };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Reads {@link serialize}'s output; throws `index: corrupt vector index: ...` on any damage. */
  static deserialize(bytes: Uint8Array, externalVectors?: Float32Array | null): VectorIndex {
    return VectorIndex.fromParts(VectorIndex.partsOf(bytes), externalVectors);
  }

  /** {@link serialize}'s output split into its parts, checked; throws `index: corrupt vector index: ...` on any damage. */
  static partsOf(bytes: Uint8Array): IndexParts {
    const { header, sections } = decodeContainer(bytes, MAGIC, [FORMAT_VERSION], 'vector index');
    return { header, sections };
  }

  /**
   * Reads {@link serializeParts}' output, whose sections the caller has checked. Without a
   * `graph` section the index loads without its graph ({@link hasGraph} false): the int8 scans
   * work, and {@link loadGraph} must come before a plan that walks the graph (`ann`, `ann-filtered`).
   */
  static fromParts(parts: IndexParts, externalVectors?: Float32Array | null): VectorIndex {
    const { header, sections } = parts;
    const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt vector index: ${why}`);
    const dim = header.dim as number;
    const count = header.vectorCount as number;
    const { codes, graph, rowOffsets } = sections;
    // null: the caller keeps the vectors elsewhere and fetches candidates' (see candidates()).
    const lazy = externalVectors === null;
    if (header.externalVectors && externalVectors === undefined) throw new QuiverError('invalid_input', 'index: this vector index was saved without its vectors; pass them to deserialize');
    const vecs = lazy ? new Float32Array(0) : header.externalVectors ? externalVectors! : sections.vectors ? f32Of(sections.vectors) : undefined;
    if (!vecs || !codes) throw corrupt('missing section');
    const index = new VectorIndex(dim, resolve(header.options as VectorIndexOptions), 0);
    if ((!lazy && vecs.length !== count * dim) || codes.byteLength !== count * index.cdim) throw corrupt('section sizes disagree with header');
    index.vecs = vecs;
    index.vectorsAbsent = lazy;
    index.codes = i8Of(codes);
    index.count = count;
    index.quant = header.quantizer as Quantizer;
    index.graphRecall = typeof header.graphRecall === 'number' ? header.graphRecall : 1;
    index.searchEf = typeof header.searchEf === 'number' ? header.searchEf : index.options.ef;
    index.rerankBase = typeof header.rerankBase === 'number' ? header.rerankBase : index.options.rerankFactor;
    if (header.multiVector) {
      if (!rowOffsets) throw corrupt('missing row offsets');
      index.offsets = u32Of(rowOffsets);
      index.rowTotal = index.offsets.length - 1;
      checkRowMap({ offsets: index.offsets }, count);
      index.vprMax = vectorsPerRowMax(index.rows);
    }
    index.graphAbsent = true;
    if (graph) index.loadGraph(graph);
    return index;
  }

  /** Whether the graph is loaded (false for an index read without its `graph` section, until {@link loadGraph}). */
  get hasGraph(): boolean {
    return !this.graphAbsent;
  }

  /** Whether a plan walks the graph, so an index without it needs {@link loadGraph} first. */
  static walksGraph(plan: VectorPlan): boolean {
    return plan.strategy === 'ann' || plan.strategy === 'ann-filtered';
  }

  /** Loads the graph section of {@link serializeParts}' output (checked by the caller). */
  loadGraph(graph: Uint8Array): void {
    const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt vector index: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), 'quiver-vec-'));
    try {
      const path = join(dir, 'graph.usearch');
      writeFileSync(path, graph);
      this.graph.load(path);
    } catch (e) {
      throw corrupt(`graph does not load (${(e as Error).message})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (this.graph.size() !== this.count) throw corrupt(`graph holds ${this.graph.size()} vectors, header says ${this.count}`);
    this.graphAbsent = false;
  }
}

/** An index as a header and named sections (see {@link VectorIndex.serializeParts}). */
export interface IndexParts {
  header: Record<string, unknown>;
  sections: Record<string, Uint8Array>;
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function checkFinite(v: Float32Array): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new QuiverError('invalid_input', `index: vector data has a non-finite value at element ${i}`);
  }
}

/** Set bits of `b` below `limit` (a filter may be sized for rows not yet indexed). */
function countBelow(b: Bitmap, limit: number): number {
  if (b.size <= limit) return b.count();
  let c = 0;
  b.forEach((o) => {
    if (o >= limit) return false;
    c++;
  });
  return c;
}
