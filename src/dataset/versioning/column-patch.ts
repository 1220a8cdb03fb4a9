// Column patches: an update that sets small columns of rows that stay in their fragments writes
// one Parquet file of `row_id` + those columns (Manifest.patches), not a copy of each row's other
// columns, a new fragment and a deletes file. Readers join it on the row id (dataset-view.ts) or
// overlay it (row-lookup.ts, the stream). Scope: small, non-indexed, non-tenant columns of a
// version whose schema never changed; everything else keeps the whole-row path (row-write.ts).
// Invariants: a patch holds each row id once, sorted; its values apply only to the copies of its
// rows in its `fragments`; a version holds at most PATCHES_MAX patches (older ones are folded).

import { QuiverError, assert } from '../../errors.js';
import {
  SCALAR_FILE_OPTIONS,
  columnize,
  crc32Of,
  derivedColumns,
  isLarge,
  livePatches,
  putDataFile,
  randomId,
  writeParquet,
  type ColumnDef,
  type Manifest,
  type PatchMeta,
} from '../../format/index.js';
import { inRange, positionOf, quoteIdent, quoteString } from '../../query/index.js';
import { deletedSet, versionSql, type VersionContext } from './context.js';
import { recordValue } from './row-write.js';

/**
 * Most patches a version holds; a commit that would hold more folds them into one. Each is one
 * more LEFT JOIN in every query of the view (see bench/feedback.ts for the measured cost).
 */
export const PATCHES_MAX = 8;

/** The key of a new patch file. */
export function patchKey(): string {
  return `data/${randomId()}.patch.parquet`;
}

/** True when every column of `set` may be written as a patch over `m` (see the file's scope). */
export function patchable(m: Manifest, set: Record<string, unknown>): boolean {
  if (m.evolution) return false;
  const names = Object.keys(set);
  if (names.length === 0) return false;
  for (const name of names) {
    const c = m.schema.find((x) => x.name === name);
    if (!c || isLarge(c.type) || derivedColumns(c).length > 0 || name === m.tenant) return false;
    if (m.indexes.some((ix) => ix.column === name)) return false;
  }
  return true;
}

/**
 * `test(set)` for many sets, answered once per list of column names: the sets of one update
 * name the same columns, and testing each (a schema and index search per name) was ~3-5 ms of
 * a 10k-row update's planning, cold (profiled).
 */
export function byColumnNames(test: (set: Record<string, unknown>) => boolean): (set: Record<string, unknown>) => boolean {
  const seen = new Map<string, boolean>();
  return (set) => {
    const key = Object.keys(set).join('\0');
    let r = seen.get(key);
    if (r === undefined) seen.set(key, (r = test(set)));
    return r;
  };
}

/** Records grouped by the set of columns they name (sorted names joined by NUL), as indexes. */
export function byColumns(records: readonly Record<string, unknown>[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  // Records of one call name their columns in one order: each order is sorted once.
  const sortedOf = new Map<string, number[]>();
  for (let i = 0; i < records.length; i++) {
    const names = Object.keys(records[i]);
    const asGiven = names.join('\0');
    let list = sortedOf.get(asGiven);
    if (!list) {
      const key = names.sort().join('\0');
      list = groups.get(key);
      if (!list) groups.set(key, (list = []));
      sortedOf.set(asGiven, list);
    }
    list.push(i);
  }
  return groups;
}

/** Positions up to this many are packed beside an id offset in one double (see orderById). */
const PACKED_POSITIONS = 2 ** 20;

/**
 * The positions of `ids` (distinct) in increasing order of id. Ids below 2^53 spanning less
 * than 2^32 (in practice, always) are sorted natively as doubles packing the id's offset and
 * its position, (id - lo) * 2^20 + position (below 2^52, so exact); others with a comparator.
 * Sorting the ids as a typed array and finding each one's record through a Map of 10k bigint
 * keys was ~2-3 ms and 10k pairs of garbage of writing a 10k-row patch (cold, profiled); a bigint
 * comparator over 10k ids took ~5 ms.
 */
export function orderById(ids: readonly bigint[]): number[] {
  const n = ids.length;
  let lo = ids[0];
  let hi = ids[0];
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  if (n > 0 && n <= PACKED_POSITIONS && lo >= 0n && hi < 2n ** 53n && hi - lo < 2n ** 32n) {
    const base = Number(lo);
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (Number(ids[i]) - base) * PACKED_POSITIONS + i;
    packed.sort();
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) out[k] = packed[k] % PACKED_POSITIONS;
    return out;
  }
  return Array.from(ids.keys()).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
}

/** A written patch and the row ids it holds (kept in memory for the commit's conflict checks). */
export interface WrittenPatch {
  meta: PatchMeta;
  ids: BigInt64Array;
}

/**
 * Writes one patch file per distinct set of columns named by `sets` (usually one), rows sorted
 * by id. `fragments` of each: the fragments of `m` whose row-id range holds one of its rows.
 */
export async function writePatches(ctx: VersionContext, m: Manifest, ids: readonly bigint[], sets: readonly Record<string, unknown>[]): Promise<WrittenPatch[]> {
  const out: WrittenPatch[] = [];
  for (const [key, idx] of byColumns(sets)) {
    const names = key.split('\0');
    const defs = names.map((n) => m.schema.find((c) => c.name === n)!) as ColumnDef[];
    // Sorted by row id, so a reader finds a row by binary search and DuckDB prunes by statistics.
    const group = idx.map((i) => ids[i]);
    const order = orderById(group);
    const sorted = BigInt64Array.from(order, (k) => group[k]);
    const batch = columnize(defs, order.map((k) => sets[idx[k]]), sorted);
    const file = writeParquet(batch.scalar, SCALAR_FILE_OPTIONS);
    const k = patchKey();
    await putDataFile(ctx.store, k, file.parts);
    // inRange only indexes and measures its sorted list: the typed array serves without a copy.
    const want = sorted as unknown as readonly bigint[];
    const fragments = m.fragments.filter((f) => inRange(want, BigInt(f.rowIdMin), BigInt(f.rowIdMax))).map((f) => f.id);
    out.push({
      meta: { key: k, columns: names, rows: sorted.length, bytes: file.size, crc32: crc32Of(file.parts), rowIdMin: String(sorted[0]), rowIdMax: String(sorted[sorted.length - 1]), fragments },
      ids: sorted,
    });
  }
  return out;
}

/** Row ids of a patch file, sorted (files are immutable: kept by key, a bounded few). */
const idsByKey = new Map<string, BigInt64Array>();
const IDS_KEPT_MAX = 32;

export async function patchIds(ctx: VersionContext, p: PatchMeta): Promise<BigInt64Array> {
  const hit = idsByKey.get(p.key);
  if (hit) return hit;
  const path = (await ctx.paths([p.key]))[0];
  const rows = (await ctx.session.all(`SELECT row_id FROM read_parquet(${quoteString(path)}) ORDER BY row_id`)).rows;
  const ids = BigInt64Array.from(rows.map((r) => r.row_id as bigint));
  if (idsByKey.size >= IDS_KEPT_MAX) idsByKey.delete(idsByKey.keys().next().value!);
  idsByKey.set(p.key, ids);
  return ids;
}

export function notePatchIds(key: string, ids: BigInt64Array): void {
  if (idsByKey.size >= IDS_KEPT_MAX) idsByKey.delete(idsByKey.keys().next().value!);
  idsByKey.set(key, ids);
}

function conflict(message: string, details: Record<string, unknown>): QuiverError {
  return new QuiverError('conflict', message, details);
}

/**
 * Adds written patches to `m` (a head that may be newer than the one they were planned on,
 * `base`). Conflict when a fragment they apply to was rewritten, or when a row they patch was
 * deleted or rewritten whole since `base`: its new copy would not carry the patch.
 */
export async function addPatches(ctx: VersionContext, m: Manifest, base: Manifest, written: readonly WrittenPatch[]): Promise<{ manifest: Manifest; bytes: number }> {
  const baseDeletes = new Map(base.fragments.map((f) => [f.id, f.deletes?.key]));
  const byId = new Map(m.fragments.map((f) => [f.id, f]));
  for (const w of written) {
    for (const fid of w.meta.fragments) {
      const f = byId.get(fid);
      if (!f) throw conflict(`versioning: fragment ${fid} was rewritten by another commit (compaction?); redo the change on the new head`, { fragment: fid });
      const was = baseDeletes.get(fid);
      if (f.deletes?.key === was || !f.deletes) continue;
      const now = await deletedSet(ctx, f.deletes.key);
      const before = was ? await deletedSet(ctx, was) : null;
      const lo = BigInt(f.rowIdMin);
      const hi = BigInt(f.rowIdMax);
      const clash: bigint[] = [];
      for (const id of w.ids) if (id >= lo && id <= hi && now.has(id) && !before?.has(id)) clash.push(id);
      if (clash.length) throw conflict(`versioning: another commit changed or deleted the same rows (row ids ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', …' : ''}); redo the change on the new head`, { rowIds: clash });
    }
  }
  for (const w of written) notePatchIds(w.meta.key, w.ids);
  const had = livePatches(m);
  const added = written.map((w) => w.meta);
  if (had.length + added.length <= PATCHES_MAX) return { manifest: { ...m, patches: [...had, ...added] }, bytes: 0 };
  // Patches the head already holds are folded (theirs are durable files; the new ones may still
  // wait in the commit's write batch), then the new ones go on top: the newest few when they
  // fold alone (foldStart), else all of them.
  const start = foldStart(had, had.length + added.length - PATCHES_MAX + 1);
  const folded = await foldPatches(ctx, { ...m, patches: had }, start ?? 0);
  return { manifest: { ...folded.manifest, patches: [...(folded.manifest.patches ?? []), ...added] }, bytes: folded.bytes };
}

/** Patches of one shape apply to the same copies of the same columns: they fold from their files alone. */
function shapeOf(p: PatchMeta): string {
  return `${p.columns.join('\0')}|${p.names ? 'n' : ''}|${[...p.fragments].sort().join(',')}`;
}

/**
 * Where the run of newest patches that a commit folds starts, or null when the newest `least`
 * patches are not of one shape (then every patch is folded through the view). The run holds at
 * least `least` patches and takes in each older patch of its shape no bigger than the run so
 * far, as a size-tiered LSM merges: a fold rewrites rows in proportion to what the run holds,
 * and a row is rewritten O(log n) times, not at every fold. Folding all of them every 8
 * commits rewrote every patched row each time: after a 10k-row update the 16-caller feedback
 * stream folded 10k+ rows every 8th publish (foldPatches was 10% of its CPU, the file checks of
 * the folded files another 10%, and its p99 110-128 ms).
 */
export function foldStart(live: readonly PatchMeta[], least: number): number | null {
  if (least > live.length) return null;
  const shape = shapeOf(live[live.length - 1]);
  let start = live.length;
  let rows = 0;
  while (start > 0) {
    const p = live[start - 1];
    if (shapeOf(p) !== shape) break;
    if (live.length - start >= least && p.rows > rows) break;
    start--;
    rows += p.rows;
  }
  return live.length - start >= least ? start : null;
}

/**
 * Throws `conflict` when a row `hide` rewrites whole (by fragment id) was patched by a commit
 * after `basePatches` (the patch keys of the version the rewrite was planned on): the rewritten
 * copy holds the values from before that patch.
 */
export async function checkPatchedSince(ctx: VersionContext, m: Manifest, basePatches: ReadonlySet<string>, hide: ReadonlyMap<string, readonly bigint[]>): Promise<void> {
  for (const p of livePatches(m)) {
    if (basePatches.has(p.key)) continue;
    const lo = BigInt(p.rowIdMin);
    const hi = BigInt(p.rowIdMax);
    let ids: BigInt64Array | null = null;
    for (const fid of p.fragments) {
      for (const id of hide.get(fid) ?? []) {
        if (id < lo || id > hi) continue;
        ids ??= await patchIds(ctx, p);
        if (positionOf(ids, id) >= 0) throw conflict(`versioning: another commit updated row ${id} since this change was planned; redo the change on the new head`, { rowIds: [id] });
      }
    }
  }
}

/**
 * One patch holding, for every row some patch of `m` touches, the version's values of every
 * patched column (read through the view, so newest-wins and fragment scoping are already
 * applied): applying it to any live copy gives the view's values, whichever fragment holds it.
 * Patches that all name the same columns and fragments fold from their files alone (newest
 * wins): each applies to the same copies, so the fold does too. With `from`, only the patches
 * from that one on (newest last, all of one shape) are folded, into one in their place.
 */
export async function foldPatches(ctx: VersionContext, m: Manifest, from = 0): Promise<{ manifest: Manifest; bytes: number }> {
  const all = livePatches(m);
  const kept = all.slice(0, from);
  const live = all.slice(from);
  const columns = [...new Set(live.flatMap((p) => p.columns))];
  const defs = columns.map((n) => m.schema.find((c) => c.name === n)!);
  const paths = await ctx.paths(live.map((p) => p.key));
  const files = `read_parquet([${paths.map(quoteString).join(', ')}]`;
  const cols = columns.map(quoteIdent).join(', ');
  // Patches of one set of columns over one set of fragments (a feedback stream's) fold from
  // their own files, newest first, without reading the fragments: a view query over 100k rows
  // every 8 commits was the stream's p99.
  const alike = live.every((p) => shapeOf(p) === shapeOf(live[0]));
  // Through the view, only the fragments the patches apply to: a row whose live copy is in
  // another one takes no value from them, nor from the fold (it names the same fragments). So
  // a fragment still waiting in the commit's write batch (new rows) is never read.
  const applied = new Set(live.flatMap((p) => p.fragments));
  const named = { ...m, fragments: m.fragments.filter((f) => applied.has(f.id)) };
  // A run of newer patches is folded in place; only one shape folds without the view.
  assert(from === 0 || alike, 'foldPatches: a partial fold of patches of several shapes');
  const sql = alike
    ? `SELECT row_id, ${cols} FROM (SELECT *, row_number() OVER (PARTITION BY row_id ORDER BY file_index DESC) AS __quiver_rn FROM ${files})) WHERE __quiver_rn = 1 ORDER BY row_id`
    : `SELECT row_id, ${cols} FROM (${await versionSql(ctx.paths, named, { large: 'none' })}) WHERE row_id IN (SELECT row_id FROM ${files})) ORDER BY row_id`;
  const rows = (await ctx.session.all(sql)).rows;
  const records = rows.map((r) => Object.fromEntries(defs.map((d) => [d.name, recordValue(d, r[d.name])])));
  const ids = BigInt64Array.from(rows.map((r) => r.row_id as bigint));
  if (ids.length === 0) return { manifest: { ...m, patches: kept.length ? kept : undefined }, bytes: 0 };
  const batch = columnize(defs, records, ids);
  const file = writeParquet(batch.scalar, SCALAR_FILE_OPTIONS);
  const key = patchKey();
  await putDataFile(ctx.store, key, file.parts);
  notePatchIds(key, ids);
  const fragments = [...applied].filter((id) => m.fragments.some((f) => f.id === id));
  const meta: PatchMeta = { key, columns, rows: ids.length, bytes: file.size, crc32: crc32Of(file.parts), rowIdMin: String(ids[0]), rowIdMax: String(ids[ids.length - 1]), fragments };
  return { manifest: { ...m, patches: [...kept, meta] }, bytes: file.size };
}
