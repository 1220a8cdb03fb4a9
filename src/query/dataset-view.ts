// Plans the `dataset` view of one version for one query: which files to scan and the SQL of the
// view over them. Planning is pure (a manifest and options in, a ScanPlan out). Two rules:
//  - only the large columns a query names are joined in, so a query over `rating` never opens
//    an image or vector file;
//  - a fragment's deletes hide that fragment's copy of a row only, so an update can move a row
//    to a new fragment under the same row id.
// Until the schema changes, every fragment holds the version's small columns, so files are read
// without `union_by_name` (which costs a schema read per file); after a schema change (see
// SchemaEvolution) they are read by name: missing columns NULL, old names mapped to new ones.

import { isLarge, livePatches, sqlType, derivedColumns, type ColumnDef, type Manifest } from '../format/index.js';
import { quoteIdent, quoteString, type Session } from './engine.js';
import { parseSql, walk } from './search/sql-ast.js';

export interface ScanOptions {
  /** Large columns to join in: 'all', 'none' or a set of names (others read as NULL). Default 'all'. */
  large?: 'all' | 'none' | ReadonlySet<string>;
  /** Add the id of the fragment holding each row under this column name. */
  fragmentColumn?: string;
  /**
   * Only the rows where this predicate holds (SQL Quiver wrote, never a user's text): a scoped
   * handle's tenant filter, applied inside the view so no query over it sees another row.
   */
  where?: string;
  /**
   * Rows in fragment order, then file order (a sort). Without it the order is DuckDB's, which
   * varies between runs once a join is planned with the large-column files as its probe side.
   */
  ordered?: boolean;
}

export interface ScanPlan {
  schema: ColumnDef[];
  /** Each fragment's small-column file and, if it has any, its deletes file. */
  fragments: { id: string; key: string; deletesKey?: string }[];
  /** Large columns joined in, with their files. */
  groups: { column: string; keys: string[] }[];
  fragmentColumn?: string;
  /** The rows the view keeps (ScanOptions.where). */
  where?: string;
  ordered?: boolean;
  /** Every key the view reads. */
  keys: string[];
  /**
   * Column patches (Manifest.patches), oldest first: each file, the columns it gives values to
   * and the fragments whose rows it applies to (null: every fragment of the plan).
   */
  patches?: { key: string; columns: string[]; names: string[]; fragments: string[] | null }[];
  /** Set once the schema changed: how each small column is read from older files. */
  evolved?: {
    /** Physical names holding each small column (current name first), only those some file has. */
    sources: Record<string, string[]>;
    /** Files of small columns added with a default, and the fragments whose rows they fill. */
    fills: { column: string; keys: string[]; fragments: string[]; field: string; expr?: string }[];
  };
}

/** The column the view carries each row's small-column file path in; never shown to users. */
const FILE_COL = '__quiver_file';

/** Columns a SQL text references, by name (lowercased), or 'all' when it uses `*`. */
export async function referencedColumns(session: Session, sql: string): Promise<Set<string> | 'all'> {
  const tree = await parseSql(session, sql);
  if (tree.error) return 'all'; // let DuckDB report the syntax error when the query runs
  const names = new Set<string>();
  let star = false;
  walk(tree, (n) => {
    if (n.class === 'COLUMN_REF') for (const c of n.column_names as string[]) names.add(c.toLowerCase());
    if (n.class === 'STAR' || n.class === 'COLUMNS') star = true;
  });
  return star ? 'all' : names;
}

function wanted(large: ScanOptions['large'], column: string): boolean {
  const l = large ?? 'all';
  if (l === 'all') return true;
  if (l === 'none') return false;
  return l.has(column) || l.has(column.toLowerCase());
}

export function planScan(manifest: Manifest, options: ScanOptions = {}): ScanPlan {
  const fragments = manifest.fragments.map((f) => ({ id: f.id, key: f.key, ...(f.deletes && f.deletes.count > 0 ? { deletesKey: f.deletes.key } : {}) }));
  const groups = manifest.schema
    .filter((c) => isLarge(c.type) && wanted(options.large, c.name))
    .map((c) => ({ column: c.name, keys: (manifest.groups[c.name] ?? []).map((g) => g.key) }));
  const keys = [...fragments.flatMap((f) => (f.deletesKey ? [f.key, f.deletesKey] : [f.key])), ...groups.flatMap((g) => g.keys)];
  const evolved = planEvolved(manifest);
  if (evolved) for (const f of evolved.fills) keys.push(...f.keys);
  const ids = new Set(fragments.map((f) => f.id));
  const patches = livePatches(manifest).map((p) => {
    const on = p.fragments.filter((id) => ids.has(id));
    return { key: p.key, columns: p.columns, names: p.names ?? p.columns, fragments: on.length === ids.size ? null : on };
  });
  for (const p of patches) keys.push(p.key);
  return {
    schema: manifest.schema,
    fragments,
    groups,
    keys,
    ...(patches.length ? { patches } : {}),
    ...(options.fragmentColumn ? { fragmentColumn: options.fragmentColumn } : {}),
    ...(evolved ? { evolved } : {}),
    ...(options.where ? { where: options.where } : {}),
    ...(options.ordered ? { ordered: true } : {}),
  };
}

/** Where each small column of an evolved version comes from; undefined before any schema change. */
function planEvolved(m: Manifest): ScanPlan['evolved'] {
  const ev = m.evolution;
  if (!ev) return undefined;
  const current = smallColumns(m.schema).map((c) => c.name);
  const present = new Set<string>();
  for (const f of m.fragments) for (const n of f.columns ?? current) present.add(n);
  const sources: Record<string, string[]> = {};
  for (const n of current) sources[n] = [n, ...(ev.renamed[n] ?? [])].filter((p) => present.has(p));
  const live = new Set(m.fragments.map((f) => f.id));
  const fills = Object.entries(ev.fills)
    .map(([column, f]) => ({ column, field: f.field, keys: f.files.map((g) => g.key), fragments: f.fragments.filter((id) => live.has(id)), ...(f.expr !== undefined ? { expr: f.expr } : {}) }))
    .filter((f) => f.fragments.length && current.includes(f.column));
  return { sources, fills };
}

const list = (paths: string[]) => `[${paths.map(quoteString).join(', ')}]`;

/** The SQL type of a column derived from `c` (an image's `_format`, `_width`, `_height`). */
function derivedSqlType(c: ColumnDef, derived: string): string {
  const t = derived.endsWith('_format') ? 'VARCHAR' : 'INTEGER';
  return c.type.kind === 'list' ? `${t}[]` : t;
}

/** The columns of a version's small-column files besides row_id, with their types in the view. */
export function smallColumns(schema: readonly ColumnDef[]): { name: string; sqlType: string }[] {
  return schema.flatMap((c) => [...(isLarge(c.type) ? [] : [{ name: c.name, sqlType: sqlType(c.type) }]), ...derivedColumns(c).map((d) => ({ name: d, sqlType: derivedSqlType(c, d) }))]);
}

/** The SQL reading small column `name` from the fragment row `s` (and its fill, if any). */
function smallSource(plan: ScanPlan, name: string, fillAlias: ReadonlyMap<string, string>): string {
  if (!plan.evolved) return `s.${quoteIdent(name)}`;
  const parts = plan.evolved.sources[name].map((p) => `s.${quoteIdent(p)}`);
  const fill = fillAlias.get(name);
  if (fill) parts.push(fill);
  // A file holds one of a column's names (renames never reuse a name files hold), so at most
  // one part is non-NULL for any row.
  if (parts.length === 0) return 'NULL';
  return parts.length === 1 ? parts[0] : `COALESCE(${parts.join(', ')})`;
}

/** The SELECT that defines the view for a plan, given local paths for its keys. */
export function viewSql(plan: ScanPlan, pathOf: (key: string) => string): string {
  const all = unfilteredViewSql(plan, pathOf);
  return plan.where ? `SELECT * FROM (${all}) WHERE ${plan.where}` : all;
}

function unfilteredViewSql(plan: ScanPlan, pathOf: (key: string) => string): string {
  const empty = plan.fragments.length === 0;
  const cols: string[] = [empty ? 'NULL::BIGINT AS row_id' : 's.row_id::BIGINT AS row_id'];
  const joins: string[] = [];
  const group = new Map(plan.groups.map((g, i) => [g.column, { ...g, alias: `g${i}` }]));
  const fills = plan.evolved?.fills ?? [];
  // A fill gives its value only to rows of the fragments it was written for: a row rewritten
  // since (an update) carries its own value in its new fragment. That test sits in the value,
  // not in the join: an ON clause testing the fragment side of a LEFT JOIN is no equi-join, and
  // DuckDB runs it as a nested loop (100k rows: 40 s for a count, against 20 ms).
  const byId = new Map(plan.fragments.map((f) => [f.id, f.key]));
  const filesOf = (ids: readonly string[]) => ids.map((id) => quoteString(pathOf(byId.get(id)!))).join(', ');
  const filled = (f: (typeof fills)[number], file: string, value: string) => `CASE WHEN ${file} IN (${filesOf(f.fragments)}) THEN ${value} END`;
  // An expression fill is evaluated inside the scan, where the fragment row's own columns are
  // the only names in scope (row_id included), and read from there like a column of the file.
  const computed = fills.flatMap((f, i) => (f.expr !== undefined ? [`${filled(f, FILE_COL, `(${f.expr})`)} AS __quiver_fx${i}`] : []));
  const fillAlias = new Map(fills.map((f, i) => [f.column, f.expr !== undefined ? `s.__quiver_fx${i}` : filled(f, `s.${FILE_COL}`, `fl${i}.${quoteIdent(f.field)}`)]));
  // A patch's value wins where the patch holds the row (its row_id joined) and applies to the
  // fragment the row is read from; the newest patch is tested first. Like a fill, the fragment
  // test sits in the value, so each join stays an equi-join on row_id.
  const patches = plan.patches ?? [];
  const patched = (name: string, base: string): string => {
    const arms: string[] = [];
    for (let i = patches.length - 1; i >= 0; i--) {
      const p = patches[i];
      const k = p.columns.indexOf(name);
      if (k < 0) continue;
      const where = p.fragments === null ? '' : p.fragments.length ? ` AND s.${FILE_COL} IN (${filesOf(p.fragments)})` : ' AND false';
      arms.push(`WHEN pt${i}.row_id IS NOT NULL${where} THEN pt${i}.${quoteIdent(p.names[k])}`);
    }
    return arms.length ? `CASE ${arms.join(' ')} ELSE ${base} END` : base;
  };
  for (const c of plan.schema) {
    const q = quoteIdent(c.name);
    const t = sqlType(c.type);
    const g = group.get(c.name);
    if (isLarge(c.type)) {
      if (!empty && g && g.keys.length) {
        cols.push(`${g.alias}.${q}::${t} AS ${q}`);
        joins.push(`LEFT JOIN read_parquet(${list(g.keys.map(pathOf))}) ${g.alias} ON ${g.alias}.row_id = s.row_id`);
      } else cols.push(`NULL::${t} AS ${q}`);
    } else cols.push(empty ? `NULL::${t} AS ${q}` : `${patched(c.name, smallSource(plan, c.name, fillAlias))}::${t} AS ${q}`);
    for (const d of derivedColumns(c)) {
      const full = derivedSqlType(c, d);
      cols.push(empty ? `NULL::${full} AS ${quoteIdent(d)}` : `${smallSource(plan, d, fillAlias)}::${full} AS ${quoteIdent(d)}`);
    }
  }
  const fc = plan.fragmentColumn;
  if (fc) cols.push(empty ? `NULL::VARCHAR AS ${quoteIdent(fc)}` : `fm.fid AS ${quoteIdent(fc)}`);
  if (empty) return `SELECT ${cols.join(', ')} WHERE false`;
  const withDeletes = plan.fragments.filter((f) => f.deletesKey);
  const needFile = withDeletes.length > 0 || !!fc || fills.length > 0 || patches.some((p) => p.fragments !== null);
  const scan = `read_parquet(${list(plan.fragments.map((f) => pathOf(f.key)))}${needFile ? `, filename = '${FILE_COL}'` : ''}${plan.evolved ? ', union_by_name = true' : ''})`;
  // DuckDB's virtual columns (file_index, file_row_number) are not in `*`: named when ordered.
  const from = computed.length ? `(SELECT *, ${[...computed, ...(plan.ordered ? ['file_index', 'file_row_number'] : [])].join(', ')} FROM ${scan}) s` : `${scan} s`;
  // A fill holds each row id once, so joining it on the row id alone adds no rows.
  fills.forEach((f, i) => f.expr === undefined && joins.push(`LEFT JOIN read_parquet(${list(f.keys.map(pathOf))}) fl${i} ON fl${i}.row_id = s.row_id`));
  // A patch holds each row id once, so its join adds no rows either.
  patches.forEach((p, i) => joins.push(`LEFT JOIN read_parquet(${quoteString(pathOf(p.key))}) pt${i} ON pt${i}.row_id = s.row_id`));
  if (withDeletes.length) {
    const pairs = withDeletes.map((f) => `(${quoteString(pathOf(f.deletesKey!))}, ${quoteString(pathOf(f.key))})`).join(', ');
    joins.unshift(
      `ANTI JOIN (SELECT dl.row_id, dm.sp FROM read_parquet(${list(withDeletes.map((f) => pathOf(f.deletesKey!)))}, filename = '${FILE_COL}') dl ` +
        `JOIN (VALUES ${pairs}) dm(dp, sp) ON dm.dp = dl.${FILE_COL}) d ON d.row_id = s.row_id AND d.sp = s.${FILE_COL}`,
    );
  }
  if (fc) {
    const pairs = plan.fragments.map((f) => `(${quoteString(pathOf(f.key))}, ${quoteString(f.id)})`).join(', ');
    joins.unshift(`JOIN (VALUES ${pairs}) fm(fp, fid) ON fm.fp = s.${FILE_COL}`);
  }
  // DuckDB's virtual columns of the small-column scan: the file's place in the list, the row's in the file.
  const order = plan.ordered ? ' ORDER BY s.file_index, s.file_row_number' : '';
  return `SELECT ${cols.join(', ')} FROM ${from} ${joins.join(' ')}${order}`;
}
