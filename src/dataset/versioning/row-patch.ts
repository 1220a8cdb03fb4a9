// Per-row values: `update({ rows })` and `upsert`. A row patch is a row id and the columns it
// sets; patches are validated when staged and resolved in one pass at commit, so a feedback
// stream of one-row updates costs one small fragment per commit, not one per update.
// Invariant: a patch set holds each row id once (a later patch of a row merges into it).

import { QuiverError } from '../../errors.js';
import { columnize, derivedColumns, isLarge, livePatches, type ColumnDef, type FragmentMeta, type Manifest, type ParquetColumn, type RecordInput } from '../../format/index.js';
import { inRange, quoteIdent, quoteString } from '../../query/index.js';
import { deletedSet, idsTable, versionSql, type IdSet, type VersionContext } from './context.js';
import { smallColumnNames } from './diff.js';
import { byColumnNames, byColumns, patchable, writePatches } from './column-patch.js';
import { changedColumns, emptyRowWrite, writeLargeValues, writeSmallFragment, type RowWrite } from './row-write.js';

/** New values by row id: each patch names only the columns it sets. */
export type RowPatches = Map<bigint, Record<string, unknown>>;

/** The field of a looked-up row naming the fragment holding it (a view's `fragmentColumn`). */
export const FRAGMENT_COL = '__quiver_fragment';

/**
 * Row ids up to this many are matched as SQL literals, which lets DuckDB skip row groups by
 * their row_id statistics; more are joined from a temp table (a long IN list costs more to
 * plan than the scan it saves).
 */
const LITERAL_IDS_MAX = 256;

/** Fragments of up to this many rows are read whole once and kept (see FragmentRowsCache). */
const FRAGMENT_ROWS_CACHED_MAX = 4096;

function rowIdOf(v: unknown, i: number): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new QuiverError('invalid_input', `update: rows[${i}] needs an integer row_id, got ${String(v)}`, { row: i });
}

/** Validates partial records (only the columns each names) against `schema`; throws naming the record. */
export function validatePartial(schema: readonly ColumnDef[], records: readonly Record<string, unknown>[], subject: string): void {
  for (const [key, idx] of byColumns(records)) {
    const names = key === '' ? [] : key.split('\0');
    for (const n of names) {
      if (!schema.some((c) => c.name === n)) throw new QuiverError('schema_mismatch', `${subject}: rows[${idx[0]}] sets unknown column "${n}"`, { row: idx[0], column: n });
    }
    const sub = schema.filter((c) => names.includes(c.name));
    try {
      columnize(sub, idx.map((i) => records[i]), idx.map(() => 0n));
    } catch (e) {
      if (e instanceof QuiverError && typeof e.details.row === 'number') {
        const row = idx[e.details.row];
        throw new QuiverError(e.code, `${subject}: rows[${row}]: ${e.message}`, { ...e.details, row }, { cause: e });
      }
      throw e;
    }
  }
}

/**
 * Turns `update({ rows })` input into patches: every entry has a `row_id` and at least one
 * column; a row id twice in one call is an error. Validates every value; stages nothing on error.
 */
export function rowPatchesOf(schema: readonly ColumnDef[], rows: readonly Record<string, unknown>[]): RowPatches {
  if (!Array.isArray(rows)) throw new QuiverError('invalid_input', 'update: rows must be an array of { row_id, column: value }');
  const out: RowPatches = new Map();
  const sets: Record<string, unknown>[] = [];
  rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new QuiverError('invalid_input', `update: rows[${i}] is not a record object`, { row: i });
    // A copy without row_id, by a loop: a rest destructure per row was ~2-4 ms of a 10k-row call, cold (profiled).
    const set: Record<string, unknown> = {};
    let named = 0;
    for (const k of Object.keys(r)) {
      if (k === 'row_id') continue;
      set[k] = (r as Record<string, unknown>)[k];
      named++;
    }
    const id = rowIdOf((r as Record<string, unknown>).row_id, i);
    if (named === 0) throw new QuiverError('invalid_input', `update: rows[${i}] sets no column`, { row: i });
    if (out.has(id)) throw new QuiverError('invalid_input', `update: row id ${id} appears twice in one call`, { rowId: id, row: i });
    out.set(id, set);
    sets.push(set);
  });
  validatePartial(schema, sets, 'update');
  return out;
}

/**
 * `later` merged into `into`, as mergePatches does; when `into` is empty, `later` itself (the
 * caller hands it over): a 10k-row update was copied entry by entry into an empty map (~2-4 ms cold).
 */
export function mergedPatches(into: RowPatches, later: RowPatches): RowPatches {
  if (into.size === 0) return later;
  mergePatches(into, later);
  return into;
}

/** Merges `later` into `into`: a row patched twice keeps the later value of each column. */
export function mergePatches(into: RowPatches, later: RowPatches): void {
  // A row patched once keeps its patch object (patches are never mutated): a copy of each
  // took 0.38 s of a 100k-row embedding backfill at load 19.
  for (const [id, set] of later) {
    const had = into.get(id);
    into.set(id, had ? { ...had, ...set } : set);
  }
}

/** The manifest with only the fragments whose row-id range may hold one of `ids`. */
function pruned(m: Manifest, ids: readonly bigint[]): Manifest {
  let lo = ids[0];
  let hi = ids[0];
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const holds = (f: { rowIdMin: string; rowIdMax: string }) => {
    const a = BigInt(f.rowIdMin);
    const b = BigInt(f.rowIdMax);
    return b >= lo && a <= hi && inRange(sorted, a, b);
  };
  return { ...m, fragments: m.fragments.filter(holds) };
}

/** The SQL set (after IN) of `ids`: literals when few, else a temp table filled with them. */
async function idsMatch(ctx: VersionContext, ids: readonly bigint[]): Promise<string> {
  if (ids.length <= LITERAL_IDS_MAX) return `(${ids.join(', ')})`;
  await idsTable(ctx, '__quiver_patch_ids', ids);
  return '(SELECT id FROM __quiver_patch_ids)';
}

/**
 * The live rows of `m` with these ids: row id, holding fragment and every small column. Reads
 * only the fragments whose row-id range holds one, with the ids as literals so DuckDB skips
 * row groups by their row_id statistics; deleted copies are dropped here, from cached deletes.
 */
async function liveRowsById(ctx: VersionContext, m: Manifest, ids: readonly bigint[]): Promise<Record<string, unknown>[]> {
  const sub = pruned(m, ids);
  const frags = sub.fragments;
  if (frags.length === 0) return [];
  const direct = await rowsFromFiles(ctx, m, frags, ids);
  if (direct) return withoutDeleted(ctx, frags, direct);
  if (m.evolution || livePatches(m).length) {
    // Files of older schemas name columns differently, and column patches are joined: read
    // them through the version's view.
    const cols = ['row_id', FRAGMENT_COL, ...smallColumnNames(m)].map(quoteIdent).join(', ');
    const view = await versionSql(ctx.paths, sub, { large: 'none', fragmentColumn: FRAGMENT_COL });
    return (await ctx.session.all(`SELECT ${cols} FROM (${view}) WHERE row_id IN ${await idsMatch(ctx, ids)}`)).rows;
  }
  const cols = ['row_id', ...smallColumnNames(m)].map(quoteIdent).join(', ');
  const cache = ctx.fragmentRows;
  const cached = new Map<string, Map<bigint, Record<string, unknown>>>();
  for (const f of cache ? frags : []) {
    const hit = cache!.get(f.key, cols);
    if (hit) cached.set(f.id, hit);
  }
  // Small fragments not cached yet are read whole (once); the others by the ids.
  const whole = cache ? frags.filter((f) => !cached.has(f.id) && f.rows <= FRAGMENT_ROWS_CACHED_MAX) : [];
  const byIds = frags.filter((f) => !cached.has(f.id) && !whole.includes(f));
  const read = [...byIds, ...whole];
  const paths = await ctx.paths(read.map((f) => f.key));
  const fragOf = new Map(paths.map((p, i) => [p, read[i]]));
  const pathOf = new Map(read.map((f, i) => [f.id, paths[i]]));
  const scan = (fs: readonly FragmentMeta[]) => `SELECT ${cols}, __quiver_file FROM read_parquet([${fs.map((f) => quoteString(pathOf.get(f.id)!)).join(', ')}], filename = '__quiver_file')`;
  const parts = [...(byIds.length ? [`${scan(byIds)} WHERE row_id IN ${await idsMatch(ctx, ids)}`] : []), ...(whole.length ? [scan(whole)] : [])];
  const rows = parts.length ? (await ctx.session.all(parts.join(' UNION ALL '))).rows : [];
  const wanted = new Set(ids);
  const found: Record<string, unknown>[] = [];
  const filled = new Map(whole.map((f) => [f.id, new Map<bigint, Record<string, unknown>>()]));
  for (const r of rows) {
    const f = fragOf.get(r.__quiver_file as string)!;
    delete r.__quiver_file;
    const keep = filled.get(f.id);
    if (!keep) {
      r[FRAGMENT_COL] = f.id;
      found.push(r);
      continue;
    }
    // A kept row is shared by later lookups: the caller gets a copy.
    keep.set(r.row_id as bigint, r);
    if (wanted.has(r.row_id as bigint)) found.push({ ...r, [FRAGMENT_COL]: f.id });
  }
  for (const f of whole) cache!.set(f.key, cols, filled.get(f.id)!);
  for (const [fid, byId] of cached) {
    for (const id of ids) {
      const r = byId.get(id);
      if (r) found.push({ ...r, [FRAGMENT_COL]: fid });
    }
  }
  return withoutDeleted(ctx, frags, found);
}

/** `found` (rows tagged with their fragment) without the rows their fragment deletes, from cached deletes. */
async function withoutDeleted(ctx: VersionContext, frags: readonly FragmentMeta[], found: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const dead = new Map<string, IdSet>();
  for (const f of frags) if (f.deletes && f.deletes.count > 0) dead.set(f.id, await deletedSet(ctx, f.deletes.key));
  const out: Record<string, unknown>[] = [];
  for (const r of found) {
    if (dead.get(r[FRAGMENT_COL] as string)?.has(r.row_id as bigint)) continue;
    out.push(r);
  }
  return out;
}

/**
 * Column kinds whose values as Quiver's Parquet reader decodes them are the values DuckDB
 * returns for them (and `columnize` takes back): no timestamps (raw microseconds) and no lists.
 */
const DIRECT_KINDS: ReadonlySet<string> = new Set(['text', 'json', 'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64']);

/**
 * The rows with these ids in each of `frags` (deleted or not, tagged with the fragment), read
 * from the small-column files by RowLookup: the row-id page of a row group is kept, so a
 * feedback stream's lookup of 16 ids in a 100k-row fragment reads a few pages instead of one
 * DuckDB query (~10 ms a group commit). Null when the files or types need DuckDB's reader.
 */
async function rowsFromFiles(ctx: VersionContext, m: Manifest, frags: readonly FragmentMeta[], ids: readonly bigint[]): Promise<Record<string, unknown>[] | null> {
  const lookup = ctx.rowLookup;
  if (!lookup || m.evolution || !m.schema.every((c) => isLarge(c.type) || DIRECT_KINDS.has(c.type.kind))) return null;
  const names = smallColumnNames(m);
  const found: Record<string, unknown>[] = [];
  try {
    for (const f of frags) {
      // One fragment at a time, its deletes left out: a row hidden here may be live in another.
      const got = await lookup.rows({ ...m, fragments: [{ ...f, deletes: undefined }] }, ctx.paths, ids, names);
      for (const [id, values] of got.rows) {
        const r: Record<string, unknown> = { row_id: id };
        names.forEach((n, k) => (r[n] = values[k]));
        r[FRAGMENT_COL] = f.id;
        found.push(r);
      }
    }
  } catch (e) {
    if (e instanceof QuiverError && e.code === 'unsupported') return null;
    throw e;
  }
  return found;
}

/**
 * Live rows of `m` by row id, as `planRowPatches` reads them; the lookup a caller may keep for
 * it. Null: the row is live, its columns were not read (a lookup for large-only patches).
 */
export type LiveRows = Map<bigint, Record<string, unknown> | null>;

/**
 * True when `set` names only large columns (no image): a backfill, which rewrites those
 * columns' files and leaves the row in its fragment, so its small columns are never read.
 */
export function largeOnly(schema: readonly ColumnDef[], set: Record<string, unknown>): boolean {
  for (const name of Object.keys(set)) {
    const c = schema.find((x) => x.name === name);
    if (!c || !isLarge(c.type) || derivedColumns(c).length > 0) return false;
  }
  return true;
}

/**
 * Which of `ids` are live rows of `m`, with their rows: one lookup, reading only fragments that
 * may hold them. Without `columns`, only which are live (values null), from the row-id pages
 * and deletes files, whatever the schema's history: a 100k-row backfill after `addColumn` read
 * every small column of every row through DuckDB for this (0.55 s of 10 s at load 19).
 */
export async function liveRowIds(ctx: VersionContext, m: Manifest, ids: readonly bigint[], columns = true): Promise<LiveRows> {
  if (!columns && ctx.rowLookup) {
    try {
      const found = await ctx.rowLookup.rows(m, ctx.paths, ids, []);
      const live: LiveRows = new Map();
      for (const id of found.rows.keys()) live.set(id, null);
      return live;
    } catch (e) {
      if (!(e instanceof QuiverError && e.code === 'unsupported')) throw e;
    }
  }
  return new Map((await liveRowsById(ctx, m, ids)).map((r) => [r.row_id as bigint, r]));
}

/** The error for row ids that match no live row, listing them in `details.rowIds`. */
export function rowIdsNotFound(missing: readonly bigint[]): QuiverError {
  return new QuiverError('not_found', `update: ${missing.length} row id(s) match no row (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`, { rowIds: [...missing] });
}

/**
 * Writes the rows `patches` change over `m`: one small fragment holding every patched row
 * (its other small columns copied), and copy-on-write large files for large columns a patch
 * names. A row id that matches no live row fails with `not_found` before anything is written.
 * Rows setting only patchable columns become a column patch (column-patch.ts) unless
 * `columnPatches` is false (a caller that applies only `hide`, `addFragments` and `groups`).
 * `known` holds rows already looked up over `m` (see LiveRows).
 */
export async function planRowPatches(ctx: VersionContext, m: Manifest, patches: RowPatches, known?: LiveRows, options: { columnPatches?: boolean } = {}): Promise<RowWrite> {
  // Rows setting only patchable columns become a column patch: they are checked live (row ids
  // and deletes only) and never read; the others are rewritten whole below.
  const patchIdsOf: bigint[] = [];
  const patchSets: Record<string, unknown>[] = [];
  const wholeIds: bigint[] = [];
  const asPatch = byColumnNames((set) => options.columnPatches !== false && patchable(m, set));
  for (const [id, set] of patches) {
    if (asPatch(set)) {
      patchIdsOf.push(id);
      patchSets.push(set);
    } else wholeIds.push(id);
  }
  if (patchIdsOf.length) {
    const live = known && patchIdsOf.every((id) => known.has(id)) ? known : await liveRowIds(ctx, m, patchIdsOf, false);
    const missing = patchIdsOf.filter((id) => !live.has(id));
    if (missing.length) throw rowIdsNotFound(missing);
  }
  const ids = wholeIds;
  const columns = ids.some((id) => !largeOnly(m.schema, patches.get(id)!));
  // `known` is a lookup made over this same manifest (when the calls were checked): reused whole.
  const reuse = known && ids.every((id) => known.has(id) && (!columns || known.get(id) !== null));
  const rows = ids.length === 0 ? [] : reuse ? ids.map((id) => known!.get(id) ?? { row_id: id }) : [...(await liveRowIds(ctx, m, ids, columns))].map(([id, r]) => r ?? { row_id: id });
  if (rows.length !== ids.length) {
    const found = new Set(rows.map((r) => r.row_id as bigint));
    throw rowIdsNotFound(ids.filter((id) => !found.has(id)));
  }
  const w = emptyRowWrite();
  // Rows naming the same columns share one columnize pass; their columns are concatenated.
  const sets = rows.map((r) => patches.get(r.row_id as bigint)!);
  let scalar: ParquetColumn[] | undefined;
  const large = new Map<string, Map<bigint, unknown>>();
  const addLarge = (column: string, ids: bigint[], values: unknown[]) => {
    let byId = large.get(column);
    if (!byId) large.set(column, (byId = new Map()));
    ids.forEach((id, k) => byId!.set(id, values[k]));
  };
  for (const idx of byColumns(sets).values()) {
    const ids = idx.map((i) => rows[i].row_id as bigint);
    const named = m.schema.filter((c) => c.name in sets[idx[0]]);
    if (largeOnly(m.schema, sets[idx[0]])) {
      // Only large columns change (a backfill): their files are rewritten, the rows stay put.
      const batch = columnize(named, idx.map((i) => sets[i]), ids);
      for (const [column, cols] of batch.large) addLarge(column, ids, cols[1].values as unknown[]);
      continue;
    }
    for (const r of idx.map((i) => rows[i])) {
      const f = r[FRAGMENT_COL] as string;
      let list = w.hide.get(f);
      if (!list) w.hide.set(f, (list = []));
      list.push(r.row_id as bigint);
    }
    const part = changedColumns(m.schema, idx.map((i) => rows[i]), sets[idx[0]], ids, idx.map((i) => sets[i]));
    scalar = scalar ? scalar.map((c, k) => ({ ...c, values: (c.values as unknown[]).concat(part.scalar[k].values as unknown[]) })) : part.scalar;
    for (const [column, values] of part.large) addLarge(column, ids, values);
  }
  let bytes = 0;
  if (scalar) {
    const frag = await writeSmallFragment(ctx, scalar);
    w.addFragments.push(frag.fragment);
    bytes += frag.bytes;
  }
  for (const [column, byId] of large) {
    const def = m.schema.find((c) => c.name === column && isLarge(c.type))!;
    const g = await writeLargeValues(ctx, m, def, byId);
    w.groups.push({ column, remove: g.remove, add: g.add });
    bytes += g.bytes;
  }
  if (patchIdsOf.length) {
    const written = await writePatches(ctx, m, patchIdsOf, patchSets);
    w.patches = { written, base: m };
    for (const p of written) bytes += p.meta.bytes;
  }
  if (w.hide.size) w.basePatches = new Set((m.patches ?? []).map((p) => p.key));
  w.stats = { rowsUpdated: rows.length + patchIdsOf.length, bytesWritten: bytes };
  return w;
}

/**
 * Splits upsert records by key column `on` into patches of existing rows and new records.
 * `existing` maps each key found in the dataset to the row ids holding it. A key twice in the
 * call, a null key, or a key held by several rows is an error and nothing is staged.
 */
export function splitUpsert(schema: readonly ColumnDef[], records: readonly RecordInput[], on: string, existing: Map<unknown, bigint[]>): { patches: RowPatches; inserts: RecordInput[] } {
  const seen = new Set<unknown>();
  const patches: RowPatches = new Map();
  const inserts: RecordInput[] = [];
  const sets: Record<string, unknown>[] = [];
  records.forEach((rec, i) => {
    const key = keyValue((rec as Record<string, unknown>)[on]);
    if (key === null) throw new QuiverError('invalid_input', `upsert: records[${i}] has no value for key column "${on}"`, { row: i, column: on });
    if (seen.has(key)) throw new QuiverError('invalid_input', `upsert: key ${on} = ${String(key)} appears twice in one call`, { row: i, column: on, key });
    seen.add(key);
    const ids = existing.get(key);
    if (ids && ids.length > 1) throw new QuiverError('conflict', `upsert: key ${on} = ${String(key)} matches ${ids.length} rows (row ids ${ids.slice(0, 5).join(', ')}); the key column must be unique`, { column: on, key, rowIds: ids });
    if (ids) {
      // A copy: staged patches are kept as they are, and the caller may reuse its record. The
      // key is left out (the row holds it already), so the key column is never patched and
      // the next upsert still finds keys in the files; a record of the key alone keeps it.
      const rest: Record<string, unknown> = {};
      let named = 0;
      for (const k of Object.keys(rec)) {
        if (k === on) continue;
        rest[k] = (rec as Record<string, unknown>)[k];
        named++;
      }
      patches.set(ids[0], named ? rest : { ...(rec as Record<string, unknown>) });
      sets.push(rec as Record<string, unknown>);
    } else inserts.push(rec);
  });
  validatePartial(schema, sets, 'upsert');
  return { patches, inserts };
}

/** A key as a Map key: numbers and bigints of one value compare equal; strings as they are. */
export function keyValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (v instanceof Date) return v.getTime();
  return v;
}
