// Runs queries that use search functions. Always correct: the semantic rewrite runs any shape
// of query exactly. Fast for the common shape (top-k by a signal, with any WHERE): the WHERE
// becomes a candidate filter, a kernel (ANN index or exact scan) finds the k best rows, and
// DuckDB finishes the query on those k rows only, reading their scores from `__score`.

import * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../../errors.js';
import { dataFileError, denseRowIds, fillDenseIds, hasDenseRowIds, patchedColumns, type ColumnDef, type FragmentMeta, type GroupFileMeta, type IndexMeta, type Manifest } from '../../format/index.js';
import { Bitmap, exactSearch, firstRound, higherIsBetter, matchInto, scoreOf, secondRound, type ColumnData, type Metric, type VectorPlan } from '../../index/index.js';
import type { ObjectStore } from '../../storage/index.js';
import { quoteIdent, type Param, type RunOptions, type Session } from '../engine.js';
import { bitmapOf, CachedValues, CollectionCache, ordinalOf, remap, translate, sortSegment, textCollection, textMatches, textScores, type TextCollection, type VectorCollection, type VectorLayout } from './collections.js';
import { planSearch, RRF_K, SCORE_COLUMN, SEARCH_MACROS, SEARCH_VIEW, type Projection, type SearchPlan, type Signal, type TopKPlan, type TextSignal, type VectorSignal } from './search-plan.js';
import { clone, compactParams, parseSql, unparseSql, columnRef, rewrite, type AstNode, type ParsedSql } from './sql-ast.js';
import { eagerBytesGuess, loadVectorIndex, readGraphPart, readVectorIndexFile, type IndexedFile, type VectorIndexFile } from '../../index/index.js';
import { castClockComparisons, expressionsOf, foldNowUtc, indexableType, resolve, type ResolvedPredicate } from './scalar-index.js';
import { ScalarFiles } from './scalar-files.js';
import { readVectorFile } from './vector-load.js';
import { CORRUPT_SEGMENT_WARNING, segmentable, TextSegments } from './text-segments.js';
import { jsValueOf, RowLookup, valuesSql } from '../row-lookup.js';
import { smallColumns } from '../dataset-view.js';
import { derivedColumns, isLarge, sqlType } from '../../format/index.js';
import { TAIL_PREFETCH_FILES_MAX, type LargeValues } from '../large-values.js';
import { loadLargeTable } from '../late-columns.js';
import { VectorIndex, type VectorSearchOptions } from '../../index/index.js';

/** A persisted index with its vectors, ready to search. */
interface LoadedIndex {
  /** The index file's key. */
  key: string;
  index: VectorIndex;
  rowIds: BigInt64Array;
  files: IndexedFile[];
  /** The column it indexes. */
  column: string;
  /** Where its graph lies, when it was read without it (see indexFile). */
  graphPart?: VectorIndexFile['graphPart'];
  /** The graph's first bytes, read with the codes (see eagerBytesGuess). */
  graphHead?: Uint8Array;
}

/** What the executor needs from a dataset handle. */
export interface SearchHost {
  session: Session;
  manifest: Manifest;
  /** Names the version's content (its manifest id): collections are cached under it. */
  versionKey: string;
  store: ObjectStore;
  /** Reads large columns of a few rows by range (used when `store` has no local paths). */
  large: LargeValues;
  /** Points the temp view `dataset` at this version with the columns `sql` names (or no large column). */
  prepareView(sql: string, large?: 'none'): Promise<void>;
  /**
   * A SELECT of this version's rows with the given ids and the columns `sql` names, reading
   * only the files whose row-id range holds one of them.
   */
  rowsSql(sql: string, rowIds: readonly bigint[]): Promise<string>;
  /** Local paths holding the objects' bytes. */
  paths(keys: readonly string[]): Promise<string[]>;
  /** The column names `sql` mentions (lower case), or 'all' for a star. */
  referenced(sql: string): Promise<Set<string> | 'all'>;
  /** Bounds on the query's result (a sandboxed handle's), checked as it is read. */
  bounds?: RunOptions;
  /** The view holds some of the version's rows only (a tenant scope): text statistics are built from them. */
  scoped?: boolean;
}

export interface SearchOptions {
  /**
   * The cache this executor keeps vectors, text indexes, scalar columns and loaded indexes in,
   * shared with other executors (a runtime's, see src/runtime): it gets its own key space in it,
   * and the least recently used entry of any of them goes first. Default: a cache of its own
   * of `cacheBytesMax` bytes.
   */
  cache?: CollectionCache;
  /** Bytes of the executor's own cache, when no `cache` is given. Default 4 GiB. */
  cacheBytesMax?: number;
}

/** Executors made so far: each takes its own key space in a shared cache. */
let searchRuntimes = 0;

/**
 * Bytes a loaded index holds: its float32 vectors and row ids, its int8 codes, and usearch's
 * graph, which keeps its own int8 copy and about 2 × connectivity (16) 4-byte links a node.
 */
function loadedBytes(l: LoadedIndex | null): number {
  if (!l) return 0;
  const n = l.index.vectorCount;
  return l.index.vectors.byteLength + l.rowIds.byteLength + 2 * n * (l.index.dim + 1) + n * 128;
}

/** What explain reports. */
export interface SearchExplain {
  shape: 'top-k' | 'exact-sql';
  reason: string;
  signals?: { kind: string; column: string; metric?: string; strategy: string; index: string; candidates: number | 'all'; rows: number }[];
  fusion?: string;
  k?: number;
  /** WHERE parts answered by indexes instead of DuckDB. */
  indexedFilters?: string[];
  sql: string;
}

/** How one vector signal is searched (see planVector): what explain reports and vectorTopK runs. */
interface VectorSignalPlan {
  signal: VectorSignal;
  k: number;
  exactTop: number;
  /** The index's part: its matching rows (index ordinals) and the plan it runs over them. */
  served: { index: LoadedIndex; filter: Bitmap; plan: VectorPlan; k: number } | null;
  /** Segments searched exactly, with their matching positions. */
  exact: { seg: VectorCollection; rows: Bitmap }[];
  strategy: string;
  index: string;
  rows: number;
}

interface SignalHits {
  rowIds: bigint[];
  scores: number[];
  /** The rank SQL gives every candidate missing from the list, when known (BM25: all of them score 0). */
  tailRank?: number;
  strategy: string;
  index: string;
  rows: number;
}

/** The temp table of the winners' large values (replaced by each query that needs one). */
const WINNERS_LARGE = '__quiver_winners_large';

/** The winners' columns in the view's order: small ones from `values`, large ones from the temp table. */
function withLargeSql(schema: readonly ColumnDef[], named: (name: string) => boolean, values: string): string {
  const cols = ['v.row_id'];
  for (const c of schema) {
    const q = quoteIdent(c.name);
    if (named(c.name)) cols.push(isLarge(c.type) ? `l.${q}::${sqlType(c.type)} AS ${q}` : `v.${q}`);
    for (const d of derivedColumns(c)) if (named(d)) cols.push(`v.${quoteIdent(d)}`);
  }
  cols.push(`v.${SCORE_COLUMN}`);
  return `SELECT ${cols.join(', ')} FROM (${values}) v LEFT JOIN ${WINNERS_LARGE} l ON l.row_id = v.row_id`;
}

/**
 * The text collections of each query running now, by its session's token. DuckDB keeps one
 * `__q_bm25` / `__q_match` per instance, whichever handle registered it last, so the functions
 * cannot close over a handle's state: every call names its query by the token the plan put in
 * front of the column (`token|column`). Entries live while their query runs.
 */
const TEXTS_OF_QUERY = new Map<string, Map<string, TextCollection>>();
let tokenCount = 0;

/** The plan's bm25/match calls with the column argument `token|column`. */
function withTextToken(plan: SearchPlan, token: string): SearchPlan {
  const tag = (tree: unknown) =>
    rewrite(tree, (n) => {
      if (n.class !== 'FUNCTION' || (n.function_name !== '__q_bm25' && n.function_name !== '__q_match')) return undefined;
      const [id, col, text] = n.children as AstNode[];
      const value = (col.value as { value: string }).value;
      return { ...n, children: [id, { ...col, value: { ...(col.value as object), value: `${token}|${value}` } }, text] };
    });
  const topk = plan.topk ? { ...plan.topk, final: tag(plan.topk.final) as ParsedSql, where: plan.topk.where ? (tag(plan.topk.where) as AstNode) : null } : null;
  return { ...plan, semantic: tag(plan.semantic) as ParsedSql, topk };
}

/** Whether a result bound applies (a sandboxed handle's): such results are counted as DuckDB reads them. */
function hasBounds(b: RunOptions | undefined): boolean {
  return b?.resultRowsMax !== undefined || b?.resultBytesMax !== undefined;
}

/** SQL of a tagged plan as the user's query means it (what explain shows). */
function untagged(sql: string): string {
  return sql.replace(/'q\d+\|/g, "'");
}

export class SearchRuntime {
  private readonly cache: CollectionCache;
  /** Reads the winners' small columns from the files (see row-lookup.ts). */
  private readonly lookup: RowLookup;
  /** Loaded indexes by key, held in the cache (null: the index cannot serve; see vectorIndex). */
  private readonly indexes: CachedValues<LoadedIndex | null>;
  /** Remote indexes (by key) that have answered one query by ranged re-rank; the next loads their vectors. */
  private readonly servedByRange = new Set<string>();
  /** Sets of scalar-indexed columns whose filter ran in SQL once: later queries decode them (see candidates). */
  private readonly filteredBySql = new Set<string>();
  /** Index files being (or downloaded and not yet) read: a prefetch's download is used once, then dropped. */
  private readonly indexFetches = new Map<string, Promise<VectorIndexFile>>();
  private readonly ready = new WeakSet<Session>();
  /** Parse trees by SQL text, and SQL text by tree: planning a repeated query costs no DuckDB round trip. */
  private readonly parsed = new Map<string, ParsedSql>();
  private readonly unparsed = new Map<string, string>();
  private readonly alignment = new Map<string, boolean>();
  /** The parse tree of `SELECT 1`: the shell that folds a query's constant expressions. */
  private selectShell: ParsedSql | undefined;
  private readonly utcSessions = new WeakMap<Session, boolean>();
  /** Recent scalar predicates' matches per version (filters repeat across queries). */
  private readonly predicateHits: CachedValues<Bitmap>;
  /** Each session's token in TEXTS_OF_QUERY (see there). */
  private readonly tokens = new WeakMap<Session, string>();

  /** Persisted full-text segments per fragment, combined per version. */
  readonly textSegments: TextSegments;
  /** Persisted scalar index files per fragment. */
  readonly scalarFiles: ScalarFiles;

  constructor(options: SearchOptions = {}) {
    this.cache = options.cache ? options.cache.scoped(`s${++searchRuntimes}`) : new CollectionCache(options.cacheBytesMax ?? 4 * 1024 ** 3);
    this.lookup = new RowLookup(this.cache);
    this.indexes = new CachedValues(this.cache, 'index', loadedBytes);
    this.predicateHits = new CachedValues(this.cache, 'hits', (b) => b.words.byteLength);
    this.textSegments = new TextSegments(this.cache);
    this.scalarFiles = new ScalarFiles(this.cache);
  }

  /**
   * Gives a session the search's macros and functions (once per session; read lanes call it as
   * they open, so no query waits for it). The macros go in one statement: six round trips took
   * 20-120 ms each behind the queries of 7 other sessions (bench/hybrid.ts, 100k, 8 clients).
   */
  async prepareSession(session: Session): Promise<void> {
    if (this.ready.has(session)) return;
    await session.run(SEARCH_MACROS.join(';\n'));
    const lookup = (tagged: string): TextCollection => {
      const bar = tagged.indexOf('|');
      const column = tagged.slice(bar + 1);
      const c = bar > 0 ? TEXTS_OF_QUERY.get(tagged.slice(0, bar))?.get(column) : undefined;
      if (!c) throw new QuiverError('invalid_input', `query: bm25/match over "${column}" outside a dataset query`);
      return c;
    };
    // Both functions take (row_id, column, text) and answer from the column's BM25 statistics.
    const perRow = <T>(answer: (c: TextCollection, ordinal: number, text: string) => T, absent: T) => (args: unknown[][], rows: number) => {
      const out = new Array<T | null>(rows);
      for (let r = 0; r < rows; r++) {
        const id = args[0][r] as bigint | null;
        if (id === null || args[2][r] === null) {
          out[r] = null;
          continue;
        }
        const c = lookup(args[1][r] as string);
        const o = ordinalOf(c.rowIds, id);
        out[r] = o < 0 ? absent : answer(c, o, args[2][r] as string);
      }
      return out;
    };
    await session.registerScalarSql('__q_bm25', ['BIGINT', 'VARCHAR', 'VARCHAR'], 'DOUBLE', perRow((c, o, text) => textScores(c, text)[o], 0));
    await session.registerScalarSql('__q_match', ['BIGINT', 'VARCHAR', 'VARCHAR'], 'BOOLEAN', perRow((c, o, text) => textMatches(c, text).has(o), false));
    await this.utc(session);
    this.ready.add(session);
  }

  private async plan(host: SearchHost, sql: string, params: readonly Param[]): Promise<SearchPlan> {
    await this.prepareSession(host.session);
    let tree = this.parsed.get(sql);
    if (!tree) {
      tree = await parseSql(host.session, sql);
      if (this.parsed.size >= 256) this.parsed.clear();
      this.parsed.set(sql, tree);
    }
    // The scalar kernel reads fragment files: a patched column (a join in the view) is left to DuckDB.
    const patched = patchedColumns(host.manifest);
    const scalarIndexed = new Set(host.manifest.indexes.filter((i) => i.kind === 'scalar' && !patched.has(i.column)).map((i) => i.column));
    return withTextToken(planSearch(tree, host.manifest.schema, params, scalarIndexed), this.token(host.session));
  }

  private token(session: Session): string {
    let t = this.tokens.get(session);
    if (!t) this.tokens.set(session, (t = `q${++tokenCount}`));
    return t;
  }

  /** Runs `fn` (a query of `session`), then drops the text collections it loaded. */
  private async withTexts<T>(session: Session, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      TEXTS_OF_QUERY.delete(this.token(session));
    }
  }

  /** SQL text of a tree; the same query repeated with new parameters re-uses it. */
  private async unparse(session: Session, tree: ParsedSql): Promise<string> {
    const key = JSON.stringify(tree);
    let sql = this.unparsed.get(key);
    if (sql === undefined) {
      sql = await unparseSql(session, tree);
      if (this.unparsed.size >= 1024) this.unparsed.clear();
      this.unparsed.set(key, sql);
    }
    return sql;
  }

  /** Runs `sql` (which uses search functions) and returns rows or Arrow. */
  async run(host: SearchHost, sql: string, params: readonly Param[], as: 'rows'): Promise<Record<string, unknown>[]>;
  async run(host: SearchHost, sql: string, params: readonly Param[], as: 'arrow'): Promise<arrow.Table>;
  async run(host: SearchHost, sql: string, params: readonly Param[], as: 'rows' | 'arrow'): Promise<Record<string, unknown>[] | arrow.Table> {
    return this.withTexts(host.session, () => this.runPlanned(host, sql, params, as));
  }

  private async runPlanned(host: SearchHost, sql: string, params: readonly Param[], as: 'rows' | 'arrow'): Promise<Record<string, unknown>[] | arrow.Table> {
    const plan = await this.plan(host, sql, params);
    await this.loadText(host, [...plan.textColumns, ...(plan.topk?.signals.filter((s) => s.kind === 'bm25').map((s) => s.column) ?? [])]);
    if (plan.topk) {
      if (!host.store.localPath) {
        // The filter's index files first: the search waits on them and on the vector index, the
        // footers after them only for the re-rank (the store serves its requests in order; asked
        // after the footers, a cold vector + filter's scalar packs waited ~100 ms behind 20 of them).
        this.prefetchFilter(host, plan.topk);
        this.prefetchSignals(host, plan.topk);
        await this.prefetchLargeFooters(host, plan.topk, sql);
      }
      const hits = await this.topK(host, plan, params);
      const projected = as === 'rows' && plan.topk.projection && !hasBounds(host.bounds) ? await this.projectedRows(host, plan.topk.projection, hits) : null;
      if (projected) return projected;
      const final = compactParams(plan.topk.final, params);
      const finalSql = await this.unparse(host.session, final.tree);
      // `dataset` stays valid for any subquery of the final SELECT; the winners themselves come
      // from winnersSql (their rows read by id, never a join over every file).
      const overDataset = finalSql.replace(SEARCH_VIEW, 'dataset');
      // When no subquery reads `dataset` itself, the view needs no large column: on a remote
      // store the winners' own come by range, and joining the files in would copy them whole.
      await host.prepareView(overDataset, !host.store.localPath && !/\bdataset\b/i.test(finalSql) ? 'none' : undefined);
      // A CTE rather than a view: one DuckDB round trip fewer per query (the top-k shape has no WITH of its own).
      const sqlText = `WITH ${SEARCH_VIEW} AS (${await this.winnersSql(host, overDataset, hits)}) ${finalSql}`;
      return as === 'rows' ? (await host.session.all(sqlText, final.params, host.bounds)).rows : host.session.arrow(sqlText, final.params, host.bounds);
    }
    const final = compactParams(plan.semantic, params);
    const sqlText = await this.unparse(host.session, final.tree);
    await host.prepareView(sqlText);
    return as === 'rows' ? (await host.session.all(sqlText, final.params, host.bounds)).rows : host.session.arrow(sqlText, final.params, host.bounds);
  }

  /**
   * A projection's rows straight from the winners' looked-up values, or null when a column needs
   * DuckDB (a large column other than a BLOB read by range, a type it converts, a file the
   * lookup cannot read). Parsing and
   * planning the final SELECT over a VALUES list of 20 winners cost ~1.4-2 ms a query at 5k
   * rows (bench/overhead.ts), more than the search itself.
   */
  private async projectedRows(host: SearchHost, projection: Projection, hits: { rowIds: bigint[]; scores: number[] }): Promise<Record<string, unknown>[] | null> {
    const small = smallColumns(host.manifest.schema);
    const outputs: { name: string; read: 'row_id' | 'score' | { at: number; sqlType: string } | { large: string } }[] = [];
    const looked: string[] = [];
    for (const { column, alias } of projection.columns) {
      const lower = column.toLowerCase();
      // DuckDB names an unaliased column by the view's spelling of it, not the query's.
      if (lower === 'row_id' || lower === SCORE_COLUMN) {
        outputs.push({ name: alias || lower, read: lower === 'row_id' ? 'row_id' : 'score' });
        continue;
      }
      // A BLOB column (images) on a store without local paths: its values by range, as DuckDB
      // would return them (a Uint8Array each), without a temp table and a DuckDB query over it
      // (~10 ms of a warm '20 winners + images' query, bench/objstore.ts).
      const large = host.store.localPath ? [] : host.manifest.schema.filter((c) => c.name.toLowerCase() === lower && isLarge(c.type));
      if (large.length === 1 && sqlType(large[0].type) === 'BLOB') {
        outputs.push({ name: alias || large[0].name, read: { large: large[0].name } });
        continue;
      }
      const matching = small.filter((c) => c.name.toLowerCase() === lower);
      if (matching.length !== 1) return null;
      const c = matching[0];
      if (!looked.includes(c.name)) looked.push(c.name);
      outputs.push({ name: alias || c.name, read: { at: looked.indexOf(c.name), sqlType: c.sqlType } });
    }
    let found;
    try {
      found = await this.lookup.rows(host.manifest, host.paths, hits.rowIds, looked);
    } catch (e) {
      if (isQuiverError(e, 'unsupported')) return null;
      throw e;
    }
    const live = hits.rowIds.map((id, i) => ({ id, score: hits.scores[i] })).filter((h) => found.rows.has(h.id));
    const shown = live.slice(projection.offset, projection.offset + projection.limit);
    const largeNames = [...new Set(outputs.flatMap((o) => (typeof o.read === 'object' && 'large' in o.read ? [o.read.large] : [])))];
    const largeValues = new Map(await Promise.all(largeNames.map(async (c) => [c, await host.large.read(host.manifest, c, shown.map((h) => h.id))] as const)));
    const rows: Record<string, unknown>[] = [];
    for (const h of shown) {
      const values = found.rows.get(h.id)!;
      const row: Record<string, unknown> = {};
      for (const o of outputs) {
        const r = o.read;
        const v = r === 'row_id' ? h.id : r === 'score' ? (Number.isFinite(h.score) ? h.score : null) : 'large' in r ? blobOf(largeValues.get(r.large)!.get(h.id)) : jsValueOf(values[r.at], found.leaves[r.at], r.sqlType);
        if (v === undefined) return null;
        row[o.name] = v;
      }
      rows.push(row);
    }
    return rows;
  }

  /**
   * The winners with the columns `sql` names and their scores. Small columns are read straight
   * from the files (RowLookup); large ones, on a store without local paths, by range for the
   * winners alone (LargeValues, into a temp table). On a local store a query naming a large
   * column, or a file the lookup cannot read, reads them through DuckDB from only the files
   * whose row-id range holds a winner.
   */
  private async winnersSql(host: SearchHost, sql: string, hits: { rowIds: bigint[]; scores: number[] }): Promise<string> {
    const score = (i: number) => `${Number.isFinite(hits.scores[i]) ? hits.scores[i] : 'NULL'}::DOUBLE`;
    const needed = await host.referenced(sql);
    const named = (name: string) => needed === 'all' || needed.has(name.toLowerCase());
    const large = host.manifest.schema.filter((c) => isLarge(c.type) && named(c.name)).map((c) => c.name);
    if (large.length === 0 || !host.store.localPath) {
      const columns = smallColumns(host.manifest.schema).filter((c) => named(c.name));
      try {
        const found = await this.lookup.rows(host.manifest, host.paths, hits.rowIds, columns.map((c) => c.name));
        const values = valuesSql(columns, found, hits.rowIds.map((id, i) => ({ id, extra: [score(i)] })), [{ name: SCORE_COLUMN, sqlType: 'DOUBLE' }]);
        if (large.length === 0) return values;
        await loadLargeTable(host, WINNERS_LARGE, large, [...found.rows.keys()]);
        return withLargeSql(host.manifest.schema, named, values);
      } catch (e) {
        if (!isQuiverError(e, 'unsupported')) throw e;
      }
    }
    const rows = await host.rowsSql(sql, hits.rowIds);
    const scores = hits.rowIds.length ? `VALUES ${hits.rowIds.map((id, i) => `(${id}::BIGINT, ${score(i)})`).join(', ')}` : 'SELECT NULL::BIGINT, NULL::DOUBLE WHERE false';
    return `SELECT d.*, h.${SCORE_COLUMN} FROM (${rows}) d JOIN (${scores}) h(row_id, ${SCORE_COLUMN}) USING (row_id)`;
  }

  /** The plan a query would run with, without running it. */
  async explain(host: SearchHost, sql: string, params: readonly Param[]): Promise<SearchExplain> {
    return this.withTexts(host.session, () => this.explainPlanned(host, sql, params));
  }

  private async explainPlanned(host: SearchHost, sql: string, params: readonly Param[]): Promise<SearchExplain> {
    const plan = await this.plan(host, sql, params);
    if (!plan.topk) return { shape: 'exact-sql', reason: plan.reason, sql: untagged(await unparseSql(host.session, plan.semantic)) };
    await this.loadText(host, [...plan.textColumns, ...plan.topk.signals.filter((s) => s.kind === 'bm25').map((s) => s.column)]);
    const candidates = await this.candidates(host, plan, params);
    const signals = [];
    for (const s of plan.topk.signals) {
      if (s.kind === 'vector') {
        // The very plan vectorTopK runs: explain cannot name an index execution does not use.
        const p = await this.planVector(host, s, candidates, this.fetchCount(plan), plan.topk.k);
        signals.push({ kind: 'vector', column: s.column, metric: s.metric, strategy: p.strategy, index: p.index, candidates: candidates ? candidates.count() : ('all' as const), rows: (await this.liveIds(host)).length });
      } else {
        signals.push({ kind: 'bm25', column: s.column, strategy: 'bm25 top-k (block-max / MaxScore)', index: this.texts(host.session).get(s.column)?.source ?? 'none', candidates: candidates ? candidates.count() : ('all' as const), rows: this.texts(host.session).get(s.column)?.rowIds.length ?? 0 });
      }
    }
    const folded = resolve(plan.topk.scalar, await this.fold(host, plan, params));
    const indexedFilters = [
      ...folded.map((p) => `${p.negate ? 'not ' : ''}${p.column} ${p.op === 'null' ? 'is null' : `${p.op} ${p.values.map((v) => (typeof v === 'string' ? `'${v}'` : v)).join(', ')}`} (scalar index)`),
      ...plan.topk.matches.map((m) => `match(${m.column}, '${m.text}') (text index)`),
    ];
    return { shape: 'top-k', reason: plan.reason, signals, fusion: plan.topk.fusion, k: plan.topk.k, indexedFilters, sql: untagged(await unparseSql(host.session, plan.topk.final)) };
  }

  /**
   * Pairs of distinct rows whose `column` vectors have cosine similarity >= threshold, each
   * pair once (a < b), most similar first. Uses the column's ANN index when there is one,
   * otherwise an exact search per row. `signal` is checked before each row's search: the walk is
   * one search per row, so a server bounds it by its request deadline.
   */
  async nearDuplicates(host: SearchHost, column: string, threshold: number, k: number, signal?: { throwIfAborted(): void }): Promise<{ a: bigint; b: bigint; similarity: number }[]> {
    const col = host.manifest.schema.find((c) => c.name === column);
    if (!col || !(col.type.kind === 'embedding' || (col.type.kind === 'list' && col.type.element.kind === 'embedding'))) {
      throw new QuiverError('invalid_input', `query: nearDuplicates needs an embedding column; "${column}" is not one`, { column });
    }
    if (!(threshold >= -1 && threshold <= 1)) throw new QuiverError('invalid_input', `query: threshold must be in [-1, 1], got ${threshold}`);
    const live = await this.liveIds(host);
    const out: { a: bigint; b: bigint; similarity: number }[] = [];
    for (const seg of await this.segments(host, column)) {
      for (let r = 0; r < seg.rowIds.length; r++) {
        if (ordinalOf(live, seg.rowIds[r]) < 0) continue;
        signal?.throwIfAborted();
        const from = seg.offsets ? seg.offsets[r] : r;
        const to = seg.offsets ? seg.offsets[r + 1] : r + 1;
        for (let v = from; v < to; v++) {
          const q = seg.data.slice(v * seg.dim, (v + 1) * seg.dim);
          const hits = await this.vectorTopK(host, { kind: 'vector', column, metric: 'cosine', query: q, multi: !!seg.offsets }, null, k + 1);
          hits.rowIds.forEach((id, i) => {
            if (hits.scores[i] >= threshold && seg.rowIds[r] < id) out.push({ a: seg.rowIds[r], b: id, similarity: hits.scores[i] });
          });
        }
      }
    }
    const seen = new Set<string>();
    return out
      .sort((x, y) => y.similarity - x.similarity)
      .filter((p) => {
        const key = `${p.a}:${p.b}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
  }

  /** The column's index of this kind; for a vector index, the one built for `metric` (there is one per metric). */
  private indexMeta(host: SearchHost, column: string, kind: IndexMeta['kind'], metric?: string): IndexMeta | undefined {
    return host.manifest.indexes.find((i) => i.column === column && i.kind === kind && (metric === undefined || (i.options.metric ?? 'cosine') === metric));
  }

  /** How many rows each signal must return: k, or enough for reciprocal-rank fusion. */
  private fetchCount(plan: SearchPlan): number {
    const k = plan.topk!.k;
    // rrf counts a ranking only within its window, so each list needs exactly its top window rows.
    return plan.topk!.fusion === 'rrf' ? Math.max(plan.topk!.window, k) : k;
  }

  /**
   * The rows that pass the WHERE, as a bitmap over the version's live ordinals, or null for
   * every live row. Scalar-indexed conjuncts and match() come from in-memory indexes (cheapest
   * first); the remaining SQL conjuncts run in DuckDB.
   */
  private async candidates(host: SearchHost, plan: SearchPlan, params: readonly Param[]): Promise<Bitmap | null> {
    const topk = plan.topk!;
    if (!topk.where && topk.scalar.length === 0 && topk.matches.length === 0) return null;
    const live = await this.liveIds(host);
    let set: Bitmap | null = null;
    const and = (b: Bitmap) => void (set = set ? set.and(b) : b);
    // Cold on a remote store, the filter runs in SQL (DuckDB, natively, on its own threads, over
    // the files it downloads anyway) rather than decoding its columns into the scalar index
    // first: bench/objstore.ts, rating + tags of 20 files took 110–235 ms to decode in a fresh
    // process (the decoder not yet compiled, the JS thread also taking in the index's 5 MB)
    // where DuckDB's filter took ~55 ms after the last file came in (load 4). The next query
    // decodes them for the scalar index (the files are local copies by then): run in SQL every
    // time, the benchmark's warm vector + filter took 19.0 ms at p50 where it takes 5.1.
    const columns = topk.scalar.map((p) => p.column);
    const coldKey = [...new Set(columns)].sort().join('\0');
    const sqlFirst = topk.scalar.length > 0 && topk.filter !== null && !this.filteredBySql.has(coldKey) && this.columnsCold(host, columns);
    if (sqlFirst) {
      if (this.filteredBySql.size >= 64) this.filteredBySql.clear();
      this.filteredBySql.add(coldKey);
    }
    if (topk.scalar.length && !sqlFirst) and(await this.scalarMatches(host, resolve(topk.scalar, await this.fold(host, plan, params)), live));
    for (const m of topk.matches) {
      const c = this.texts(host.session).get(m.column)!;
      and(translate(textMatches(c, m.text), c.rowIds, live));
    }
    const where = sqlFirst ? topk.filter : topk.where;
    if (where && (set === null || (set as Bitmap).count() > 0)) and(bitmapOf(live, await this.candidateIds(host, plan, params, where)));
    return set;
  }

  /**
   * The values of the query's constant expressions (`now() - interval 7 day`), folded by DuckDB
   * in one round trip with the column's comparison type: a timestamp as microseconds, a number
   * as a double.
   */
  private async fold(host: SearchHost, plan: SearchPlan, params: readonly Param[]): Promise<(number | string)[]> {
    const preds = plan.topk!.scalar;
    const exprs = expressionsOf(preds);
    if (exprs.length === 0) return [];
    const kinds = preds.flatMap((p) => {
      const col = host.manifest.schema.find((c) => c.name === p.column)!;
      return p.values.filter((v) => typeof v === 'object').map(() => indexableType(col)!.kind);
    });
    // `now() - interval 7 day` is the common case: in a UTC session it folds here, exactly.
    const out: (number | undefined)[] = exprs.map(() => undefined);
    if (await this.utc(host.session)) {
      const nowUs = Date.now() * 1000;
      exprs.forEach((e, i) => void (kinds[i] === 'timestamp' && (out[i] = foldNowUtc(e, nowUs))));
    }
    const rest = exprs.map((e, i) => ({ e, i })).filter((x) => out[x.i] === undefined);
    if (rest.length) {
      this.selectShell ??= await parseSql(host.session, 'SELECT 1');
      const tree = clone(this.selectShell);
      tree.statements[0].node.select_list = rest.map(({ e }, j) => ({ ...clone(e), alias: `v${j}` }));
      const c = compactParams(tree, params);
      const inner = await this.unparse(host.session, c.tree);
      const outer = rest.map(({ i }, j) => (kinds[i] === 'timestamp' ? `epoch_us(CAST(v${j} AS TIMESTAMP))::DOUBLE` : `CAST(v${j} AS DOUBLE)`)).join(', ');
      const row = Object.values((await host.session.all(`SELECT ${outer} FROM (${inner})`, c.params)).rows[0]);
      rest.forEach(({ i }, j) => void (out[i] = row[j] as number));
    }
    return out.map((v) => {
      if (typeof v !== 'number' || Number.isNaN(v)) throw new QuiverError('invalid_input', `query: a filter value evaluated to ${String(v)}`);
      return v;
    });
  }

  /** Whether the session's time zone is UTC (a TIMESTAMP then compares with a TIMESTAMPTZ as the same instant). */
  private async utc(session: Session): Promise<boolean> {
    let u = this.utcSessions.get(session);
    if (u === undefined) {
      const tz = String(Object.values((await session.all(`SELECT current_setting('TimeZone')`)).rows[0])[0]);
      u = /^(Etc\/)?(UTC|GMT|UCT|Zulu|Universal)$/i.test(tz);
      this.utcSessions.set(session, u);
    }
    return u;
  }

  /** Live ordinals whose row satisfies every predicate, from the scalar index. */
  private async scalarMatches(host: SearchHost, preds: ResolvedPredicate[], live: BigInt64Array): Promise<Bitmap> {
    let out: Bitmap | null = null;
    // Every predicate's columns of every fragment start loading now (ScalarFiles shares a load
    // between callers): awaited one by one, scalar index files were read ~6 at a time
    // (bench/objstore.ts, cold vector + filter: 40 of them took 97-378 ms of the index reads).
    for (const p of preds) {
      if (this.predicateHits.get(`${host.versionKey}|${JSON.stringify(p)}`)) continue;
      this.loadColumns(host, p.column);
    }
    for (const p of preds) {
      const key = `${host.versionKey}|${JSON.stringify(p)}`;
      let b = this.predicateHits.get(key);
      if (!b) {
        const words = new Uint32Array((live.length + 31) >>> 5);
        // Every file is needed: their downloads run at once (a cold remote read), decoding in order.
        this.prefetchColumns(host, [p.column]);
        for (const f of host.manifest.fragments) {
          const col = await this.columnData(host, f, p.column);
          const ords = await this.ordinals(host, f.key, col.rowIds, f.deletes && f.deletes.count > 0 ? f.deletes.key : undefined);
          matchInto(col, p, ords, words);
        }
        b = new Bitmap(live.length, words);
        this.predicateHits.set(key, b);
      }
      out = out ? out.and(b) : b;
      if (out.count() === 0) break;
    }
    return out ?? Bitmap.full(live.length);
  }

  /** Starts loading `column` of every fragment for the scalar index, without waiting (failures are left to the caller that awaits it). */
  private loadColumns(host: SearchHost, column: string): void {
    for (const f of host.manifest.fragments) this.columnData(host, f, column).catch(() => undefined);
  }

  /**
   * Starts loading the scalar index files (or their packs) of the columns the query's scalar
   * predicates filter, before anything else is asked of a remote store. Columns without index
   * files are left to the filter (prefetchColumns; cold, they run in SQL).
   */
  private prefetchFilter(host: SearchHost, topk: TopKPlan): void {
    for (const c of new Set(topk.scalar.map((p) => p.column))) if (segmentable(host.manifest, c)) this.loadColumns(host, c);
  }

  /**
   * Starts the downloads of the small-column files whose `columns` the scalar index has not
   * read yet and cannot read from a scalar index file (a renamed or filled column: built from the
   * fragment's file), without waiting (failures are left to columnData, which reads again).
   */
  private prefetchColumns(host: SearchHost, columns: readonly string[]): void {
    if (host.store.localPath) return;
    const built = columns.filter((c) => !segmentable(host.manifest, c));
    const keys = host.manifest.fragments.filter((f) => built.some((c) => this.cache.get(`file|${f.key}|col|${c}`)?.kind !== 'column')).map((f) => f.key);
    if (keys.length) host.paths(keys).catch(() => undefined);
  }

  /** One fragment's column as the scalar index holds it: its persisted file, read once per immutable file. */
  private columnData(host: SearchHost, f: FragmentMeta, column: string): Promise<ColumnData> {
    const def = host.manifest.schema.find((c) => c.name === column)!;
    const meta = host.manifest.indexes.find((i) => i.kind === 'scalar' && i.column === column);
    return this.scalarFiles.column(host, f, def, meta?.options ?? {}, meta);
  }

  /**
   * Each position of a file as an ordinal of this version's live rows (-1 when that copy is not
   * live: the row was deleted, or, with `deletesKey`, this fragment's copy was deleted because
   * an update moved the row). Built once per version and file.
   */
  private async ordinals(host: SearchHost, fileKey: string, rowIds: BigInt64Array, deletesKey?: string): Promise<Int32Array> {
    const key = `${host.versionKey}|ord|${fileKey}`;
    const hit = this.cache.get(key);
    if (hit?.kind === 'ordinals') return hit.ordinals;
    const live = await this.liveIds(host);
    const dead = deletesKey ? await this.deletedIds(host, deletesKey) : null;
    const out = new Int32Array(rowIds.length);
    let guess = 0;
    for (let r = 0; r < rowIds.length; r++) {
      const id = rowIds[r];
      // Files hold ascending row ids, so the next id is usually right after the previous one.
      const o = guess < live.length && live[guess] === id ? guess : ordinalOf(live, id);
      out[r] = o >= 0 && !(dead && dead.has(id)) ? o : -1;
      guess = o >= 0 ? o + 1 : guess;
    }
    this.cache.set(key, { kind: 'ordinals', ordinals: out, bytes: out.byteLength });
    return out;
  }

  private async deletedIds(host: SearchHost, key: string): Promise<Set<bigint>> {
    const [path] = await host.paths([key]);
    return this.lookup.deleted(path);
  }

  /**
   * Whether a query on a remote store would decode `columns` from Parquet into the scalar index
   * from none of its files decoded yet (a cold handle): then its filter runs in SQL. Once some
   * are (a version after an append), decoding the rest costs less than the SQL over every file.
   * Columns with scalar index files (segmentable ones) are not decoded: their files hold the
   * kernel's form, read by range, so they never take the SQL path.
   */
  private columnsCold(host: SearchHost, columns: readonly string[]): boolean {
    if (host.store.localPath || columns.every((c) => segmentable(host.manifest, c))) return false;
    return host.manifest.fragments.every((f) => columns.every((c) => this.cache.get(`file|${f.key}|col|${c}`)?.kind !== 'column'));
  }

  private async candidateIds(host: SearchHost, plan: SearchPlan, params: readonly Param[], where: AstNode): Promise<BigInt64Array> {
    const tree = clone(plan.semantic);
    const node = tree.statements[0].node;
    node.select_list = [columnRef(['row_id'])];
    const timestamps = new Set(host.manifest.schema.filter((c) => c.type.kind === 'timestamp').map((c) => c.name.toLowerCase()));
    node.where_clause = timestamps.size && (await this.utc(host.session)) ? castClockComparisons(where, timestamps) : where;
    node.modifiers = [{ type: 'ORDER_MODIFIER', orders: [{ type: 'ASCENDING', null_order: 'ORDER_DEFAULT', expression: columnRef(['row_id']) }] } as AstNode];
    const c = compactParams(tree, params);
    const sql = await this.unparse(host.session, c.tree);
    await host.prepareView(sql);
    return host.session.readInt64(sql, c.params);
  }

  private async topK(host: SearchHost, plan: SearchPlan, params: readonly Param[]): Promise<{ rowIds: bigint[]; scores: number[] }> {
    const topk = plan.topk!;
    this.prefetchSignals(host, topk);
    const candidates = await this.candidates(host, plan, params);
    const n = this.fetchCount(plan);
    const lists: SignalHits[] = [];
    const live = await this.liveIds(host);
    for (const s of topk.signals) lists.push(s.kind === 'vector' ? await this.vectorTopK(host, s, candidates, n, topk.k) : this.textTopK(host.session, s, candidates, n, live));
    if (topk.fusion === 'single') return { rowIds: lists[0].rowIds, scores: lists[0].scores };
    const perList = lists.map((l) => {
      // rank() semantics: tied scores share the rank of the first of them.
      const ranks = new Map<bigint, number>();
      let rank = 1;
      l.rowIds.forEach((id, i) => {
        if (i > 0 && l.scores[i] !== l.scores[i - 1]) rank = i + 1;
        ranks.set(id, rank);
      });
      return ranks;
    });
    const fused = new Map<bigint, number>();
    for (const ranks of perList) for (const id of ranks.keys()) fused.set(id, 0);
    for (const id of fused.keys()) {
      let score = 0;
      perList.forEach((ranks, j) => {
        const r = ranks.get(id) ?? lists[j].tailRank;
        if (r !== undefined && r <= topk.window) score += 1 / (RRF_K + r);
      });
      fused.set(id, score);
    }
    const order = [...fused].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, topk.k);
    return { rowIds: order.map((x) => x[0]), scores: order.map((x) => x[1]) };
  }

  private textTopK(session: Session, s: TextSignal, candidates: Bitmap | null, k: number, live: BigInt64Array): SignalHits {
    const c = this.texts(session).get(s.column)!;
    const filter = candidates ? translate(candidates, live, c.rowIds) : undefined;
    if (c.rowIds.length === 0 || (filter && filter.count() === 0)) return { rowIds: [], scores: [], strategy: 'empty', index: '', rows: 0 };
    const r = c.index.search(s.text, k, { mode: 'or', filter });
    const rowIds = Array.from(r.ordinals, (o) => c.rowIds[o]);
    const scores = Array.from(r.scores);
    // A candidate with none of the terms scores 0 and SQL ranks it after every scored row.
    const tailRank = fillTail(rowIds, scores, k, c.rowIds, filter ?? null, 0);
    return { rowIds, scores, strategy: 'bm25', index: '', rows: c.rowIds.length, ...(tailRank !== undefined ? { tailRank } : {}) };
  }

  /**
   * How one vector signal will be searched, decided once and then both run and explained:
   * the index that serves (null when none matches the signal's metric, or it cannot serve),
   * the plan it runs over the matching rows it holds, and the segments searched exactly.
   */
  private async planVector(host: SearchHost, s: VectorSignal, candidates: Bitmap | null, k: number, exactTop = k): Promise<VectorSignalPlan> {
    const live = await this.liveIds(host);
    const indexed = await this.vectorIndex(host, s.column, s.metric);
    const layout = await this.vectorLayout(host, s.column, indexed);
    const exact: VectorSignalPlan['exact'] = [];
    const segs = layout.exact.length ? new Map((await this.segments(host, s.column)).map((g) => [g.key, g])) : null;
    for (const { key, ords } of layout.exact) {
      const seg = segs!.get(key)!;
      const words = new Uint32Array((seg.rowIds.length + 31) >>> 5);
      const cw = candidates?.words;
      for (let r = 0; r < ords.length; r++) {
        const o = ords[r];
        if (o >= 0 && (cw === undefined || (cw[o >>> 5] >>> (o & 31)) & 1)) words[r >>> 5] |= 1 << (r & 31);
      }
      const inSeg = new Bitmap(seg.rowIds.length, words);
      if (inSeg.count() > 0) exact.push({ seg, rows: inSeg });
    }
    const exactRows = exact.reduce((n, e) => n + e.rows.count(), 0);
    let served: VectorSignalPlan['served'] = null;
    if (indexed && layout.indexedLive && layout.liveToIdx) {
      const filter = candidates ? remap(candidates, layout.liveToIdx, indexed.rowIds.length) : layout.indexedLive;
      const matches = filter.count();
      if (matches > 0) served = { index: indexed, filter, plan: indexed.index.plan(Math.min(k, matches), matches, undefined, exactTop), k: Math.min(k, matches) };
    }
    const strategies = [
      ...(served ? [served.plan.strategy] : []),
      ...(exactRows ? [indexed ? `exact over ${exactRows} unindexed rows` : candidates ? 'exact-gather' : 'exact-scan'] : []),
    ];
    return { signal: s, k, exactTop, served, exact, strategy: strategies.join(' + ') || 'empty', index: indexed ? indexed.key : 'none (exact)', rows: candidates ? candidates.count() : live.length };
  }

  /** The k best rows by one vector signal, run as planned; only the first `exactTop` need exact order (see rerankPool). */
  private async vectorTopK(host: SearchHost, s: VectorSignal, candidates: Bitmap | null, k: number, exactTop = k): Promise<SignalHits> {
    const plan = await this.planVector(host, s, candidates, k, exactTop);
    const live = await this.liveIds(host);
    const best = higherIsBetter(s.metric as Metric);
    const merged: { id: bigint; score: number }[] = [];
    for (const { seg, rows } of plan.exact) {
      const r = exactSearch(seg.data, seg.dim, s.query, Math.min(k, rows.count()), { metric: s.metric as Metric, candidates: rows, rows: seg.offsets ? { offsets: seg.offsets } : undefined });
      r.ordinals.forEach((o, i) => merged.push({ id: seg.rowIds[o], score: r.scores[i] }));
    }
    if (plan.served) {
      const { index, filter, k: want } = plan.served;
      let r;
      try {
        r = await this.servedTopK(host, index, s.query, want, { filter, exactTop, plan: plan.served.plan });
      } catch (e) {
        // A part read late (the graph) failed its checksum: the index is dropped and the signal searched exactly.
        if (this.corruptIndex(e, index.key)) return this.vectorTopK(host, s, candidates, k, exactTop);
        throw e;
      }
      r.ordinals.forEach((o, i) => merged.push({ id: index.rowIds[o], score: r.scores[i] }));
    }
    merged.sort((x, y) => (best ? y.score - x.score : x.score - y.score) || (x.id < y.id ? -1 : 1));
    const top = merged.slice(0, k);
    const rowIds = top.map((x) => x.id);
    const scores = top.map((x) => x.score);
    // A candidate without a vector scores NULL (NaN here) and SQL ranks it after every scored row.
    const tailRank = fillTail(rowIds, scores, k, live, candidates, Number.NaN);
    return { rowIds, scores, strategy: plan.strategy, index: plan.index, rows: plan.rows, ...(tailRank !== undefined ? { tailRank } : {}) };
  }

  /**
   * The index's top rows. An index loaded without its vectors (lazyIds) re-ranks only its
   * candidates, whose float32 vectors are read by range (LargeValues: a few small pages per
   * file); a plan that scores every matching row exactly gets all of them first.
   */
  private async servedTopK(host: SearchHost, loaded: LoadedIndex, query: Float32Array, want: number, options: VectorSearchOptions): Promise<{ ordinals: Uint32Array; scores: Float32Array }> {
    const index = loaded.index;
    if (options.plan && VectorIndex.walksGraph(options.plan)) await this.withGraph(host, loaded);
    // On a remote store the first query re-ranks by range (a cold start reads a few pages); the
    // next reads the files whole and keeps them, so warm queries make no request. On a local disk
    // the vectors stay in their files for good: a candidate costs a page read from the OS's page
    // cache, and holding them would cost the whole column in memory (bench/hybrid.ts at 100k ×
    // 768: RSS 977 MiB, of which the float32 vectors are 293 MiB read and copied twice on the
    // first query; at 1M they are 3 GB, over the 2 GB the seed's serving budget allows).
    const remote = !host.store.localPath;
    if (!index.hasVectors && ((remote && this.servedByRange.has(loaded.key)) || this.segmentsHeld(host, loaded))) await this.attachAll(host, loaded);
    if (index.hasVectors) return index.search(query, want, options);
    if (remote) {
      if (this.servedByRange.size >= 64) this.servedByRange.clear();
      this.servedByRange.add(loaded.key);
    }
    const c = index.candidates(query, want, options);
    if (c === null) {
      await this.attachAll(host, loaded);
      return index.search(query, want, options);
    }
    // A cosine index's codes score the candidates in the float32 units: the vectors of those
    // they rank best are read first, then only those of the rest that the codes' error leaves
    // able to reach the top (rerank-rounds.ts): bench/objstore.ts, 80 candidates over 20
    // files were 78 page reads, the last quarter of a cold vector + filter query.
    const approx = index.vectorsPerRowMax === 1 ? index.codeScores(query, c.ordinals) : null;
    if (!approx) return index.rerank(query, want, c.ordinals, await this.vectorsOf(host, loaded, c.ordinals));
    const { first, rest } = firstRound(approx, want);
    const firstOrds = Uint32Array.from(first, (p) => c.ordinals[p]);
    const firstVecs = await this.vectorsOf(host, loaded, firstOrds);
    const exact = Float64Array.from(first, (_, i) => scoreOf(index.metric, query, firstVecs, i, index.dim));
    const more = secondRound(approx, first, exact, rest, want);
    const moreOrds = Uint32Array.from(more, (p) => c.ordinals[p]);
    const moreVecs = more.length ? await this.vectorsOf(host, loaded, moreOrds) : new Float32Array(0);
    const all = new Float32Array(firstVecs.length + moreVecs.length);
    all.set(firstVecs);
    all.set(moreVecs, firstVecs.length);
    const ords = new Uint32Array(firstOrds.length + moreOrds.length);
    ords.set(firstOrds);
    ords.set(moreOrds, firstOrds.length);
    return index.rerank(query, want, ords, all);
  }

  /** The float32 vectors of these index ordinals, read by range (LargeValues), in their order. */
  private async vectorsOf(host: SearchHost, loaded: LoadedIndex, ordinals: Uint32Array): Promise<Float32Array> {
    const index = loaded.index;
    const ids = Array.from(ordinals, (o) => loaded.rowIds[o]);
    const values = await host.large.read(host.manifest, loaded.column, ids);
    const vectors = new Float32Array(ids.length * index.dim);
    ids.forEach((id, i) => {
      const v = values.get(id) as ArrayLike<number> | null | undefined;
      if (!v || v.length !== index.dim) throw new QuiverError('corrupt', `search: the vector of row ${id} in column "${loaded.column}" is missing from its file, which the index ${loaded.key} lists`, { key: loaded.key });
      vectors.set(v, i * index.dim);
    });
    return vectors;
  }

  /** Whether every file the index was built from is already held whole in memory (a scan read it). */
  private segmentsHeld(host: SearchHost, loaded: LoadedIndex): boolean {
    return loaded.files.every((f) => this.cache.get(`file|${f.key}|${loaded.column}`)?.kind === 'vector');
  }

  /** Reads the index's files whole and gives it their vectors (in index order). */
  private async attachAll(host: SearchHost, loaded: LoadedIndex): Promise<void> {
    const segs = await this.segmentsOf(host, loaded.column, loaded.files.map((f) => f.key));
    loaded.index.attachVectors(concatVectors(segs));
  }

  /**
   * Row ids of each of the column's current files in file order (rows with a vector): from the
   * manifest, without reading the file, where the ids are dense and the index holds a vector for
   * every row of the file; from the file's vectors otherwise (a file may hold NULL vectors).
   */
  private async segmentIds(host: SearchHost, column: string, indexed: LoadedIndex | null): Promise<{ key: string; rowIds: BigInt64Array }[]> {
    const groups = host.manifest.groups[column] ?? [];
    const full = new Set((indexed?.files ?? []).filter((f) => groups.some((g) => g.key === f.key && g.rows === f.rows)).map((f) => f.key));
    const multi = host.manifest.schema.find((c) => c.name === column)?.type.kind === 'list';
    const known = (g: GroupFileMeta) => !multi && full.has(g.key) && g.rowIdsDense === true;
    const segs = new Map((await this.segmentsOf(host, column, groups.filter((g) => !known(g)).map((g) => g.key))).map((sg) => [sg.key, sg]));
    return groups.map((g) => segs.get(g.key) ?? { key: g.key, rowIds: denseRowIds(g)! });
  }

  /**
   * How this version's vectors of a column are searched, worked out once per version and index:
   * the live rows the index serves (its file holds them at the positions it read) as a map from
   * live ordinal to index ordinal, and the segments searched exactly (rows appended or rewritten
   * after the index was built), with each position's live ordinal.
   */
  private async vectorLayout(host: SearchHost, column: string, indexed: LoadedIndex | null): Promise<VectorLayout> {
    const key = `${host.versionKey}|layout|${column}|${indexed ? indexed.key : ''}`;
    const hit = this.cache.get(key);
    if (hit?.kind === 'layout') return hit;
    const live = await this.liveIds(host);
    const covered = new Map((indexed?.files ?? []).map((f) => [f.key, f]));
    const liveToIdx = indexed ? new Int32Array(live.length).fill(-1) : null;
    const served = indexed ? new Uint32Array((indexed.rowIds.length + 31) >>> 5) : null;
    const exact: VectorLayout['exact'] = [];
    for (const seg of await this.segmentIds(host, column, indexed)) {
      const ords = await this.ordinals(host, seg.key, seg.rowIds);
      const f = covered.get(seg.key);
      if (f && indexed && liveToIdx && served && this.aligned(indexed, f, seg)) {
        // The index read this same file in this same order: its rows [start, start+rows) are this segment.
        for (let r = 0; r < ords.length; r++) {
          if (ords[r] < 0) continue;
          const i = f.start + r;
          liveToIdx[ords[r]] = i;
          served[i >>> 5] |= 1 << (i & 31);
        }
      } else exact.push({ key: seg.key, ords });
    }
    const layout: VectorLayout = {
      kind: 'layout',
      liveToIdx,
      indexedLive: indexed && served ? new Bitmap(indexed.rowIds.length, served) : null,
      exact,
      bytes: (liveToIdx?.byteLength ?? 0) + (served?.byteLength ?? 0) + exact.reduce((n, e) => n + e.ords.byteLength, 0),
    };
    this.cache.set(key, layout);
    return layout;
  }

  /** Whether index rows [f.start, f.start + f.rows) are exactly this segment's rows, in order. Checked once per pair. */
  private aligned(indexed: { rowIds: BigInt64Array }, f: { key: string; start: number; rows: number }, seg: { key: string; rowIds: BigInt64Array }): boolean {
    const key = `${indexed.rowIds.length}|${f.start}|${seg.key}`;
    let ok = this.alignment.get(key);
    if (ok === undefined) {
      ok = f.rows === seg.rowIds.length;
      for (let i = 0; ok && i < f.rows; i++) ok = indexed.rowIds[f.start + i] === seg.rowIds[i];
      this.alignment.set(key, ok);
    }
    return ok;
  }

  /** The live row ids of this version, ascending: the ordinal space of candidate bitmaps. Cached per version. */
  private async liveIds(host: SearchHost): Promise<BigInt64Array> {
    const key = `${host.versionKey}|live`;
    const hit = this.cache.get(key);
    if (hit?.kind === 'live') return hit.rowIds;
    let ids = host.scoped ? undefined : manifestLiveIds(host.manifest);
    if (!ids) {
      const sql = 'SELECT row_id FROM dataset';
      await host.prepareView(sql);
      ids = (await host.session.readInt64(sql)).sort();
    }
    this.cache.set(key, { kind: 'live', rowIds: ids, bytes: ids.byteLength });
    return ids;
  }

  /**
   * The vectors of each of the column's current files, rows ascending by row id within a file.
   * Files never change, so a file read once serves every later version that still lists it:
   * after an append only the new file is read.
   */
  private async segments(host: SearchHost, column: string): Promise<VectorCollection[]> {
    return this.segmentsOf(host, column, (host.manifest.groups[column] ?? []).map((f) => f.key));
  }

  /** The vectors of the given files of a column, each read once and cached by file key. */
  private async segmentsOf(host: SearchHost, column: string, keys: string[]): Promise<VectorCollection[]> {
    const col = host.manifest.schema.find((c) => c.name === column)!;
    // Held here as well as in the cache: a cache shared by every handle may evict one segment
    // while the next is read, and this query still needs all of them.
    const got = new Map<string, VectorCollection>();
    for (const k of keys) {
      const e = this.cache.get(`file|${k}|${column}`);
      if (e?.kind === 'vector') got.set(k, e);
    }
    const missing = keys.filter((k) => !got.has(k));
    const paths = await host.paths(missing);
    for (let i = 0; i < missing.length; i++) {
      const r = await readVectorFile(host.session, paths[i], col);
      const seg = sortSegment({ kind: 'vector', key: missing[i], rowIds: r.rowIds, data: r.data, dim: r.dim, ...(r.offsets ? { offsets: r.offsets } : {}), bytes: r.data.byteLength + r.rowIds.byteLength });
      this.cache.set(`file|${missing[i]}|${column}`, seg);
      got.set(missing[i], seg);
    }
    return keys.map((k) => got.get(k)!);
  }

  /**
   * The persisted ANN index of a column, if the version declares one, with its float32 vectors
   * taken from the files it was built from (the index file does not repeat them). Null when the
   * index cannot serve: another metric, its files no longer read back in the same order, or a
   * format this version no longer reads (answers stay exact; `createIndex` rebuilds it).
   */
  private async vectorIndex(host: SearchHost, column: string, metric: string): Promise<LoadedIndex | null> {
    const meta = this.indexMeta(host, column, 'vector', metric);
    if (!meta) return null;
    if (this.indexes.has(meta.key)) return this.indexes.get(meta.key)!;
    let file;
    try {
      file = await this.indexFile(host, meta.key);
      this.indexFetches.delete(meta.key);
    } catch (e) {
      if (!isQuiverError(e, 'unsupported') && !this.corruptIndex(e, meta.key)) throw e;
      this.indexes.set(meta.key, null);
      return null;
    }
    let loaded: LoadedIndex | null = null;
    const dense = this.lazyIds(host, column, file.files);
    if (dense) {
      // The vectors stay in their files and only candidates' are read (servedTopK).
      if (file.files.every((f, i) => this.aligned(file, f, { key: f.key, rowIds: dense[i] }))) loaded = { key: meta.key, index: loadVectorIndex(file, null), rowIds: file.rowIds, files: file.files, column, graphPart: file.graphPart, graphHead: file.graphHead };
    } else {
      const segs = await this.segmentsOf(host, column, file.files.map((f) => f.key));
      if (file.files.every((f, i) => this.aligned(file, f, segs[i]))) loaded = { key: meta.key, index: loadVectorIndex(file, concatVectors(segs)), rowIds: file.rowIds, files: file.files, column, graphPart: file.graphPart, graphHead: file.graphHead };
    }
    this.indexes.set(meta.key, loaded);
    return loaded;
  }

  /**
   * Whether `e` says the index file `key` is corrupt or truncated. If so the index is not used
   * again by this handle (its signal is searched exactly, so answers stay right) and a
   * QUIVER_CORRUPT_INDEX warning names the file; `createIndex` writes a new one. A corrupt data
   * file is not this: it fails the query, since no other copy of its rows exists.
   */
  private corruptIndex(e: unknown, key: string): boolean {
    if (!isQuiverError(e, 'corrupt') || e.details.key !== key) return false;
    this.indexFetches.delete(key);
    this.indexes.set(key, null);
    process.emitWarning(`${(e as Error).message}; searching its column exactly`, { code: CORRUPT_SEGMENT_WARNING });
    return true;
  }

  /**
   * The row ids of the index's files when its vectors can stay in them (read by range per
   * candidate): a one-vector column, and every file with dense ids and a vector in every row.
   * Undefined otherwise: the files are read whole.
   */
  private lazyIds(host: SearchHost, column: string, files: readonly IndexedFile[]): BigInt64Array[] | undefined {
    if (host.manifest.schema.find((c) => c.name === column)?.type.kind !== 'embedding') return undefined;
    const groups = new Map((host.manifest.groups[column] ?? []).map((g) => [g.key, g]));
    const out: BigInt64Array[] = [];
    for (const f of files) {
      const g = groups.get(f.key);
      const ids = g && g.rows === f.rows ? denseRowIds(g) : undefined;
      if (!ids) return undefined;
      out.push(ids);
    }
    return out;
  }

  /**
   * An index file, read and checked: the read a prefetch started, or a new one. It is read by
   * range without its graph (bench/objstore.ts: 5.3 of 13.4 MB, and loading the graph took ~200
   * ms of a cold query whose plan scanned codes; on a local disk ~160 of 850 ms at 100k);
   * {@link withGraph} fetches the graph when a plan walks it.
   */
  private indexFile(host: SearchHost, key: string): Promise<VectorIndexFile> {
    let file = this.indexFetches.get(key);
    if (!file) {
      const fail = (e: unknown) => {
        throw isQuiverError(e, 'corrupt') || isQuiverError(e, 'unsupported') ? e : dataFileError(key, e, 'index file');
      };
      file = readVectorIndexFile((range) => host.store.get(key, range), key, this.indexBytesGuess(host, key), host.store.localPath !== undefined).catch(fail);
      this.indexFetches.set(key, file);
      // A failed download is not kept: the next query tries again.
      file.catch(() => this.indexFetches.delete(key));
    }
    return file;
  }

  /** {@link eagerBytesGuess} of a vector index of this version, its files listed as the index lists them (0 for a list column). */
  private indexBytesGuess(host: SearchHost, key: string): number {
    const meta = host.manifest.indexes.find((i) => i.key === key);
    const col = meta && host.manifest.schema.find((c) => c.name === meta.column);
    if (!meta || col?.type.kind !== 'embedding') return 0;
    const built = new Set(meta.fragments);
    let start = 0;
    const files = (host.manifest.groups[meta.column] ?? []).filter((g) => built.has(g.key)).map((g) => ({ key: g.key, start: (start += g.rows) - g.rows, rows: g.rows }));
    // The tails it may carry (see IndexedTail): a guess that leaves them out costs a second read.
    const tails = files.length <= TAIL_PREFETCH_FILES_MAX ? (host.manifest.groups[meta.column] ?? []).reduce((n, g) => n + (built.has(g.key) ? (g.tail?.bytes ?? 0) : 0), 0) : 0;
    return eagerBytesGuess(files, col.type.dim, col.type.dim + (meta.options.metric === 'ip' ? 1 : 0), tails);
  }

  /** Loads the graph of an index read without it, before a plan that walks it. */
  private async withGraph(host: SearchHost, loaded: LoadedIndex): Promise<void> {
    if (loaded.index.hasGraph) return;
    const part = loaded.graphPart;
    if (!part) throw new QuiverError('corrupt', `search: the index ${loaded.key} was read without a graph and names none`, { key: loaded.key });
    const bytes = await readGraphPart((range) => host.store.get(loaded.key, range), part, loaded.key, loaded.graphHead).catch((e: unknown) => {
      throw isQuiverError(e, 'corrupt') ? e : dataFileError(loaded.key, e, 'index file');
    });
    if (!loaded.index.hasGraph) loaded.index.loadGraph(bytes);
  }

  /**
   * Starts the downloads a vector signal will wait for (its index file, the column's current
   * files) without waiting for them, so a cold query's transfers overlap the filter it works
   * out first. Decoding stays in the search's own order (it may use the DuckDB session).
   * Failures are left to the calls that need the bytes, which retry.
   */
  private prefetchVectors(host: SearchHost, s: VectorSignal, beforeTails: () => void): void {
    const quiet = () => undefined;
    const meta = this.indexMeta(host, s.column, 'vector', s.metric);
    if (meta && !this.indexes.has(meta.key)) {
      const loading = this.indexFile(host, meta.key);
      loading.catch(quiet);
      beforeTails();
      // The candidates' vectors are read by range from these files once the index has loaded:
      // their tails (footer and page index) come with the index (an index file carries copies of
      // its files' tails), and the other files' are read once it is in. Before the copies, the
      // tails were read beside the index: 20 requests holding the store's slots while the index
      // waited (bench/objstore.ts, cold vector + filter).
      if (!host.store.localPath && !s.multi) {
        const manifest = host.manifest;
        const rest = () => void host.large.prefetchTails(manifest, s.column);
        loading.then((file) => void host.large.primeTails(manifest, s.column, file.tails ?? []), quiet).then(rest, rest);
      }
    }
    // Files an index covers whose vectors stay remote (see lazyIds) are not downloaded.
    // (A vector index's `fragments` are the keys of the column files it was built over.)
    const covered = new Set(meta?.fragments ?? []);
    const lazy = !s.multi;
    const keys = (host.manifest.groups[s.column] ?? [])
      .filter((g) => !(lazy && covered.has(g.key) && hasDenseRowIds(g)))
      .map((f) => f.key)
      .filter((k) => this.cache.get(`file|${k}|${s.column}`)?.kind !== 'vector');
    host.paths(keys).catch(quiet);
  }

  /**
   * Starts the vector signals' downloads (prefetchVectors, idempotent) and the filter's
   * small-column files (prefetchColumns), without waiting (the search's own reads report a
   * failure). The store's request slots are taken in the order the query needs the bytes: the
   * filter's index files (prefetchFilter, before this), index files, then the filter's
   * small-column files, then the tails of vector files the index does not carry.
   */
  private prefetchSignals(host: SearchHost, topk: TopKPlan): void {
    let columns = false;
    const filterFiles = () => {
      if (!columns) this.prefetchColumns(host, topk.scalar.map((p) => p.column));
      columns = true;
    };
    for (const s of topk.signals) if (s.kind === 'vector') this.prefetchVectors(host, s, filterFiles);
    filterFiles();
  }

  /**
   * Reads the footers of the large-column files whose values the winners will return (layout
   * 2), so the winners' values cost their offset index parts and pages once the search has found
   * them, not a footer round trip more. They are asked for on the next turn of the event loop,
   * after the filter's and the index's reads (asked for first, each at once in its pieces): the
   * store serves requests in order, so the footers fill the slots those leave free instead of
   * holding them (asked first, the 5.2 MB index read once began 200 ms late). Asked only once the
   * index was in, they waited behind the search's CPU work too (bench/objstore.ts, cold "20
   * winners + images": asked at 171 ms for an index in at 115; now asked at ~100, in by ~150, the
   * query 332 → 301–355 ms, load 4–5). A signal's own vector column is left to
   * prefetchVectors (its candidates need most page locations: the whole tail is read). Which
   * columns the query names is only a hint here: a text the parser refuses prefetches nothing.
   */
  private async prefetchLargeFooters(host: SearchHost, topk: TopKPlan, sql: string): Promise<void> {
    const needed = await host.referenced(sql).catch(() => new Set<string>());
    const signals = new Set(topk.signals.map((s) => s.column));
    const columns = host.manifest.schema.filter((c) => isLarge(c.type) && !signals.has(c.name) && (needed === 'all' || needed.has(c.name.toLowerCase())));
    if (columns.length) setImmediate(() => columns.forEach((c) => host.large.prefetchFooters(host.manifest, c.name)));
  }

  private texts(session: Session): Map<string, TextCollection> {
    return TEXTS_OF_QUERY.get(this.token(session)) ?? new Map();
  }

  /** Builds (or reuses) the BM25 statistics of every text column the query scores. */
  private async loadText(host: SearchHost, columns: string[]): Promise<void> {
    const current = new Map<string, TextCollection>();
    TEXTS_OF_QUERY.set(this.token(host.session), current);
    for (const column of new Set(columns)) {
      const meta = this.indexMeta(host, column, 'fulltext');
      const key = `${host.versionKey}|t|${column}|${JSON.stringify(meta?.options ?? {})}`;
      let c = this.cache.get(key);
      if (c?.kind !== 'text' && meta && !host.scoped && segmentable(host.manifest, column)) {
        c = await this.textSegments.collection(host, meta, await this.liveIds(host), (path) => this.lookup.deleted(path));
        if (c) this.cache.set(key, c);
      }
      if (c?.kind !== 'text') {
        const sql = `SELECT row_id, ${quoteIdent(column)} AS t FROM dataset ORDER BY row_id`;
        await host.prepareView(sql);
        const r = await host.session.all(sql);
        c = textCollection(BigInt64Array.from(r.rows.map((x) => x.row_id as bigint)), r.rows.map((x) => x.t as string | null), (meta?.options ?? {}) as object);
        this.cache.set(key, c);
      }
      current.set(column, c as TextCollection);
    }
  }
}

/** A BLOB value read by range as DuckDB's rows give it: a Buffer of its own (not a view of a cached page), or null. */
function blobOf(v: unknown): Uint8Array | null | undefined {
  if (v === null || v === undefined) return null;
  return v instanceof Uint8Array ? Buffer.from(v) : undefined;
}

/**
 * The live row ids of a version from its manifest alone, ascending, when every fragment's ids
 * are dense, none is deleted and no two fragments' ranges overlap (a version only appended to):
 * no view is bound and no small-column file waited for (bench/objstore.ts, cold vector +
 * filter: the DuckDB `SELECT row_id` over 20 downloaded files took ~27 ms at load 5, after
 * their downloads). Undefined otherwise: the view's rows are read.
 */
export function manifestLiveIds(m: Manifest): BigInt64Array | undefined {
  const frags = [...m.fragments].sort((a, b) => (BigInt(a.rowIdMin) < BigInt(b.rowIdMin) ? -1 : 1));
  let rows = 0;
  let last = -1n;
  for (const f of frags) {
    if (!f.rowIdsDense || (f.deletes && f.deletes.count > 0)) return undefined;
    if (f.rows === 0) continue;
    if (!hasDenseRowIds(f) || BigInt(f.rowIdMin) <= last) return undefined;
    last = BigInt(f.rowIdMax);
    rows += f.rows;
  }
  const ids = new BigInt64Array(rows);
  let o = 0;
  for (const f of frags) {
    fillDenseIds(ids, o, BigInt(f.rowIdMin), f.rows);
    o += f.rows;
  }
  return ids;
}

/** The segments' vectors end to end, in segment order. */
function concatVectors(segs: readonly VectorCollection[]): Float32Array {
  const vectors = new Float32Array(segs.reduce((n, sg) => n + sg.data.length, 0));
  let o = 0;
  for (const sg of segs) {
    vectors.set(sg.data, o);
    o += sg.data.length;
  }
  return vectors;
}

/**
 * When a signal's scored rows do not fill its list of k, the candidates it could not score
 * (bm25: none of the words; a vector: none) fill it with score `unscored`: SQL ranks them after
 * every scored row, all sharing one rank, which is returned (undefined when the list was full).
 * `universe` holds the ids of the ordinals `candidates` (null: all) ranges over.
 */
function fillTail(rowIds: bigint[], scores: number[], k: number, universe: BigInt64Array, candidates: Bitmap | null, unscored: number): number | undefined {
  if (rowIds.length >= k) return undefined;
  const tailRank = rowIds.length + 1;
  const seen = new Set(rowIds);
  for (let o = 0; o < universe.length && rowIds.length < k; o++) {
    if ((!candidates || candidates.has(o)) && !seen.has(universe[o])) {
      rowIds.push(universe[o]);
      scores.push(unscored);
    }
  }
  return tailRank;
}
