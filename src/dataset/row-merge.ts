// Updates by row id (a backfill) written by processes that do not commit them: cluster workers.
// The update's rows arrive as pieces ({ row_id, columns }, in run order); a merge task writes
// them into ONE file of the version it plans on — a fragment (the changed rows' small columns as
// a new small fragment, and the fragment's deletes file with those rows added) or one
// large-column file (copy-on-write) — so no two tasks ever rewrite the same file. The committing
// handle stages every task's change as one op, which refuses (conflict) when another commit
// touched those files since the version the tasks planned on.

import { QuiverError, assert } from '../errors.js';
import { derivedColumns, isLarge, writeDeletes, columnize, type ColumnDef, type FragmentMeta, type GroupFileMeta, type Manifest } from '../format/index.js';
import type { ObjectStore } from '../storage/index.js';
import type { Dataset, PendingOpResult } from './dataset.js';
import { PendingStore } from './pending-store.js';
import { readDeletes, type VersionContext } from './versioning/context.js';
import { liveRowIds, mergePatches, planRowPatches, rowPatchesOf, type RowPatches } from './versioning/row-patch.js';
import { locateInGroups, writeGroupFile, writeLargeValues } from './versioning/row-write.js';

/** What the coordinator knows of a piece without reading it: its rows and their row-id range. */
export interface PieceRange {
  rows: number;
  rowIdMin: string;
  rowIdMax: string;
}

/** The one file a merge task writes: a fragment, or one file of a large column. */
export type RowMergeTarget = { fragment: string } | { column: string; file: string };

/** A merge task: its target and the pieces (indexes, in run order) whose row-id range meets it. */
export interface RowMergeTask {
  target: RowMergeTarget;
  pieces: number[];
}

/** What a task wrote (plain JSON): staged by the committing handle with `rowMergeOp`. */
export interface RowMergeChange {
  target: RowMergeTarget;
  /** Piece rows (repeats counted) whose row id is live in the fragment, or held by the file. */
  matched: number;
  /**
   * Fragment tasks: by large column, piece rows live here whose row no file of that column holds
   * (a column added as NULL has none): the task wrote a new file of the column for them.
   */
  filled: Record<string, number>;
  /** Distinct live rows the task changed (fragment tasks only, so the sum over tasks is the update's). */
  rowsUpdated: number;
  /** The fragment's new deletes file, and the one it replaces (null: none), checked at commit. */
  deletes?: { fragment: string; from: string | null; to: { key: string; count: number; crc32: number } };
  addFragments: FragmentMeta[];
  groups: { column: string; remove: string[]; add: GroupFileMeta[] }[];
  bytes: number;
}

const big = (s: string) => BigInt(s);

/**
 * A large column whose files alone change when it is set (no small column derived from it). An
 * image column has derived small columns, so its rows move to a new small fragment like any
 * small-column change, and its files are rewritten by planRowPatches in the fragment task.
 */
const plainLarge = (c: ColumnDef) => isLarge(c.type) && derivedColumns(c).length === 0;

/**
 * True when workers may merge an update of `columns` into `schema`'s files: every column is
 * small or a plain large column. An image column's new bytes change its derived small columns
 * and its files at once, which one task per file cannot split; such an update stays on the
 * committing process (`update({ rows })`).
 */
export function mergesRemotely(schema: readonly ColumnDef[], columns: readonly string[]): boolean {
  return columns.every((n) => !schema.some((c) => c.name === n && isLarge(c.type) && !plainLarge(c)));
}

/** The values of `column` that rows set, as its files store them (converted as `update({ rows })` converts them). */
function storedValues(def: ColumnDef, rows: readonly (readonly [bigint, Record<string, unknown>])[]): unknown[] {
  const batch = columnize([def], rows.map(([, set]) => ({ [def.name]: set[def.name] })), rows.map(([r]) => r));
  return batch.large.get(def.name)![1].values as unknown[];
}

/**
 * The merge tasks of an update of `columns` over `m`: one per fragment whose row-id range meets
 * a piece (it checks the rows are live and writes the small columns), and one per file of each
 * large column the update names that meets a piece. Pure: reads manifests only.
 */
export function planRowMerge(m: Manifest, pieces: readonly PieceRange[], columns: readonly string[]): RowMergeTask[] {
  for (const n of columns) {
    if (!m.schema.some((c) => c.name === n)) throw new QuiverError('schema_mismatch', `update: the output sets unknown column "${n}"`, { column: n });
  }
  const meeting = (lo: string, hi: string) => pieces.flatMap((p, i) => (p.rows > 0 && big(p.rowIdMax) >= big(lo) && big(p.rowIdMin) <= big(hi) ? [i] : []));
  const tasks: RowMergeTask[] = [];
  for (const f of m.fragments) {
    const ps = meeting(f.rowIdMin, f.rowIdMax);
    if (ps.length) tasks.push({ target: { fragment: f.id }, pieces: ps });
  }
  for (const c of m.schema) {
    if (!plainLarge(c) || !columns.includes(c.name)) continue;
    for (const g of m.groups[c.name] ?? []) {
      const ps = meeting(g.rowIdMin, g.rowIdMax);
      if (ps.length) tasks.push({ target: { column: c.name, file: g.key }, pieces: ps });
    }
  }
  return tasks;
}

/**
 * Checks the tasks' changes account for every piece row, as `update({ rows })` does: a row id
 * that is no live row fails with `not_found`. Each live row's new value of a large column is in
 * exactly one file: the file task of the file holding it, or its fragment task's new file.
 */
export function checkRowMerge(m: Manifest, pieces: readonly PieceRange[], columns: readonly string[], changes: readonly RowMergeChange[]): void {
  const total = pieces.reduce((n, p) => n + p.rows, 0);
  const live = changes.reduce((n, c) => n + ('fragment' in c.target ? c.matched : 0), 0);
  if (live < total) throw new QuiverError('not_found', `update: ${total - live} row id(s) of the output match no row`, { rows: total - live });
  for (const c of m.schema) {
    if (!plainLarge(c) || !columns.includes(c.name)) continue;
    const held = changes.reduce((n, x) => n + ('column' in x.target ? (x.target.column === c.name ? x.matched : 0) : (x.filled[c.name] ?? 0)), 0);
    assert(held === total, `every live row of the update is written to one file of ${c.name} (${held} of ${total})`);
  }
}

/** The op the committing handle stages (`Dataset.stageChange`): every task's files in one manifest edit. */
export function rowMergeOp(changes: readonly RowMergeChange[]): (m: Manifest) => PendingOpResult {
  return (m) => {
    const fragments = m.fragments.slice();
    const groups = { ...m.groups };
    const conflict = (message: string, details: Record<string, unknown>) => new QuiverError('conflict', `versioning: ${message}; redo the update on the new head`, details);
    for (const c of changes) {
      if (c.deletes) {
        const i = fragments.findIndex((f) => f.id === c.deletes!.fragment);
        if (i < 0) throw conflict(`fragment ${c.deletes.fragment} was rewritten by another commit`, { fragment: c.deletes.fragment });
        // Another commit's deletes in this fragment are not in the task's file: refuse, never drop them.
        if ((fragments[i].deletes?.key ?? null) !== c.deletes.from) throw conflict(`another commit changed the deletes of fragment ${c.deletes.fragment}`, { fragment: c.deletes.fragment });
        fragments[i] = { ...fragments[i], deletes: c.deletes.to };
      }
      fragments.push(...c.addFragments);
      for (const g of c.groups) {
        const cur = groups[g.column] ?? [];
        const missing = g.remove.find((k) => !cur.some((x) => x.key === k));
        if (missing) throw conflict(`another commit rewrote ${g.column} file ${missing}`, { column: g.column, key: missing });
        groups[g.column] = [...cur.filter((x) => !g.remove.includes(x.key)), ...g.add];
      }
    }
    const stats = { rowsUpdated: changes.reduce((n, c) => n + c.rowsUpdated, 0), bytesWritten: changes.reduce((n, c) => n + c.bytes, 0) };
    return { manifest: { ...m, fragments, groups }, stats };
  };
}

/**
 * The fragment task: which piece rows are live here; their small columns written as one small
 * fragment and the fragment's deletes; and, per large column set, a new file for the live rows
 * that no file of it holds (a column added as NULL has none) — no other task sees those rows.
 */
async function mergeIntoFragment(ctx: VersionContext, m: Manifest, id: string, pieces: readonly RowPatches[]): Promise<RowMergeChange> {
  const f = m.fragments.find((x) => x.id === id);
  assert(f, `a merge task names fragment ${id} of the version it plans on`);
  const out: RowMergeChange = { target: { fragment: id }, matched: 0, filled: {}, rowsUpdated: 0, addFragments: [], groups: [], bytes: 0 };
  const [lo, hi] = [big(f.rowIdMin), big(f.rowIdMax)];
  const ids = [...new Set(pieces.flatMap((p) => [...p.keys()].filter((r) => r >= lo && r <= hi)))];
  const mF = { ...m, fragments: [f], groups: {} };
  const live = ids.length ? await liveRowIds(ctx, mF, ids) : new Map();
  const mine = pieces.map((p) => [...p].filter(([r]) => live.has(r)));
  out.matched = mine.reduce((n, rows) => n + rows.length, 0);
  out.rowsUpdated = live.size;
  for (const def of m.schema.filter(plainLarge)) await fillUnheld(ctx, m, def, mine, out);
  // Plain large columns are written above and by the file tasks; the rest changes the rows' small columns.
  const patches: RowPatches = new Map();
  for (const rows of mine) {
    const small: RowPatches = new Map();
    for (const [r, set] of rows) {
      const cols = Object.fromEntries(Object.entries(set).filter(([k]) => !m.schema.some((c) => c.name === k && plainLarge(c))));
      if (Object.keys(cols).length) small.set(r, cols);
    }
    mergePatches(patches, small);
  }
  if (patches.size === 0) return out;
  // Whole rows: the merge op (rowMergeOp) applies fragments and deletes, not column patches.
  const w = await planRowPatches(ctx, mF, patches, live, { columnPatches: false });
  assert(w.groups.length === 0, 'a fragment task writes no large-column file through planRowPatches (image updates stay on the coordinator)');
  out.addFragments = w.addFragments;
  out.bytes += w.addFragments.reduce((n, x) => n + x.bytes, 0);
  const hidden = w.hide.get(id) ?? [];
  if (hidden.length) {
    const existing = f.deletes ? await readDeletes(ctx, f.deletes.key) : [];
    const d = await writeDeletes(ctx.store, id, existing.concat(hidden));
    out.deletes = { fragment: id, from: f.deletes?.key ?? null, to: { key: d.key, count: d.count, crc32: d.crc32 } };
    out.bytes += d.bytes;
  }
  return out;
}

/** A fragment task's new file of large column `def` for its live rows that set it and that no file of it holds. */
async function fillUnheld(ctx: VersionContext, m: Manifest, def: ColumnDef, mine: readonly (readonly [bigint, Record<string, unknown>])[][], out: RowMergeChange): Promise<void> {
  const setting = mine.map((rows) => rows.filter(([, set]) => def.name in set));
  const ids = [...new Set(setting.flatMap((rows) => rows.map(([r]) => r)))];
  if (ids.length === 0) return;
  const held = new Set([...(await locateInGroups(ctx, m, def.name, ids)).values()].flat());
  const values = new Map<bigint, unknown>();
  let filled = 0;
  for (const rows of setting) {
    const rest = rows.filter(([r]) => !held.has(r));
    filled += rest.length;
    if (rest.length) storedValues(def, rest).forEach((v, i) => values.set(rest[i][0], v));
  }
  out.filled[def.name] = filled;
  if (values.size === 0) return;
  const sorted = [...values.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const g = await writeGroupFile(ctx, def, sorted, sorted.map((r) => values.get(r)));
  out.groups.push({ column: def.name, remove: [], add: [g] });
  out.bytes += g.bytes;
}

/** The file task: the pieces' new values of one large column for the rows this file holds, the file rewritten with them. */
async function mergeIntoFile(ctx: VersionContext, m: Manifest, column: string, file: string, pieces: readonly RowPatches[]): Promise<RowMergeChange> {
  const def = m.schema.find((c) => c.name === column && isLarge(c.type));
  const g = (m.groups[column] ?? []).find((x) => x.key === file);
  assert(def && g, `a merge task names file ${file} of large column ${column} of the version it plans on`);
  const out: RowMergeChange = { target: { column, file }, matched: 0, filled: {}, rowsUpdated: 0, addFragments: [], groups: [], bytes: 0 };
  const mG = { ...m, groups: { [column]: [g] } };
  const ids = [...new Set(pieces.flatMap((p) => [...p].filter(([, set]) => column in set).map(([r]) => r)))];
  const held = new Set((await locateInGroups(ctx, mG, column, ids)).get(file) ?? []);
  const values = new Map<bigint, unknown>();
  for (const p of pieces) {
    const rows = [...p].filter(([r, set]) => held.has(r) && column in set);
    out.matched += rows.length;
    if (rows.length) storedValues(def, rows).forEach((v, i) => values.set(rows[i][0], v));
  }
  if (values.size === 0) return out;
  // Every id in `values` is held by this one file, so this rewrites it and adds no other.
  const w = await writeLargeValues(ctx, mG, def, values);
  out.groups = [{ column, remove: w.remove, add: w.add }];
  out.bytes = w.bytes;
  return out;
}

/**
 * Runs merge tasks of one dataset version from another process. Its files are listed in its own
 * pending marker before they are written (vacuum keeps them while it holds them); `release`
 * drops the marker. A task run twice (at-least-once delivery) writes two sets of files; the
 * committing handle stages the first answer only, and the other set is unreferenced: vacuum
 * removes it.
 */
export class RowMergeWriter {
  readonly #store: PendingStore;

  constructor(private readonly ds: Dataset) {
    this.#store = PendingStore.of(ds.store);
  }

  /** Merges `pieces` (the task's pieces' rows, in its order; each row a `row_id` and the columns it sets) into the task's target. */
  merge(task: RowMergeTask, pieces: readonly (readonly Record<string, unknown>[])[]): Promise<RowMergeChange> {
    return this.ds.withVersionBase(async (base, m) => {
      const ctx = { ...base, store: this.#store as ObjectStore };
      // Validated as `update({ rows })` validates each call (a row id twice in one batch, a bad value).
      const patches = pieces.map((rows) => rowPatchesOf(m.schema, rows));
      const t = task.target;
      return 'fragment' in t ? mergeIntoFragment(ctx, m, t.fragment, patches) : mergeIntoFile(ctx, m, t.column, t.file, patches);
    });
  }

  /** Drops this writer's pending marker. */
  release(): Promise<void> {
    return this.#store.release();
  }
}
