// Schema evolution: add, drop and rename columns, widen a number type, relax required to
// nullable. Each change is a new manifest over the same files: adding a column writes only
// that column's files (none when it starts NULL), dropping or renaming writes no data.
// Invariant: a name some fragment's file still holds for another (dropped or renamed) column
// is never given to a new column, so every physical name in a version's files means one column.

import { QuiverError } from '../../errors.js';
import { columnize, derivedColumns, isLarge, parseSchema, sqlType, typeName, widens, type ColumnDef, type GroupFileMeta, type Manifest, type SchemaEvolution, type TypeSpec } from '../../format/index.js';
import { expressionTree, predicateSql, quoteString, referencedColumns, rowExpressionSql, smallColumns } from '../../query/index.js';
import { createVersionView, type VersionContext } from './context.js';
import { smallColumnNames } from './diff.js';
import { recordValue, writeGroupFile } from './row-write.js';

/** How `addColumn` fills the rows that exist: NULL (default), one value, or a SQL expression over their columns. */
export interface AddColumnOptions {
  /** A value for every existing row, validated like an appended one. */
  default?: unknown;
  /** A DuckDB SQL expression over the existing columns, e.g. `rating >= 4` or `length(prompt)`. */
  expr?: string;
}

/** What `alterColumn` changes: a wider number type and/or required → nullable. */
export interface AlterColumnOptions {
  type?: string | TypeSpec;
  nullable?: true;
}

/** Rows per file written for a filled column, so one file stays a bounded read. */
const FILL_FILE_ROWS_MAX = 131_072;

/** The small-column names each of `m`'s files holds: recorded on the fragment, or the schema's. */
function physicalOf(m: Manifest): Manifest['fragments'] {
  const current = smallColumnNames(m);
  return m.fragments.map((f) => (f.columns ? f : { ...f, columns: current }));
}

/** `m` ready for a schema change: every fragment names its columns, and evolution exists. */
function frozen(m: Manifest): Manifest & { evolution: SchemaEvolution } {
  const ev = m.evolution ?? { renamed: {}, retired: [], fills: {} };
  return { ...m, fragments: physicalOf(m), evolution: { renamed: { ...ev.renamed }, retired: [...ev.retired], fills: { ...ev.fills } } };
}

function column(m: Manifest, name: string): ColumnDef {
  const c = m.schema.find((x) => x.name === name);
  if (!c) throw new QuiverError('not_found', `schema: no column "${name}"`, { column: name });
  return c;
}

/**
 * Refuses a name that is taken now or that some fragment's file holds for another column
 * (compaction rewrites files with the current names, freeing old ones).
 */
function checkFreeName(m: Manifest, def: ColumnDef): void {
  const taken = new Set<string>();
  for (const c of m.schema) for (const n of [c.name, ...derivedColumns(c)]) taken.add(n.toLowerCase());
  for (const f of physicalOf(m)) for (const n of f.columns!) taken.add(n.toLowerCase());
  for (const n of [def.name, ...derivedColumns(def)]) {
    if (taken.has(n.toLowerCase())) throw new QuiverError('invalid_input', `schema: column name "${n}" is taken (by a column, or by files of a dropped or renamed one until compaction)`, { column: n });
  }
}

/** Forgets a free name as an old name of other columns: no file holds it for them any more. */
function reuseName(ev: SchemaEvolution, def: ColumnDef): void {
  const names = new Set([def.name, ...derivedColumns(def)].map((n) => n.toLowerCase()));
  for (const [c, old] of Object.entries(ev.renamed)) ev.renamed[c] = old.filter((n) => !names.has(n.toLowerCase()));
  ev.retired = ev.retired.filter((n) => !names.has(n.toLowerCase()));
}

/** Parses one column like `create` does (name rules, type string or builder). */
export function parseColumn(name: string, type: string | TypeSpec): ColumnDef {
  if (typeof name !== 'string') throw new QuiverError('invalid_input', `schema: a column name must be a string, got ${String(name)}`);
  return parseSchema({ [name]: type })[0];
}

/** The values of the new column for every live row of `m`, in stored form, with their row ids. */
async function fillValues(ctx: VersionContext, m: Manifest, def: ColumnDef, opts: AddColumnOptions): Promise<{ ids: bigint[]; values: unknown[] }> {
  if (opts.expr === undefined) {
    const stored = storedValues(def, [opts.default]);
    await createVersionView(ctx, '__quiver_add', m, { large: 'none' });
    const ids = Array.from(await ctx.session.readInt64('SELECT row_id FROM __quiver_add'));
    return { ids, values: ids.map(() => stored[0]) };
  }
  if (typeof opts.expr !== 'string' || !opts.expr.trim()) throw new QuiverError('invalid_input', 'schema: expr must be a SQL expression');
  // One expression, checked like a predicate (no statement smuggled in), then cast to the type.
  const expr = await predicateSql(ctx.session, opts.expr, 'addColumn: expr');
  await createVersionView(ctx, '__quiver_add', m, { large: await referencedColumns(ctx.session, `SELECT ${expr}`) });
  const sql = `SELECT row_id, (${expr})::${sqlType(def.type)} AS v FROM __quiver_add`;
  if (CAST_EXACT.has(def.type.kind)) {
    // Columnar, and no validation pass: the cast already made every value one of the type's.
    // Rows as objects, then columnize, took 2/3 of a 100k-row `rating >= 4` (sql 144 + 190 ms
    // of 655 at load 13, measured).
    const t = await ctx.session.arrow(sql);
    const ids = Array.from(t.getChild('row_id')!.toArray() as BigInt64Array);
    const v = t.getChild('v')!;
    const values: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) values[i] = v.get(i) ?? null;
    return { ids, values };
  }
  const r = await ctx.session.all(sql);
  return { ids: r.rows.map((x) => x.row_id as bigint), values: storedValues(def, r.rows.map((x) => recordValue(def, x.v))) };
}

/** Kinds an expression fill may have: the view's cast to the column's SQL type is all their validation. */
const STORED_EXPR_KINDS = new Set(['bool', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'text']);

/**
 * `expr` as the manifest stores it for an expression fill (over the fragment files' own
 * columns, each cast to its type now, the whole cast to the new column's type), or null when
 * it must be evaluated now and written as values: it names a column some file holds under
 * another name or not at all, its value depends on more than the row (see rowExpressionSql), or
 * the column is large or of a kind whose values need more checks than a cast. Stored, an
 * expression column costs no data file: 100k rows of `rating >= 4` took 185-266 ms as values
 * (a DuckDB query through Arrow, then a 0.86 MB file), mostly converting and writing.
 */
async function storedExpression(ctx: VersionContext, m: Manifest, def: ColumnDef, text: string): Promise<{ sql: string; total: boolean } | null> {
  if (typeof text !== 'string' || !text.trim() || isLarge(def.type) || !STORED_EXPR_KINDS.has(def.type.kind)) return null;
  const tree = await expressionTree(ctx.session, text, 'addColumn: expr');
  const current = new Set(smallColumnNames(m));
  const everywhere = smallColumns(m.schema).filter((c) => m.fragments.every((f) => (f.columns ? f.columns.includes(c.name) : current.has(c.name))));
  const types = new Map([['row_id', 'BIGINT'], ...everywhere.map((c): [string, string] => [c.name.toLowerCase(), c.sqlType])]);
  // Read before rowExpressionSql rewrites the tree (it wraps each column reference in a cast).
  const shape = def.type.kind === 'bool' ? totalShape((tree.statements[0].node.select_list as ExprNode[])[0], m.schema) : null;
  const row = await rowExpressionSql(ctx.session, tree, types);
  if (row === null) return null;
  return { sql: `CAST((${row}) AS ${sqlType(def.type)})`, total: shape?.kind === 'bool' && (def.nullable || !shape.nullable) };
}

/** A node of DuckDB's parsed expression tree (json_serialize_sql). */
type ExprNode = { class?: string; type?: string; [k: string]: unknown };

/** Kinds whose values DuckDB compares with each other and with number literals by widening both sides: no comparison of them can fail. */
const SIGNED_KINDS: ReadonlySet<string> = new Set(['int8', 'int16', 'int32', 'int64', 'float32', 'float64']);
/** Number literal types; DECIMAL too, up to 18 digits (a BIGINT beside it still fits DECIMAL(38)). */
const NUMBER_LITERALS: ReadonlySet<string> = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'FLOAT', 'DOUBLE']);
const COMPARISONS: ReadonlySet<string> = new Set(['COMPARE_EQUAL', 'COMPARE_NOTEQUAL', 'COMPARE_LESSTHAN', 'COMPARE_GREATERTHAN', 'COMPARE_LESSTHANOREQUALTO', 'COMPARE_GREATERTHANOREQUALTO']);

/**
 * What an expression gives when it can be shown, from its tree alone, to give a value for every
 * row without an error: comparisons of signed number columns and number literals (BETWEEN
 * too), AND / OR / NOT over them and over bool columns, IS [NOT] NULL of a column; `nullable`
 * when some row may give NULL. Null for anything else (casts, arithmetic, functions, strings,
 * unsigned columns…), whose errors only a scan finds. Such an expression skips fillsEveryRow's
 * scan of every file: for `rating >= 4` over 100k rows it was 1.6-6 ms of a 10-17 ms addColumn.
 */
export function totalShape(n: ExprNode, schema: readonly ColumnDef[]): { kind: 'bool' | 'number'; nullable: boolean } | null {
  const all = (nodes: unknown, kind: 'bool' | 'number') => {
    if (!Array.isArray(nodes) || nodes.length === 0) return null;
    let nullable = false;
    for (const c of nodes) {
      const s = totalShape(c as ExprNode, schema);
      if (s?.kind !== kind) return null;
      nullable ||= s.nullable;
    }
    return { kind: 'bool' as const, nullable };
  };
  switch (n?.class) {
    case 'COLUMN_REF': {
      const names = n.column_names as string[];
      if (names.length !== 1) return null;
      const name = names[0].toLowerCase();
      if (name === 'row_id') return { kind: 'number', nullable: false };
      const def = schema.find((c) => c.name.toLowerCase() === name);
      if (!def) return null;
      if (def.type.kind === 'bool') return { kind: 'bool', nullable: def.nullable };
      return SIGNED_KINDS.has(def.type.kind) ? { kind: 'number', nullable: def.nullable } : null;
    }
    case 'CONSTANT': {
      const v = n.value as { type?: { id?: string; type_info?: { width?: number } | null }; is_null?: boolean } | undefined;
      const id = v?.type?.id ?? '';
      if (v?.is_null !== false) return null;
      return NUMBER_LITERALS.has(id) || (id === 'DECIMAL' && (v.type?.type_info?.width ?? 99) <= 18) ? { kind: 'number', nullable: false } : null;
    }
    case 'COMPARISON':
      return n.type && COMPARISONS.has(n.type) ? all([n.left, n.right], 'number') : null;
    case 'BETWEEN':
      return all([n.input, n.lower, n.upper], 'number');
    case 'CONJUNCTION':
      return n.type === 'CONJUNCTION_AND' || n.type === 'CONJUNCTION_OR' ? all(n.children, 'bool') : null;
    case 'OPERATOR': {
      const children = n.children as ExprNode[] | undefined;
      if (n.type === 'OPERATOR_NOT') return children?.length === 1 ? all(children, 'bool') : null;
      if ((n.type === 'OPERATOR_IS_NULL' || n.type === 'OPERATOR_IS_NOT_NULL') && children?.length === 1) {
        const c = children[0];
        const known = c.class === 'COLUMN_REF' ? schemaHas(schema, c) : totalShape(c, schema) !== null;
        return known ? { kind: 'bool', nullable: false } : null;
      }
      return null;
    }
    default:
      return null;
  }
}

function schemaHas(schema: readonly ColumnDef[], ref: ExprNode): boolean {
  const names = ref.column_names as string[];
  return names.length === 1 && (names[0].toLowerCase() === 'row_id' || schema.some((c) => c.name.toLowerCase() === names[0].toLowerCase()));
}

/**
 * True when stored expression `expr` gives a value (not an error, and not NULL for a required
 * column) for every row of `m`'s files. Deleted rows are evaluated too (one scan of the files,
 * no view: 10-16 ms over the view at 100k rows, load 5); a false answer only means the values
 * are computed over the live rows and written instead, which reports the same errors exactly.
 */
async function fillsEveryRow(ctx: VersionContext, m: Manifest, def: ColumnDef, expr: string): Promise<boolean> {
  const paths = await ctx.paths(m.fragments.map((f) => f.key));
  const sql = `SELECT count(*) FILTER (WHERE v IS NULL) AS nulls FROM (SELECT ${expr} AS v FROM read_parquet([${paths.map(quoteString).join(', ')}], union_by_name = true))`;
  try {
    const [{ nulls }] = (await ctx.session.all(sql)).rows as { nulls: bigint }[];
    return def.nullable || nulls === 0n;
  } catch (e) {
    if (e instanceof QuiverError) return false;
    throw e;
  }
}

/**
 * Kinds whose values, cast by DuckDB to the column's SQL type and read through Arrow, are
 * already what files store (booleans, numbers, bigints for 64-bit integers).
 */
const CAST_EXACT = new Set(['bool', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'int64', 'uint64', 'float64']);

/** Validates values for `def` like appended ones; returns them as files store them. */
function storedValues(def: ColumnDef, values: unknown[]): unknown[] {
  const batch = columnize([def], values.map((v) => ({ [def.name]: v })), values.map(() => 0n));
  return isLarge(def.type) ? (batch.large.get(def.name)![1].values as unknown[]) : (batch.scalar[1].values as unknown[]);
}

async function writeFill(ctx: VersionContext, def: ColumnDef, ids: bigint[], values: unknown[]): Promise<GroupFileMeta[]> {
  const files: GroupFileMeta[] = [];
  for (let i = 0; i < ids.length; i += FILL_FILE_ROWS_MAX) files.push(await writeGroupFile(ctx, def, ids.slice(i, i + FILL_FILE_ROWS_MAX), values.slice(i, i + FILL_FILE_ROWS_MAX)));
  return files;
}

/**
 * Adds column `def` to `m`. Existing rows read NULL, or `default`, or `expr` evaluated over
 * them now; a required column needs one of those. Returns the new manifest and bytes written.
 */
export async function planAddColumn(ctx: VersionContext, m: Manifest, def: ColumnDef, opts: AddColumnOptions): Promise<{ manifest: Manifest; bytes: number }> {
  checkFreeName(m, def);
  if (opts.default !== undefined && opts.expr !== undefined) throw new QuiverError('invalid_input', 'schema: give default or expr, not both');
  const fill = opts.default !== undefined || opts.expr !== undefined;
  if (!def.nullable && !fill) throw new QuiverError('invalid_input', `schema: required column "${def.name}" needs a default or expr for the existing rows`, { column: def.name });
  if (isImage(def) && fill) throw new QuiverError('unsupported', `schema: an image column starts NULL; backfill "${def.name}" with update`, { column: def.name });
  const out = frozen(m);
  reuseName(out.evolution, def);
  out.schema = [...m.schema, def];
  if (!fill || m.fragments.length === 0) return { manifest: out, bytes: 0 };
  const stored = opts.expr !== undefined ? await storedExpression(ctx, m, def, opts.expr) : null;
  if (stored !== null && (stored.total || (await fillsEveryRow(ctx, m, def, stored.sql)))) {
    out.evolution.fills[def.name] = { files: [], fragments: m.fragments.map((f) => f.id), field: def.name, expr: stored.sql };
    return { manifest: out, bytes: 0 };
  }
  const { ids, values } = await fillValues(ctx, m, def, opts);
  if (!def.nullable && values.some((v) => v === null)) throw new QuiverError('schema_mismatch', `schema: required column "${def.name}" would be NULL for some rows`, { column: def.name });
  const files = await writeFill(ctx, def, ids, values);
  if (isLarge(def.type)) out.groups = { ...m.groups, [def.name]: files };
  else out.evolution.fills[def.name] = { files, fragments: m.fragments.map((f) => f.id), field: def.name };
  return { manifest: out, bytes: files.reduce((n, g) => n + g.bytes, 0) };
}

function isImage(def: ColumnDef): boolean {
  return derivedColumns(def).length > 0;
}

/** Drops column `name`: no data is written; older versions keep it. */
export function planDropColumn(m: Manifest, name: string): Manifest {
  const def = column(m, name);
  if (m.schema.length === 1) throw new QuiverError('invalid_input', `schema: cannot drop "${name}", the only column`, { column: name });
  if (m.tenant === name) throw new QuiverError('invalid_input', `schema: cannot drop "${name}", the tenant column; setTenantColumn(null) first`, { column: name });
  const out = frozen(m);
  out.schema = m.schema.filter((c) => c.name !== name);
  const ev = out.evolution;
  const small = isLarge(def.type) ? derivedColumns(def) : [name];
  for (const n of small) ev.retired.push(n, ...(ev.renamed[n] ?? []));
  delete ev.renamed[name];
  delete ev.fills[name];
  const groups = { ...m.groups };
  delete groups[name];
  return { ...out, groups, indexes: m.indexes.filter((i) => i.column !== name), ...patchesRenamed(m, name, null) };
}

/** `m`'s patches with column `from` renamed to `to` (the file keeps its name for it), or dropped (`to` null). */
function patchesRenamed(m: Manifest, from: string, to: string | null): Pick<Manifest, 'patches'> {
  if (!m.patches?.length) return {};
  const patches = m.patches.flatMap((p) => {
    const i = p.columns.indexOf(from);
    if (i < 0) return [p];
    const names = p.names ?? p.columns;
    if (to === null) {
      const columns = p.columns.filter((_, k) => k !== i);
      return columns.length ? [{ ...p, columns, names: names.filter((_, k) => k !== i) }] : [];
    }
    return [{ ...p, columns: p.columns.map((c, k) => (k === i ? to : c)), names }];
  });
  return { patches: patches.length ? patches : undefined };
}

/** Renames small column `from` to `to`: files keep the old name, the view maps it; indexes on it are dropped. */
export function planRenameColumn(m: Manifest, from: string, to: string): Manifest {
  const def = column(m, from);
  if (isLarge(def.type)) throw new QuiverError('unsupported', `schema: cannot rename large column "${from}" (its files carry its name); add a new column and backfill it`, { column: from });
  const next = { ...def, name: to };
  parseColumn(to, 'text'); // the name rules
  checkFreeName(m, next);
  const out = frozen(m);
  reuseName(out.evolution, next);
  out.schema = m.schema.map((c) => (c.name === from ? next : c));
  if (m.tenant === from) out.tenant = to;
  const ev = out.evolution;
  ev.renamed[to] = [from, ...(ev.renamed[from] ?? [])];
  delete ev.renamed[from];
  if (ev.fills[from]) {
    ev.fills[to] = ev.fills[from];
    delete ev.fills[from];
  }
  return { ...out, indexes: m.indexes.filter((i) => i.column !== from), ...patchesRenamed(m, from, to) };
}

/** Widens a number column's type and/or lets it hold NULL; files are read as they are. */
export function planAlterColumn(m: Manifest, name: string, opts: AlterColumnOptions): Manifest {
  const def = column(m, name);
  let next: ColumnDef = def;
  if (opts.type !== undefined) {
    const to = parseColumn(name, opts.type).type;
    if (!widens(def.type, to)) throw new QuiverError('invalid_input', `schema: cannot change "${name}" from ${typeName(def.type)} to ${typeName(to)} (only widening a number type)`, { column: name });
    next = { ...next, type: to };
  }
  if (opts.nullable !== undefined) {
    if (opts.nullable !== true) throw new QuiverError('invalid_input', `schema: a column can be made nullable, not required ("${name}")`, { column: name });
    next = { ...next, nullable: true };
  }
  if (next === def) throw new QuiverError('invalid_input', 'schema: alterColumn needs { type } or { nullable: true }');
  const out = frozen(m);
  out.schema = m.schema.map((c) => (c.name === name ? next : c));
  return out;
}

/** Columns added, dropped and retyped from schema `a` to schema `b`, by name. */
export function schemaChanges(a: readonly ColumnDef[], b: readonly ColumnDef[]): { added: string[]; dropped: string[]; changed: string[] } {
  const byName = (s: readonly ColumnDef[]) => new Map(s.map((c) => [c.name, c]));
  const ma = byName(a);
  const mb = byName(b);
  return {
    added: b.filter((c) => !ma.has(c.name)).map((c) => c.name),
    dropped: a.filter((c) => !mb.has(c.name)).map((c) => c.name),
    changed: b.filter((c) => ma.has(c.name) && (sqlType(ma.get(c.name)!.type) !== sqlType(c.type) || ma.get(c.name)!.nullable !== c.nullable)).map((c) => c.name),
  };
}
