// What the versioning operations need from a dataset handle: the store, a DuckDB session and
// local paths for object keys. Helpers here make views of any manifest and temp tables of row
// ids; every name they create is prefixed `__quiver_` so it cannot shadow a user's table.

import type { Manifest } from '../../format/index.js';
import { planScan, viewSql, type Param, type ScanOptions, type Session } from '../../query/index.js';
import type { ObjectStore } from '../../storage/index.js';

export interface VersionContext {
  store: ObjectStore;
  session: Session;
  /** Local paths holding the objects' bytes (the store's own files, or cached copies). */
  paths(keys: readonly string[]): Promise<string[]>;
  /** Row ids of deletes files already read, by key (files are immutable). */
  deletesCache: Map<string, bigint[]>;
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

/** The row ids in a deletes file. */
export async function readDeletes(ctx: VersionContext, key: string): Promise<bigint[]> {
  const hit = ctx.deletesCache.get(key);
  if (hit) return hit;
  const r = await ctx.session.all(`SELECT row_id FROM read_parquet('${(await pathOf(ctx, key)).replace(/'/g, "''")}')`);
  const ids = r.rows.map((x) => x.row_id as bigint);
  ctx.deletesCache.set(key, ids);
  return ids;
}
