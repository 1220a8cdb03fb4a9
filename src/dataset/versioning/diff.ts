// Row-level differences between two versions, by row id. Files shared by both versions are
// skipped without reading: only fragments whose deletes differ, and large-column files that
// exist on one side only, are compared. The result is a temp table that `diffRows` pages
// through in row id order and merge joins against.

import { isLarge, derivedColumns, livePatches, type Manifest } from '../../format/index.js';
import { quoteIdent, quoteString } from '../../query/index.js';
import { createScopedView, type VersionContext } from './context.js';

/** One changed cell. Large columns (images, embeddings, binary) set `large`, and carry values only with `largeValues`. */
export interface CellChange {
  old: unknown;
  new: unknown;
  large?: true;
}

/** One row that differs between two versions. */
export interface DiffRow {
  rowId: bigint;
  change: 'added' | 'removed' | 'changed';
  /** Small-column values of an added row (new) or a removed row (old). */
  row?: Record<string, unknown>;
  /** The cells of a changed row that differ, by column. */
  columns?: Record<string, CellChange>;
}

export interface DiffCounts {
  added: number;
  removed: number;
  changed: number;
  /** Changed rows per column. */
  byColumn: Record<string, number>;
}

/** The layout of a diff table: small columns as a_i/b_i pairs, large ones as flags l_j. */
export interface DiffTable {
  name: string;
  small: string[];
  large: string[];
  /** Views of the two versions with large columns, when their values were asked for. */
  valueViews?: { a: string; b: string };
  /** Every temp table and view buildDiffTable made for this diff, so dropDiffTable drops exactly those. */
  made: { tables: string[]; views: string[] };
}

/** Small columns of a schema as the view has them: user columns and image metadata. */
export function smallColumnNames(m: Manifest): string[] {
  const out: string[] = [];
  for (const c of m.schema) {
    if (!isLarge(c.type)) out.push(c.name);
    out.push(...derivedColumns(c));
  }
  return out;
}

export function largeColumnNames(m: Manifest): string[] {
  return m.schema.filter((c) => isLarge(c.type)).map((c) => c.name);
}

function sameDeletes(a: Manifest['fragments'][number], b: Manifest['fragments'][number]): boolean {
  return (a.deletes?.key ?? null) === (b.deletes?.key ?? null);
}

/** The keys of the column patches of `m` applying to each fragment, as one string per fragment id. */
function patchesByFragment(m: Manifest): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of livePatches(m)) for (const id of p.fragments) out.set(id, `${out.get(id) ?? ''} ${p.key}`);
  return out;
}

/**
 * `m` without the fragments `other` holds identically (same deletes, same column patches
 * applying to them), and without large columns. A patched row stays in its fragment, so a
 * fragment whose patches differ is compared row by row like one whose deletes differ.
 */
function restrict(m: Manifest, other: Manifest): Manifest {
  const theirs = new Map(other.fragments.map((f) => [f.id, f]));
  const mine = patchesByFragment(m);
  const their = patchesByFragment(other);
  const same = (f: Manifest['fragments'][number]) => theirs.has(f.id) && sameDeletes(f, theirs.get(f.id)!) && (mine.get(f.id) ?? '') === (their.get(f.id) ?? '');
  return { ...m, fragments: m.fragments.filter((f) => !same(f)), groups: {} };
}

/** Row ids live on both sides whose value of large column `column` differs. */
async function largeChanges(ctx: VersionContext, a: Manifest, b: Manifest, column: string, liveA: string, liveB: string): Promise<string | null> {
  const ka = new Set((a.groups[column] ?? []).map((g) => g.key));
  const kb = new Set((b.groups[column] ?? []).map((g) => g.key));
  const onlyA = [...ka].filter((k) => !kb.has(k));
  const onlyB = [...kb].filter((k) => !ka.has(k));
  if (!onlyA.length || !onlyB.length) return null;
  const pa = await ctx.paths(onlyA);
  const pb = await ctx.paths(onlyB);
  const q = quoteIdent(column);
  return (
    `SELECT DISTINCT __qx.row_id FROM read_parquet([${pa.map(quoteString).join(', ')}]) __qx JOIN read_parquet([${pb.map(quoteString).join(', ')}]) __qy ON __qx.row_id = __qy.row_id ` +
    `WHERE __qx.${q} IS DISTINCT FROM __qy.${q} AND __qx.row_id IN (SELECT row_id FROM ${liveA}) AND __qx.row_id IN (SELECT row_id FROM ${liveB})`
  );
}

/**
 * Builds temp table `name` with one row per row id that differs from `a` to `b`:
 * row_id, in_a, in_b, a_i/b_i for each small column i, l_j for each large column j.
 */
export async function buildDiffTable(ctx: VersionContext, name: string, a: Manifest, b: Manifest, options: { largeValues?: boolean } = {}): Promise<DiffTable> {
  // Across a schema change, rows are compared on the columns both versions have; the columns
  // added, dropped or retyped are the diff's `schema` part.
  const inA = new Set([...smallColumnNames(a), ...largeColumnNames(a)]);
  const small = smallColumnNames(b).filter((c) => inA.has(c));
  const large = largeColumnNames(b).filter((c) => inA.has(c));
  const made: DiffTable['made'] = { tables: [name], views: [] };
  const view = async (suffix: string, m: Manifest, largeCols: 'none' | 'all'): Promise<string> => {
    const v = `${name}_${suffix}`;
    made.views.push(v);
    await createScopedView(ctx, v, m, { large: largeCols });
    return v;
  };
  await view('ra', restrict(a, b), 'none');
  await view('rb', restrict(b, a), 'none');
  const pick = (x: string, y: string) => small.map((c, i) => `${x}.${quoteIdent(c)} AS a_${i}, ${y}.${quoteIdent(c)} AS b_${i}`).join(', ');
  const flags = large.map((_, j) => `false AS l_${j}`).join(', ');
  const cols = (x: string, y: string) => [`coalesce(${x}.row_id, ${y}.row_id) AS row_id`, `${x}.row_id IS NOT NULL AS in_a`, `${y}.row_id IS NOT NULL AS in_b`, pick(x, y), flags].filter(Boolean).join(', ');
  const differs = small.map((c) => `__qa.${quoteIdent(c)} IS DISTINCT FROM __qb.${quoteIdent(c)}`);
  await ctx.session.run(
    `CREATE OR REPLACE TEMP TABLE ${name} AS SELECT ${cols('__qa', '__qb')} FROM ${name}_ra __qa FULL OUTER JOIN ${name}_rb __qb ON __qa.row_id = __qb.row_id ` +
      `WHERE __qa.row_id IS NULL OR __qb.row_id IS NULL${differs.length ? ' OR ' + differs.join(' OR ') : ''}`,
  );
  let fullViews = false;
  for (let j = 0; j < large.length; j++) {
    if (!fullViews) {
      await view('fa', a, 'none');
      await view('fb', b, 'none');
      fullViews = true;
    }
    const sql = await largeChanges(ctx, a, b, large[j], `${name}_fa`, `${name}_fb`);
    if (!sql) continue;
    if (!made.tables.includes(`${name}_l`)) made.tables.push(`${name}_l`);
    await ctx.session.run(`CREATE OR REPLACE TEMP TABLE ${name}_l AS ${sql}`);
    await ctx.session.run(
      `INSERT INTO ${name} SELECT ${cols('__qa', '__qb')} FROM ${name}_l __qk JOIN ${name}_fa __qa ON __qa.row_id = __qk.row_id JOIN ${name}_fb __qb ON __qb.row_id = __qk.row_id WHERE __qk.row_id NOT IN (SELECT row_id FROM ${name})`,
    );
    await ctx.session.run(`UPDATE ${name} SET l_${j} = true WHERE row_id IN (SELECT row_id FROM ${name}_l)`);
  }
  if (options.largeValues && large.length) {
    const va = await view('va', a, 'all');
    const vb = await view('vb', b, 'all');
    return { name, small, large, valueViews: { a: va, b: vb }, made };
  }
  return { name, small, large, made };
}

/** Drops what buildDiffTable made for `t` (its table and views); later reads of `t` fail. */
export async function dropDiffTable(ctx: VersionContext, t: DiffTable): Promise<void> {
  for (const table of t.made.tables) await ctx.session.run(`DROP TABLE IF EXISTS ${table}`);
  for (const view of t.made.views) await ctx.session.run(`DROP VIEW IF EXISTS ${view}`);
}

/** Counts of a diff table. */
export async function diffCounts(ctx: VersionContext, t: DiffTable): Promise<DiffCounts> {
  const both = 'in_a AND in_b';
  const parts = [
    `count(*) FILTER (WHERE in_b AND NOT in_a) AS added`,
    `count(*) FILTER (WHERE in_a AND NOT in_b) AS removed`,
    `count(*) FILTER (WHERE ${both}) AS changed`,
    ...t.small.map((_, i) => `count(*) FILTER (WHERE ${both} AND a_${i} IS DISTINCT FROM b_${i}) AS s_${i}`),
    ...t.large.map((_, j) => `count(*) FILTER (WHERE ${both} AND l_${j}) AS x_${j}`),
  ];
  const [r] = (await ctx.session.all(`SELECT ${parts.join(', ')} FROM ${t.name}`)).rows;
  const byColumn: Record<string, number> = {};
  t.small.forEach((c, i) => Number(r[`s_${i}`]) && (byColumn[c] = Number(r[`s_${i}`])));
  t.large.forEach((c, j) => Number(r[`x_${j}`]) && (byColumn[c] = Number(r[`x_${j}`])));
  return { added: Number(r.added), removed: Number(r.removed), changed: Number(r.changed), byColumn };
}

/** Turns one row of a diff table into a DiffRow. */
export function diffRowOf(t: DiffTable, r: Record<string, unknown>, values?: { a: Map<bigint, Record<string, unknown>>; b: Map<bigint, Record<string, unknown>> }): DiffRow {
  const rowId = r.row_id as bigint;
  if (!r.in_a || !r.in_b) {
    const side = r.in_a ? 'a' : 'b';
    const row: Record<string, unknown> = {};
    t.small.forEach((c, i) => (row[c] = r[`${side}_${i}`]));
    return { rowId, change: r.in_a ? 'removed' : 'added', row };
  }
  const columns: Record<string, CellChange> = {};
  t.small.forEach((c, i) => {
    const o = r[`a_${i}`];
    const n = r[`b_${i}`];
    if (!sameValue(o, n)) columns[c] = { old: o, new: n };
  });
  t.large.forEach((c, j) => r[`l_${j}`] && (columns[c] = { old: values?.a.get(rowId)?.[c], new: values?.b.get(rowId)?.[c], large: true }));
  return { rowId, change: 'changed', columns };
}

/** Value equality for values read from DuckDB (lists, typed arrays, dates, bigints). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a as object);
    return ka.length === Object.keys(b as object).length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** Pages through a diff table in row id order, `pageRows` at a time. */
export async function* diffRows(ctx: VersionContext, t: DiffTable, pageRows = 1000): AsyncGenerator<DiffRow> {
  let after: bigint | null = null;
  for (;;) {
    const page = await ctx.session.all(`SELECT * FROM ${t.name} ${after === null ? '' : 'WHERE row_id > $1'} ORDER BY row_id LIMIT ${pageRows}`, after === null ? [] : [after]);
    const values = t.valueViews ? await largeValues(ctx, t, page.rows) : undefined;
    for (const r of page.rows) yield diffRowOf(t, r, values);
    if (page.rows.length < pageRows) return;
    after = page.rows[page.rows.length - 1].row_id as bigint;
  }
}

/** Old and new values of the large columns of a page's changed rows, read by row id. */
async function largeValues(ctx: VersionContext, t: DiffTable, rows: Record<string, unknown>[]): Promise<{ a: Map<bigint, Record<string, unknown>>; b: Map<bigint, Record<string, unknown>> }> {
  const ids = rows.filter((r) => r.in_a && r.in_b && t.large.some((_, j) => r[`l_${j}`])).map((r) => r.row_id as bigint);
  const read = async (view: string) => {
    const out = new Map<bigint, Record<string, unknown>>();
    if (!ids.length) return out;
    const res = await ctx.session.all(`SELECT row_id, ${t.large.map(quoteIdent).join(', ')} FROM ${view} WHERE row_id IN (${ids.join(', ')})`);
    for (const r of res.rows) out.set(r.row_id as bigint, r);
    return out;
  };
  return { a: await read(t.valueViews!.a), b: await read(t.valueViews!.b) };
}
