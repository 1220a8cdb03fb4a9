// Plans `update` and `delete`: finds the target rows with SQL (a predicate or row ids) over a
// manifest, writes what changes (see row-write.ts) and returns a RowWrite to apply at commit.
// Cost is O(changed rows) for small columns; a large column set rewrites the files holding it.

import { QuiverError } from '../../errors.js';
import { isLarge, type Manifest } from '../../format/index.js';
import { checkBoolean, predicateSql, quoteIdent, referencedColumns, type Param } from '../../query/index.js';
import { createScopedView, idsTable, type VersionContext } from './context.js';
import { smallColumnNames } from './diff.js';
import { changedColumns, emptyRowWrite, writeLargeValues, writeSmallFragment, type RowWrite } from './row-write.js';

/** Which rows: a SQL predicate over the `dataset` columns, or row ids. */
export interface RowSelector {
  /** A SQL boolean expression, e.g. `user_id = 'u9'` or `row_id = $1`. */
  where?: string;
  /** Values for `$1`, `$2`… in `where`. */
  params?: readonly Param[];
  /** Row ids, instead of `where`. */
  rowIds?: readonly (bigint | number)[];
}

export interface UpdateSpec extends RowSelector {
  /** New values by column. Values are validated like appended ones. */
  set: Record<string, unknown>;
}

const FRAGMENT_COL = '__quiver_fragment';

const TARGET = '__quiver_target';

/**
 * Checks a user's predicate over `m` (one boolean expression; `subject` names it in errors,
 * e.g. `update: where`), points the target view at `m` with the columns it names, and returns
 * the predicate as DuckDB writes it: the only text of it Quiver ever runs.
 */
export async function checkedPredicate(ctx: VersionContext, m: Manifest, text: string, params: readonly Param[], subject: string, fragmentColumn = false): Promise<string> {
  const predicate = await predicateSql(ctx.session, text, subject);
  const refs = await referencedColumns(ctx.session, `SELECT 1 WHERE ${predicate}`);
  await createScopedView(ctx, TARGET, m, { large: refs, ...(fragmentColumn ? { fragmentColumn: FRAGMENT_COL } : {}) });
  await checkBoolean(ctx.session, predicate, TARGET, params, subject, text);
  return predicate;
}

/** The target rows of `sel` in `m`: row id, holding fragment and (with `small`) small columns. */
export async function selectRows(ctx: VersionContext, m: Manifest, sel: RowSelector, small: boolean, verb: 'update' | 'delete' = 'update'): Promise<Record<string, unknown>[]> {
  if (!sel || typeof sel !== 'object') throw new QuiverError('invalid_input', 'versioning: expected { where } or { rowIds }');
  const hasWhere = typeof sel.where === 'string' && sel.where.trim() !== '';
  if (hasWhere === (sel.rowIds !== undefined)) throw new QuiverError('invalid_input', 'versioning: give exactly one of where and rowIds');
  const cols = ['row_id', FRAGMENT_COL, ...(small ? smallColumnNames(m) : [])].map(quoteIdent).join(', ');
  if (hasWhere) {
    const where = await checkedPredicate(ctx, m, sel.where!, sel.params ?? [], `${verb}: where`, true);
    return (await ctx.session.all(`SELECT ${cols} FROM ${TARGET} WHERE ${where}`, sel.params ?? [])).rows;
  }
  await createScopedView(ctx, TARGET, m, { large: 'none', fragmentColumn: FRAGMENT_COL });
  const ids = sel.rowIds!.map((x) => {
    if (typeof x === 'bigint') return x;
    if (typeof x === 'number' && Number.isSafeInteger(x)) return BigInt(x);
    throw new QuiverError('invalid_input', `versioning: a row id must be an integer, got ${String(x)}`);
  });
  await idsTable(ctx, '__quiver_ids', ids);
  return (await ctx.session.all(`SELECT ${cols} FROM ${TARGET} WHERE row_id IN (SELECT id FROM __quiver_ids)`)).rows;
}

function hideOf(rows: Record<string, unknown>[]): Map<string, bigint[]> {
  const hide = new Map<string, bigint[]>();
  for (const r of rows) {
    const f = r[FRAGMENT_COL] as string;
    let list = hide.get(f);
    if (!list) hide.set(f, (list = []));
    list.push(r.row_id as bigint);
  }
  return hide;
}

/** Writes the rows `spec` changes; null when it matches no row. */
export async function planUpdate(ctx: VersionContext, m: Manifest, spec: UpdateSpec): Promise<RowWrite | null> {
  const set = spec?.set;
  if (!set || typeof set !== 'object' || Object.keys(set).length === 0) throw new QuiverError('invalid_input', 'versioning: update needs { set: { column: value } }');
  for (const k of Object.keys(set)) {
    if (!m.schema.some((c) => c.name === k)) throw new QuiverError('invalid_input', `versioning: update sets unknown column "${k}"`, { column: k });
  }
  const rows = await selectRows(ctx, m, spec, true, 'update');
  if (rows.length === 0) return null;
  const ids = rows.map((r) => r.row_id as bigint);
  const { scalar, large } = changedColumns(m.schema, rows, set, ids);
  const w = emptyRowWrite();
  w.hide = hideOf(rows);
  const frag = await writeSmallFragment(ctx, scalar);
  w.addFragments.push(frag.fragment);
  let bytes = frag.bytes;
  for (const [column, values] of large) {
    const def = m.schema.find((c) => c.name === column && isLarge(c.type))!;
    const byId = new Map(ids.map((id, i) => [id, values[i]]));
    const g = await writeLargeValues(ctx, m, def, byId);
    w.groups.push({ column, remove: g.remove, add: g.add });
    bytes += g.bytes;
  }
  w.basePatches = new Set((m.patches ?? []).map((p) => p.key));
  w.stats = { rowsUpdated: rows.length, bytesWritten: bytes };
  return w;
}

/** Plans hiding the rows `sel` matches; null when it matches no row. */
export async function planDelete(ctx: VersionContext, m: Manifest, sel: RowSelector): Promise<RowWrite | null> {
  const rows = await selectRows(ctx, m, sel, false, 'delete');
  if (rows.length === 0) return null;
  const w = emptyRowWrite();
  w.hide = hideOf(rows);
  w.stats = { rowsDeleted: rows.length };
  return w;
}
