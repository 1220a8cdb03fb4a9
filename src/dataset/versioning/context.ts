// What the versioning operations need from a dataset handle: the store, a DuckDB session and
// local paths for object keys. Helpers here make views of any manifest and temp tables of row
// ids; every name they create is prefixed `__quiver_` so it cannot shadow a user's table.

import type { Manifest } from '../../format/index.js';
import { planScan, viewSql, type Param, type RowLookup, type ScanOptions, type Session } from '../../query/index.js';
import type { ObjectStore } from '../../storage/index.js';

export interface VersionContext {
  store: ObjectStore;
  session: Session;
  /** Local paths holding the objects' bytes (the store's own files, or cached copies). */
  paths(keys: readonly string[]): Promise<string[]>;
  /** Row ids of deletes files already read or written, by key (files are immutable). */
  deletesCache: DeletesCache;
  /** Whole rows of small fragments already read, for row lookups by id (see FragmentRowsCache). */
  fragmentRows?: FragmentRowsCache;
  /** Reads rows by id straight from small-column files, with their row-id pages kept (see row-patch.ts). */
  rowLookup?: RowLookup;
  /**
   * A scoped handle's row filter (SQL Quiver wrote): what `createScopedView` keeps. Reads a
   * caller asked for (update and delete targets, diff) use scoped views; maintenance
   * (compaction, merges, commit-time rebases) reads every row.
   */
  rowFilter?: string;
}

/** The SELECT of manifest `m`'s rows, over local paths of its files. */
export async function versionSql(paths: VersionContext['paths'], m: Manifest, opts: ScanOptions = {}): Promise<string> {
  const plan = planScan(m, opts);
  const resolved = await paths(plan.keys);
  const map = new Map(plan.keys.map((k, i) => [k, resolved[i]]));
  return viewSql(plan, (k) => map.get(k)!);
}

/** Creates (or replaces) temp view `name` over manifest `m`. */
export async function createVersionView(ctx: VersionContext, name: string, m: Manifest, opts: ScanOptions = {}): Promise<void> {
  await ctx.session.run(`CREATE OR REPLACE TEMP VIEW ${name} AS ${await versionSql(ctx.paths, m, opts)}`);
}

/** `createVersionView` of only the rows the handle's scope lets its caller see (all of them when unscoped). */
export async function createScopedView(ctx: VersionContext, name: string, m: Manifest, opts: ScanOptions = {}): Promise<void> {
  await createVersionView(ctx, name, m, ctx.rowFilter ? { ...opts, where: ctx.rowFilter } : opts);
}

/** A local path for one key. */
export async function pathOf(ctx: VersionContext, key: string): Promise<string> {
  return (await ctx.paths([key]))[0];
}

/** Creates (or replaces) temp table `name(id BIGINT)` holding `ids`. */
export async function idsTable(ctx: VersionContext, name: string, ids: readonly bigint[]): Promise<void> {
  await ctx.session.run(`CREATE OR REPLACE TEMP TABLE ${name} (id BIGINT)`);
  const chunk = 50_000;
  for (let i = 0; i < ids.length; i += chunk) {
    await ctx.session.run(`INSERT INTO ${name} SELECT unnest($1::BIGINT[])`, [ids.slice(i, i + chunk) as readonly Param[]]);
  }
}

/** Membership of row ids in a deletes file. */
export interface IdSet {
  has(id: bigint): boolean;
}

/**
 * A deletes file's ids as the previous file's set plus the ids one commit added: a feedback
 * stream writes its fragment's deletes again each publish (15,000 ids at the benchmark's 100k
 * rows), and a new Set of them per publish cost 4 ms. Flattened once it chains too deep.
 */
class DerivedIdSet implements IdSet {
  readonly depth: number;
  constructor(
    readonly base: IdSet,
    readonly added: Set<bigint>,
  ) {
    this.depth = base instanceof DerivedIdSet ? base.depth + 1 : 1;
  }
  has(id: bigint): boolean {
    return this.added.has(id) || this.base.has(id);
  }
}

/** Derived sets chain at most this deep (a lookup tests each link). */
const ID_SET_DEPTH_MAX = 16;

/**
 * Row ids of deletes files by key, least recently used dropped first once more than `idsMax`
 * ids are held: each commit of a feedback stream writes its fragment's deletes file again, and
 * an unbounded map held every version's copy. Membership sets are built once per file (one
 * per lookup cost 5 ms a call) or derived from the file a commit extended.
 */
export class DeletesCache {
  readonly #entries = new Map<string, { ids: readonly bigint[]; set?: IdSet }>();
  #held = 0;
  constructor(readonly idsMax = 1_000_000) {}

  get(key: string): readonly bigint[] | undefined {
    return this.#touch(key)?.ids;
  }

  /** The ids as a set (built on first use). */
  setOf(key: string): IdSet | undefined {
    const e = this.#touch(key);
    if (e) e.set ??= new Set(e.ids);
    return e?.set;
  }

  set(key: string, ids: readonly bigint[]): void {
    this.#put(key, { ids });
  }

  /** Records file `key` as file `from` (when cached) plus `added`: its set is derived, not rebuilt. */
  extend(key: string, ids: readonly bigint[], from: string | undefined, added: readonly bigint[]): void {
    const base = from === undefined ? undefined : this.#entries.get(from)?.set;
    const derived = base && !(base instanceof DerivedIdSet && base.depth >= ID_SET_DEPTH_MAX) ? new DerivedIdSet(base, new Set(added)) : undefined;
    this.#put(key, { ids, ...(derived ? { set: derived } : {}) });
  }

  #put(key: string, entry: { ids: readonly bigint[]; set?: IdSet }): void {
    const old = this.#entries.get(key);
    if (old) this.#held -= old.ids.length;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#held += entry.ids.length;
    for (const [k, e] of this.#entries) {
      if (this.#held <= this.idsMax || k === key) break;
      this.#entries.delete(k);
      this.#held -= e.ids.length;
    }
  }

  #touch(key: string): { ids: readonly bigint[]; set?: IdSet } | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }
}

/**
 * The small-column rows of small fragments (a group commit's patch fragment), read whole once
 * and looked up by row id after: a feedback stream's row lookup read ~20 such files per call
 * through DuckDB (12 ms a call); files are immutable, so a key's rows never change. Least
 * recently used dropped first once more than `rowsMax` rows are held.
 */
export class FragmentRowsCache {
  readonly #entries = new Map<string, Map<bigint, Record<string, unknown>>>();
  #held = 0;
  constructor(readonly rowsMax = 200_000) {}

  /** Rows by id of the fragment file `key` read with columns `columns` (one string). */
  get(key: string, columns: string): Map<bigint, Record<string, unknown>> | undefined {
    const k = `${key}\0${columns}`;
    const e = this.#entries.get(k);
    if (e) {
      this.#entries.delete(k);
      this.#entries.set(k, e);
    }
    return e;
  }

  set(key: string, columns: string, rows: Map<bigint, Record<string, unknown>>): void {
    const k = `${key}\0${columns}`;
    const old = this.#entries.get(k);
    if (old) this.#held -= old.size;
    this.#entries.delete(k);
    this.#entries.set(k, rows);
    this.#held += rows.size;
    for (const [x, e] of this.#entries) {
      if (this.#held <= this.rowsMax || x === k) break;
      this.#entries.delete(x);
      this.#held -= e.size;
    }
  }
}

/** The row ids in a deletes file. */
export async function readDeletes(ctx: VersionContext, key: string): Promise<readonly bigint[]> {
  const hit = ctx.deletesCache.get(key);
  if (hit) return hit;
  const r = await ctx.session.all(`SELECT row_id FROM read_parquet('${(await pathOf(ctx, key)).replace(/'/g, "''")}')`);
  const ids = r.rows.map((x) => x.row_id as bigint);
  ctx.deletesCache.set(key, ids);
  return ids;
}

/** The row ids in a deletes file, as a set. */
export async function deletedSet(ctx: VersionContext, key: string): Promise<IdSet> {
  const hit = ctx.deletesCache.setOf(key);
  if (hit) return hit;
  await readDeletes(ctx, key);
  return ctx.deletesCache.setOf(key)!;
}
