// Writing changed rows without rewriting unchanged data. A changed row's small columns go to a
// NEW small fragment under the same row id, and the row is added to its old fragment's deletes;
// a large column is rewritten only when it changes, copy-on-write of the file(s) holding the row.
// Files are written first; `applyRowWrite` then edits a manifest, refusing (conflict) when
// another commit touched the same rows, so it can be re-applied on any later head.

import { QuiverError, assert } from '../../errors.js';
import {
  columnize,
  groupFileMeta,
  largeFileOptions,
  isImage,
  isLarge,
  layout,
  parquetColumn,
  putDataFile,
  randomId,
  writeDeletes,
  writeFragment,
  writeParquet,
  type ColumnDef,
  type CommitStats,
  type FragmentMeta,
  type GroupFileMeta,
  type Manifest,
  type ParquetColumn,
} from '../../format/index.js';
import { quoteIdent, quoteString } from '../../query/index.js';
import { addPatches, checkPatchedSince, type WrittenPatch } from './column-patch.js';
import { deletedSet, idsTable, pathOf, readDeletes, type IdSet, type VersionContext } from './context.js';

/** A change to rows, written to files and waiting to be applied to a manifest. */
export interface RowWrite {
  /** Row ids to hide in the fragment holding them now, by fragment id. */
  hide: Map<string, bigint[]>;
  /** New fragments (small columns of changed or copied rows). */
  addFragments: FragmentMeta[];
  /** Large-column files to replace (copy-on-write) or add. */
  groups: { column: string; remove: string[]; add: GroupFileMeta[] }[];
  /** Column patches written (see column-patch.ts), with the manifest they were planned on. */
  patches?: { written: WrittenPatch[]; base: Manifest };
  /**
   * The patch keys of the version the rows in `hide` were read from, when they are rewritten
   * whole: a patch of one of them committed since is a conflict (the copy misses its values).
   */
  basePatches?: ReadonlySet<string>;
  stats: Partial<CommitStats>;
}

export function emptyRowWrite(): RowWrite {
  return { hide: new Map(), addFragments: [], groups: [], stats: {} };
}

function conflict(message: string, details: Record<string, unknown> = {}): QuiverError {
  return new QuiverError('conflict', message, details);
}

/** Applies a written change to `m`. Throws `conflict` when another commit changed the same rows. */
export async function applyRowWrite(ctx: VersionContext, w: RowWrite, m: Manifest): Promise<{ manifest: Manifest; stats: Partial<CommitStats> }> {
  if (w.basePatches && w.hide.size && m.patches?.length) await checkPatchedSince(ctx, m, w.basePatches, w.hide);
  const fragments = m.fragments.slice();
  let bytes = w.stats.bytesWritten ?? 0;
  for (const [fid, rows] of w.hide) {
    const i = fragments.findIndex((f) => f.id === fid);
    if (i < 0) throw conflict(`versioning: fragment ${fid} was rewritten by another commit (compaction?); redo the change on the new head`, { fragment: fid });
    const f = fragments[i];
    const existing = f.deletes ? await readDeletes(ctx, f.deletes.key) : [];
    const seen: IdSet = f.deletes ? await deletedSet(ctx, f.deletes.key) : new Set<bigint>();
    const clash = rows.filter((r) => seen.has(r));
    if (clash.length) {
      throw conflict(`versioning: another commit changed or deleted the same rows (row ids ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', …' : ''}); redo the change on the new head`, { rowIds: clash });
    }
    const all = existing.concat(rows);
    const d = await writeDeletes(ctx.store, fid, all);
    ctx.deletesCache.extend(d.key, d.rowIds, f.deletes?.key, rows);
    bytes += d.bytes;
    fragments[i] = { ...f, deletes: { key: d.key, count: d.count, crc32: d.crc32 } };
  }
  const groups = { ...m.groups };
  for (const g of w.groups) {
    const cur = groups[g.column] ?? [];
    const keys = new Set(cur.map((x) => x.key));
    const missing = g.remove.filter((k) => !keys.has(k));
    if (missing.length) throw conflict(`versioning: another commit rewrote ${g.column} file ${missing[0]}; redo the change on the new head`, { column: g.column, key: missing[0] });
    const drop = new Set(g.remove);
    groups[g.column] = [...cur.filter((x) => !drop.has(x.key)), ...g.add];
  }
  let manifest: Manifest = { ...m, fragments: [...fragments, ...w.addFragments], groups };
  if (w.patches) {
    const p = await addPatches(ctx, manifest, w.patches.base, w.patches.written);
    manifest = p.manifest;
    bytes += p.bytes;
  }
  return { manifest, stats: { ...w.stats, bytesWritten: bytes } };
}

/** Turns a value read from DuckDB back into what `columnize` accepts for the column. */
export function recordValue(def: ColumnDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (def.type.kind === 'json' && typeof v === 'string') return JSON.parse(v);
  if (def.type.kind === 'list' && def.type.element.kind === 'json' && Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? JSON.parse(x) : x));
  return v;
}

/**
 * The small-column file columns (in the order appends write them) for rows read from a view
 * (`current`, with every small and derived column) with `set` applied, plus the stored values
 * of large columns that `set` names. With `sets`, row i takes its values from `sets[i]` (each
 * naming the same columns as `set`): per-row values in one pass.
 */
export function changedColumns(schema: readonly ColumnDef[], current: readonly Record<string, unknown>[], set: Record<string, unknown>, rowIds: readonly bigint[], sets?: readonly Record<string, unknown>[]): { scalar: ParquetColumn[]; large: Map<string, unknown[]> } {
  const sub = schema.filter((c) => !isLarge(c.type) || c.name in set);
  const records = current.map((row, i) => {
    const r: Record<string, unknown> = {};
    const s = sets ? sets[i] : set;
    for (const c of sub) r[c.name] = c.name in s ? s[c.name] : recordValue(c, row[c.name]);
    return r;
  });
  const batch = columnize(sub, records, [...rowIds]);
  const byName = new Map(batch.scalar.map((c) => [c.name, c]));
  const scalar: ParquetColumn[] = [batch.scalar[0]];
  for (const c of schema) {
    if (!isLarge(c.type)) scalar.push(byName.get(c.name)!);
    if (isImage(c.type)) {
      const depth = c.type.kind === 'list' ? 1 : 0;
      for (const [suffix, leaf] of [['format', 'utf8'], ['width', 'int32'], ['height', 'int32']] as const) {
        const name = `${c.name}_${suffix}`;
        scalar.push(byName.get(name) ?? { name, leaf, nullable: true, listDepth: depth, values: current.map((row) => row[name] ?? null) });
      }
    }
  }
  const large = new Map<string, unknown[]>();
  for (const [name, cols] of batch.large) large.set(name, cols[1].values as unknown[]);
  return { scalar, large };
}

/** Writes a small-only fragment holding `scalar` (row_id first). */
export async function writeSmallFragment(ctx: VersionContext, scalar: ParquetColumn[]): Promise<{ fragment: FragmentMeta; bytes: number }> {
  const rows = scalar[0].values.length;
  const w = await writeFragment(ctx.store, { rows, scalar, large: new Map(), bytes: 0 });
  return { fragment: w.fragment, bytes: w.bytes };
}

function idRange(ids: Iterable<bigint>): [bigint, bigint] {
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (const id of ids) {
    if (lo === undefined || id < lo) lo = id;
    if (hi === undefined || id > hi) hi = id;
  }
  assert(lo !== undefined && hi !== undefined, 'idRange of no ids');
  return [lo, hi];
}

export async function writeGroupFile(ctx: VersionContext, def: ColumnDef, ids: bigint[], values: unknown[]): Promise<GroupFileMeta> {
  const key = layout.groupFile(randomId(), def.name);
  const cols: ParquetColumn[] = [{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: ids }, parquetColumn(def, values)];
  const file = writeParquet(cols, largeFileOptions(cols));
  await putDataFile(ctx.store, key, file.parts);
  return groupFileMeta(key, ids, file);
}

/** Which of `m`'s files of column `column` hold which of `ids`, by key. */
export async function locateInGroups(ctx: VersionContext, m: Manifest, column: string, ids: readonly bigint[]): Promise<Map<string, bigint[]>> {
  const out = new Map<string, bigint[]>();
  if (ids.length === 0) return out;
  const [lo, hi] = idRange(ids);
  const files = (m.groups[column] ?? []).filter((g) => BigInt(g.rowIdMax) >= lo && BigInt(g.rowIdMin) <= hi);
  if (files.length === 0) return out;
  const paths = await ctx.paths(files.map((g) => g.key));
  const keyOf = new Map(paths.map((p, i) => [p, files[i].key]));
  await idsTable(ctx, '__quiver_locate', ids);
  const r = await ctx.session.all(
    `SELECT DISTINCT g.row_id, g.__quiver_file AS f FROM read_parquet([${paths.map(quoteString).join(', ')}], filename = '__quiver_file') g WHERE g.row_id IN (SELECT id FROM __quiver_locate)`,
  );
  for (const row of r.rows) {
    const key = keyOf.get(row.f as string)!;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(row.row_id as bigint);
  }
  return out;
}

/**
 * Gives rows new values of one large column: each file of `m` holding some of them is rewritten
 * with the new values (copy-on-write); rows no file holds go to a new file. Rows held by a file
 * in `keepKeys` are left as they are.
 */
export async function writeLargeValues(ctx: VersionContext, m: Manifest, def: ColumnDef, values: Map<bigint, unknown>, keepKeys: ReadonlySet<string> = new Set()): Promise<{ remove: string[]; add: GroupFileMeta[]; bytes: number }> {
  const ids = [...values.keys()];
  const located = await locateInGroups(ctx, m, def.name, ids);
  const remove: string[] = [];
  const add: GroupFileMeta[] = [];
  const covered = new Set<bigint>();
  for (const [key, rows] of located) {
    for (const r of rows) covered.add(r);
    // Files in keepKeys already hold the wanted values (a merge imported them as they are).
    if (keepKeys.has(key)) continue;
    const path = await pathOf(ctx, key);
    const all = await ctx.session.all(`SELECT row_id, ${quoteIdent(def.name)} AS v FROM read_parquet(${quoteString(path)})`);
    const fileIds = all.rows.map((x) => x.row_id as bigint);
    const fileVals = all.rows.map((x) => (values.has(x.row_id as bigint) ? values.get(x.row_id as bigint) : x.v));
    add.push(await writeGroupFile(ctx, def, fileIds, fileVals));
    remove.push(key);
  }
  const rest = ids.filter((r) => !covered.has(r));
  if (rest.length) add.push(await writeGroupFile(ctx, def, rest, rest.map((r) => values.get(r))));
  return { remove, add, bytes: add.reduce((n, g) => n + g.bytes, 0) };
}
