// Plans the `dataset` table for one query: which files to scan and the SQL of the view over
// them. Planning is pure (a manifest and the referenced columns in, a ScanPlan out); only
// large columns the query names are joined in, so a query over `rating` never opens an image file.

import { isLarge, sqlType, derivedColumns, type ColumnDef, type Manifest } from '../format/index.js';
import { quoteIdent, quoteString, type Session } from './engine.js';

export interface ScanPlan {
  /** Small-column files of every fragment. */
  scalarKeys: string[];
  /** Deleted-row-id files to anti-join. */
  deleteKeys: string[];
  /** Large columns the query needs, with their files. */
  groups: { column: string; keys: string[] }[];
  schema: ColumnDef[];
}

/** Columns a SQL text references, by name (lowercased), or 'all' when it uses `*`. */
export async function referencedColumns(session: Session, sql: string): Promise<Set<string> | 'all'> {
  const r = await session.all('select json_serialize_sql($1::VARCHAR) as j', [sql]);
  const tree = JSON.parse(r.rows[0].j as string) as { error?: boolean };
  if (tree.error) return 'all'; // let DuckDB report the syntax error when the query runs
  const names = new Set<string>();
  let star = false;
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.class === 'COLUMN_REF') for (const c of o.column_names as string[]) names.add(c.toLowerCase());
    if (o.class === 'STAR' || o.class === 'COLUMNS') star = true;
    for (const v of Object.values(o)) walk(v);
  };
  walk(tree);
  return star ? 'all' : names;
}

export function planScan(manifest: Manifest, needed: Set<string> | 'all'): ScanPlan {
  const groups: ScanPlan['groups'] = [];
  for (const c of manifest.schema) {
    if (!isLarge(c.type)) continue;
    if (needed !== 'all' && !needed.has(c.name.toLowerCase())) continue;
    groups.push({ column: c.name, keys: (manifest.groups[c.name] ?? []).map((g) => g.key) });
  }
  return {
    scalarKeys: manifest.fragments.map((f) => f.key),
    deleteKeys: manifest.fragments.flatMap((f) => (f.deletes ? [f.deletes.key] : [])),
    groups,
    schema: manifest.schema,
  };
}

const list = (paths: string[]) => `[${paths.map(quoteString).join(', ')}]`;

/** The SELECT that defines `dataset` for a plan, given local paths for its keys. */
export function viewSql(plan: ScanPlan, pathOf: (key: string) => string): string {
  const cols: string[] = ['s.row_id::BIGINT AS row_id'];
  const joins: string[] = [];
  const groupAlias = new Map(plan.groups.map((g, i) => [g.column, `g${i}`]));
  for (const c of plan.schema) {
    const q = quoteIdent(c.name);
    const t = sqlType(c.type);
    if (isLarge(c.type)) {
      const alias = groupAlias.get(c.name);
      const g = plan.groups.find((x) => x.column === c.name);
      cols.push(alias && g && g.keys.length ? `${alias}.${q}::${t} AS ${q}` : `NULL::${t} AS ${q}`);
    } else if (plan.scalarKeys.length) cols.push(`s.${q}::${t} AS ${q}`);
    else cols.push(`NULL::${t} AS ${q}`);
    for (const d of derivedColumns(c)) {
      const dt = d.endsWith('_format') ? 'VARCHAR' : 'INTEGER';
      const full = c.type.kind === 'list' ? `${dt}[]` : dt;
      cols.push(plan.scalarKeys.length ? `s.${quoteIdent(d)}::${full} AS ${quoteIdent(d)}` : `NULL::${full} AS ${quoteIdent(d)}`);
    }
  }
  if (plan.scalarKeys.length === 0) return `SELECT ${cols.join(', ').replace(/s\.row_id::BIGINT/, 'NULL::BIGINT')} WHERE false`;
  let from = `read_parquet(${list(plan.scalarKeys.map(pathOf))}, union_by_name = true) s`;
  if (plan.deleteKeys.length) {
    joins.push(`ANTI JOIN read_parquet(${list(plan.deleteKeys.map(pathOf))}) d ON d.row_id = s.row_id`);
  }
  for (const g of plan.groups) {
    if (!g.keys.length) continue;
    const alias = groupAlias.get(g.column)!;
    joins.push(`LEFT JOIN read_parquet(${list(g.keys.map(pathOf))}) ${alias} ON ${alias}.row_id = s.row_id`);
  }
  return `SELECT ${cols.join(', ')} FROM ${from} ${joins.join(' ')}`;
}
