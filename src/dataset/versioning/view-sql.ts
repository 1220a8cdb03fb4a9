// The `dataset` view of any manifest, with deletes applied per fragment: a row id listed in a
// fragment's deletes hides that fragment's copy only, so an update can move a row to a new
// fragment under the same row id. Planning is pure: a manifest and options in, keys and SQL out.

import { isLarge, sqlType, derivedColumns, type Manifest } from '../../format/index.js';
import { quoteIdent, quoteString } from '../../query/index.js';

export interface VersionViewOptions {
  /** Large columns to join in: 'all', 'none' or a set of names (others read as NULL). Default 'all'. */
  large?: 'all' | 'none' | ReadonlySet<string>;
  /** Add the id of the fragment holding each row under this column name. */
  fragmentColumn?: string;
}

/** The column a view carries the scalar file's path in; never shown to users. */
const FILE_COL = '__quiver_file';

function wantsLarge(opts: VersionViewOptions, column: string): boolean {
  const l = opts.large ?? 'all';
  if (l === 'all') return true;
  if (l === 'none') return false;
  return l.has(column) || l.has(column.toLowerCase());
}

/** Every object key the view of `m` reads. */
export function versionViewKeys(m: Manifest, opts: VersionViewOptions = {}): string[] {
  const keys: string[] = [];
  for (const f of m.fragments) {
    keys.push(f.key);
    if (f.deletes) keys.push(f.deletes.key);
  }
  for (const c of m.schema) {
    if (isLarge(c.type) && wantsLarge(opts, c.name)) for (const g of m.groups[c.name] ?? []) keys.push(g.key);
  }
  return keys;
}

const list = (paths: string[]) => `[${paths.map(quoteString).join(', ')}]`;

/** The SELECT defining the view of `m`, given local paths for its keys. */
export function versionViewSql(m: Manifest, pathOf: (key: string) => string, opts: VersionViewOptions = {}): string {
  const cols: string[] = ['s.row_id::BIGINT AS row_id'];
  const joins: string[] = [];
  const empty = m.fragments.length === 0;
  m.schema.forEach((c, i) => {
    const q = quoteIdent(c.name);
    const t = sqlType(c.type);
    if (isLarge(c.type)) {
      const files = m.groups[c.name] ?? [];
      if (!empty && wantsLarge(opts, c.name) && files.length) {
        cols.push(`g${i}.${q}::${t} AS ${q}`);
        joins.push(`LEFT JOIN read_parquet(${list(files.map((g) => pathOf(g.key)))}) g${i} ON g${i}.row_id = s.row_id`);
      } else cols.push(`NULL::${t} AS ${q}`);
    } else cols.push(empty ? `NULL::${t} AS ${q}` : `s.${q}::${t} AS ${q}`);
    for (const d of derivedColumns(c)) {
      const dt = d.endsWith('_format') ? 'VARCHAR' : 'INTEGER';
      const full = c.type.kind === 'list' ? `${dt}[]` : dt;
      cols.push(empty ? `NULL::${full} AS ${quoteIdent(d)}` : `s.${quoteIdent(d)}::${full} AS ${quoteIdent(d)}`);
    }
  });
  if (opts.fragmentColumn) cols.push(empty ? `NULL::VARCHAR AS ${quoteIdent(opts.fragmentColumn)}` : `fm.fid AS ${quoteIdent(opts.fragmentColumn)}`);
  if (empty) return `SELECT ${cols.join(', ').replace('s.row_id::BIGINT', 'NULL::BIGINT')} WHERE false`;
  const scalarPaths = m.fragments.map((f) => pathOf(f.key));
  const from = `read_parquet(${list(scalarPaths)}, union_by_name = true, filename = '${FILE_COL}') s`;
  const withDeletes = m.fragments.filter((f) => f.deletes && f.deletes.count > 0);
  if (withDeletes.length) {
    const pairs = withDeletes.map((f) => `(${quoteString(pathOf(f.deletes!.key))}, ${quoteString(pathOf(f.key))})`).join(', ');
    joins.unshift(
      `ANTI JOIN (SELECT dl.row_id, dm.sp FROM read_parquet(${list(withDeletes.map((f) => pathOf(f.deletes!.key)))}, filename = '${FILE_COL}') dl ` +
        `JOIN (VALUES ${pairs}) dm(dp, sp) ON dm.dp = dl.${FILE_COL}) d ON d.row_id = s.row_id AND d.sp = s.${FILE_COL}`,
    );
  }
  if (opts.fragmentColumn) {
    const pairs = m.fragments.map((f) => `(${quoteString(pathOf(f.key))}, ${quoteString(f.id)})`).join(', ');
    joins.unshift(`JOIN (VALUES ${pairs}) fm(fp, fid) ON fm.fp = s.${FILE_COL}`);
  }
  return `SELECT ${cols.join(', ')} FROM ${from} ${joins.join(' ')}`;
}
