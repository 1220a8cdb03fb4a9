// Three-way merge by row id. From the common ancestor B, diff to ours (O) and to theirs (T);
// a cell both sides changed to different values, or a row one side deleted and the other
// changed, is a conflict. The result is O plus T's changes, written like updates: T's new
// fragments are imported without copying when they hold only T's new rows; other rows are
// written again (small columns to a new fragment, large ones copy-on-write).

import { layout, isLarge, livePatches, type ColumnDef, type GroupFileMeta, type Manifest } from '../../format/index.js';
import { quoteIdent, quoteString } from '../../query/index.js';
import { createVersionView, idsTable, type VersionContext } from './context.js';
import { buildDiffTable, sameValue } from './diff.js';
import { changedColumns, emptyRowWrite, writeLargeValues, writeSmallFragment, type RowWrite } from './row-write.js';
import { selectRows } from './update.js';

export type ConflictPolicy = 'fail' | 'ours' | 'theirs';

/** A cell both sides changed differently, or a row one side deleted and the other changed. */
export interface MergeConflict {
  rowId: bigint;
  /** The column, or null when one side deleted the row. */
  column: string | null;
  base: unknown;
  /** Our value; for a deleted row, 'deleted' or 'changed'. */
  ours: unknown;
  theirs: unknown;
}

/** What a three-way merge would do, before anything is written. */
export interface MergeAnalysis {
  conflicts: MergeConflict[];
  /** Rows theirs added (and rows theirs changed that ours deleted, when theirs wins). */
  addIds: bigint[];
  /** Rows theirs deleted that ours keeps. */
  deleteIds: bigint[];
  /** Rows ours keeps with cells taken from theirs: small cells by name, large column names. */
  takes: Map<bigint, { small: Record<string, unknown>; large: string[] }>;
  counts: { added: number; removed: number; changed: number };
}

const rowIdOf = (r: Record<string, unknown>) => r.row_id as bigint;

async function largeDisagreements(ctx: VersionContext, b: Manifest, o: Manifest, t: Manifest, column: string, ids: bigint[]): Promise<Set<bigint>> {
  if (!ids.length) return new Set();
  const fresh = (m: Manifest) => {
    const base = new Set((b.groups[column] ?? []).map((g) => g.key));
    return (m.groups[column] ?? []).map((g) => g.key).filter((k) => !base.has(k));
  };
  const po = await ctx.paths(fresh(o));
  const pt = await ctx.paths(fresh(t));
  if (!po.length || !pt.length) return new Set(ids);
  await idsTable(ctx, '__quiver_both', ids);
  const q = quoteIdent(column);
  const r = await ctx.session.all(
    `SELECT DISTINCT x.row_id FROM read_parquet([${po.map(quoteString).join(', ')}]) x JOIN read_parquet([${pt.map(quoteString).join(', ')}]) y ON x.row_id = y.row_id ` +
      `WHERE x.row_id IN (SELECT id FROM __quiver_both) AND x.${q} IS DISTINCT FROM y.${q}`,
  );
  return new Set(r.rows.map(rowIdOf));
}

/** Finds conflicts and what to take from theirs. Reads only; writes nothing. */
export async function analyzeMerge(ctx: VersionContext, b: Manifest, o: Manifest, t: Manifest, policy: ConflictPolicy): Promise<MergeAnalysis> {
  const to = await buildDiffTable(ctx, '__quiver_mo', b, o);
  const tt = await buildDiffTable(ctx, '__quiver_mt', b, t);
  const theirsWins = policy === 'theirs';
  const conflicts: MergeConflict[] = [];
  // Rows changed on both sides, with both sides' cells.
  const both = (
    await ctx.session.all(
      `SELECT t.*, ${to.small.map((_, i) => `o.a_${i} AS oa_${i}, o.b_${i} AS ob_${i}`).concat(to.large.map((_, j) => `o.l_${j} AS ol_${j}`)).join(', ') || '1 AS x'}, o.row_id IS NOT NULL AS o_touched, o.in_b AS o_in_b ` +
        `FROM ${tt.name} t LEFT JOIN ${to.name} o ON o.row_id = t.row_id WHERE t.in_a AND t.in_b`,
    )
  ).rows;
  const largeClash = new Map<string, Set<bigint>>();
  for (let j = 0; j < tt.large.length; j++) {
    const ids = both.filter((r) => r[`l_${j}`] && r[`ol_${j}`]).map(rowIdOf);
    largeClash.set(tt.large[j], await largeDisagreements(ctx, b, o, t, tt.large[j], ids));
  }
  const takes: MergeAnalysis['takes'] = new Map();
  const addIds: bigint[] = [];
  for (const r of both) {
    const id = rowIdOf(r);
    if (r.o_touched && !r.o_in_b) {
      // Ours deleted a row theirs changed.
      conflicts.push({ rowId: id, column: null, base: null, ours: 'deleted', theirs: 'changed' });
      if (theirsWins) addIds.push(id);
      continue;
    }
    const small: Record<string, unknown> = {};
    const large: string[] = [];
    tt.small.forEach((c, i) => {
      if (sameValue(r[`a_${i}`], r[`b_${i}`])) return;
      const oursChanged = r.o_touched && !sameValue(r[`oa_${i}`], r[`ob_${i}`]);
      if (oursChanged && sameValue(r[`ob_${i}`], r[`b_${i}`])) return;
      if (oursChanged) {
        conflicts.push({ rowId: id, column: c, base: r[`a_${i}`], ours: r[`ob_${i}`], theirs: r[`b_${i}`] });
        if (!theirsWins) return;
      }
      small[c] = r[`b_${i}`];
    });
    tt.large.forEach((c, j) => {
      if (!r[`l_${j}`]) return;
      if (r[`ol_${j}`]) {
        if (!largeClash.get(c)!.has(id)) return;
        conflicts.push({ rowId: id, column: c, base: undefined, ours: undefined, theirs: undefined });
        if (!theirsWins) return;
      }
      large.push(c);
    });
    if (Object.keys(small).length || large.length) takes.set(id, { small, large });
  }
  // Rows theirs deleted.
  const deleted = (await ctx.session.all(`SELECT t.row_id, o.row_id IS NOT NULL AS o_touched, o.in_b AS o_in_b FROM ${tt.name} t LEFT JOIN ${to.name} o ON o.row_id = t.row_id WHERE t.in_a AND NOT t.in_b`)).rows;
  const deleteIds: bigint[] = [];
  for (const r of deleted) {
    if (!r.o_touched) deleteIds.push(rowIdOf(r));
    else if (r.o_in_b) {
      conflicts.push({ rowId: rowIdOf(r), column: null, base: null, ours: 'changed', theirs: 'deleted' });
      if (theirsWins) deleteIds.push(rowIdOf(r));
    }
  }
  const added = (await ctx.session.all(`SELECT row_id FROM ${tt.name} WHERE in_b AND NOT in_a`)).rows.map(rowIdOf);
  conflicts.sort((x, y) => (x.rowId < y.rowId ? -1 : x.rowId > y.rowId ? 1 : (x.column ?? '').localeCompare(y.column ?? '')));
  return { conflicts, addIds: [...added, ...addIds], deleteIds, takes, counts: { added: added.length + addIds.length, removed: deleteIds.length, changed: takes.size } };
}

/** Theirs' fragments that can join the result as they are: new, holding only rows being added, with their own large files. */
async function importable(ctx: VersionContext, b: Manifest, o: Manifest, t: Manifest, addIds: bigint[]): Promise<{ fragments: Manifest['fragments']; groups: Map<string, GroupFileMeta[]> }> {
  const known = new Set([...b.fragments, ...o.fragments].map((f) => f.id));
  // A fragment a patch of theirs applies to holds values from before it: its rows are copied
  // through theirs' view instead.
  const patched = new Set(livePatches(t).flatMap((p) => p.fragments));
  const candidates = t.fragments.filter((f) => !known.has(f.id) && !patched.has(f.id));
  const groups = new Map<string, GroupFileMeta[]>();
  if (!candidates.length || !addIds.length) return { fragments: [], groups };
  await idsTable(ctx, '__quiver_add', addIds);
  await createVersionView(ctx, '__quiver_mt_view', t, { large: 'none', fragmentColumn: '__quiver_fragment' });
  const counts = (await ctx.session.all(`SELECT __quiver_fragment AS f, count(*) AS n, count(*) FILTER (WHERE row_id IN (SELECT id FROM __quiver_add)) AS k FROM __quiver_mt_view GROUP BY 1`)).rows;
  const whole = new Set(counts.filter((r) => r.n === r.k).map((r) => r.f as string));
  const large = t.schema.filter((c) => isLarge(c.type));
  if (large.length) await createVersionView(ctx, '__quiver_mo_view', o, { large: 'none' });
  const out: Manifest['fragments'] = [];
  for (const f of candidates) {
    if (!whole.has(f.id)) continue;
    const files: [string, GroupFileMeta][] = [];
    let ok = true;
    for (const c of large) {
      const g = (t.groups[c.name] ?? []).find((x) => x.key === layout.groupFile(f.id, c.name));
      if (!g || (o.groups[c.name] ?? []).some((x) => x.key === g.key)) {
        ok = false;
        break;
      }
      const p = quoteString((await ctx.paths([g.key]))[0]);
      const [r] = (
        await ctx.session.all(
          `SELECT (SELECT count(*) FROM read_parquet(${p}) WHERE row_id IN (SELECT row_id FROM __quiver_mo_view)) AS clash, ` +
            `(SELECT count(*) FROM __quiver_mt_view v WHERE v.__quiver_fragment = ${quoteString(f.id)} AND v.row_id NOT IN (SELECT row_id FROM read_parquet(${p}))) AS missing`,
        )
      ).rows;
      if (Number(r.clash) || Number(r.missing)) {
        ok = false;
        break;
      }
      files.push([c.name, g]);
    }
    if (!ok) continue;
    out.push(f);
    for (const [c, g] of files) groups.set(c, [...(groups.get(c) ?? []), g]);
  }
  return { fragments: out, groups };
}

/** Values of large column `def` in manifest `t` for `ids`. */
async function largeValuesIn(ctx: VersionContext, t: Manifest, def: ColumnDef, ids: bigint[]): Promise<Map<bigint, unknown>> {
  const out = new Map<bigint, unknown>(ids.map((id) => [id, null]));
  const files = t.groups[def.name] ?? [];
  if (!ids.length || !files.length) return out;
  await idsTable(ctx, '__quiver_lv', ids);
  const paths = await ctx.paths(files.map((g) => g.key));
  const r = await ctx.session.all(`SELECT row_id, ${quoteIdent(def.name)} AS v FROM read_parquet([${paths.map(quoteString).join(', ')}]) WHERE row_id IN (SELECT id FROM __quiver_lv)`);
  for (const row of r.rows) out.set(rowIdOf(row), row.v);
  return out;
}

/** Writes the files of a merge and returns the change to apply on ours. */
export async function writeMerge(ctx: VersionContext, b: Manifest, o: Manifest, t: Manifest, a: MergeAnalysis): Promise<RowWrite> {
  const w = emptyRowWrite();
  let bytes = 0;
  const imp = await importable(ctx, b, o, t, a.addIds);
  const importedFrags = new Set(imp.fragments.map((f) => f.id));
  w.addFragments.push(...imp.fragments);
  const keep = new Set<string>();
  for (const [column, files] of imp.groups) {
    w.groups.push({ column, remove: [], add: files });
    for (const g of files) keep.add(g.key);
  }
  // Rows to hide in ours: deleted by theirs, or rewritten below with cells from theirs.
  const hideIds = [...a.deleteIds, ...[...a.takes].filter(([, x]) => Object.keys(x.small).length || x.large.length).map(([id]) => id)];
  const oursRows = hideIds.length ? await selectRows(ctx, o, { rowIds: hideIds }, true) : [];
  const deleted = new Set(a.deleteIds);
  for (const r of oursRows) {
    const f = r.__quiver_fragment as string;
    w.hide.set(f, [...(w.hide.get(f) ?? []), rowIdOf(r)]);
  }
  // Rows of ours taking cells from theirs: our row with their cells, as a new small fragment.
  const changed = oursRows.filter((r) => !deleted.has(rowIdOf(r))).map((r) => ({ ...r, ...a.takes.get(rowIdOf(r))!.small }));
  // Rows theirs adds that no imported fragment brings: their whole row.
  let copyIds: bigint[] = [];
  if (a.addIds.length) {
    const theirs = await selectRows(ctx, t, { rowIds: a.addIds }, false);
    copyIds = theirs.filter((r) => !importedFrags.has(r.__quiver_fragment as string)).map(rowIdOf);
  }
  const copied = copyIds.length ? await selectRows(ctx, t, { rowIds: copyIds }, true) : [];
  const rows = [...changed, ...copied];
  if (rows.length) {
    const { scalar } = changedColumns(o.schema, rows, {}, rows.map(rowIdOf));
    const frag = await writeSmallFragment(ctx, scalar);
    w.addFragments.push(frag.fragment);
    bytes += frag.bytes;
  }
  const withImports: Manifest = { ...o, groups: { ...o.groups } };
  for (const [c, files] of imp.groups) withImports.groups[c] = [...(o.groups[c] ?? []), ...files];
  for (const def of o.schema.filter((c) => isLarge(c.type))) {
    const ids = [...copied.map(rowIdOf), ...[...a.takes].filter(([id, x]) => x.large.includes(def.name) && !deleted.has(id)).map(([id]) => id)];
    if (!ids.length) continue;
    const values = await largeValuesIn(ctx, t, def, ids);
    const g = await writeLargeValues(ctx, withImports, def, values, keep);
    if (!g.add.length && !g.remove.length) continue;
    const existing = w.groups.find((x) => x.column === def.name);
    if (existing) (existing.remove.push(...g.remove), existing.add.push(...g.add));
    else w.groups.push({ column: def.name, remove: g.remove, add: g.add });
    bytes += g.bytes;
  }
  w.stats = { rowsAdded: a.counts.added, rowsDeleted: a.counts.removed, rowsUpdated: a.counts.changed, bytesWritten: bytes };
  return w;
}
