// The SQL sandbox: what SQL from an untrusted caller may be, checked on DuckDB's own parse
// (`json_serialize_sql`, which serializes SELECTs only), and the bounds it runs under.
// Invariant: SQL that passes is one SELECT that reads no relation but `dataset` and the CTEs
// it defines itself, calls no table function, and no function that reads files, settings,
// the environment, the catalog or Quiver's internal functions.

import { QuiverError } from '../errors.js';
import type { RunOptions, Session } from './engine.js';
import { parseSql, type AstNode } from './search/sql-ast.js';

/** Bounds of one sandboxed query. */
export interface SandboxLimits {
  /** Time one query may take in all, in ms; past it the running statement is interrupted (`timeout`). Default 10,000. */
  statementMs?: number;
  /** Rows a result may have; more fail with `invalid_input`. Default 100,000. */
  resultRowsMax?: number;
  /** Bytes a result's values may take (about, as JS values); more fail with `invalid_input`. Default 64 MiB. */
  resultBytesMax?: number;
}

export const SANDBOX_DEFAULTS: Readonly<Required<SandboxLimits>> = { statementMs: 10_000, resultRowsMax: 100_000, resultBytesMax: 64 * 1024 * 1024 };

/** The limits `sandbox: true | { … }` asks for, each checked; null for no sandbox. */
export function sandboxLimits(input: boolean | SandboxLimits | undefined): Required<SandboxLimits> | null {
  if (input === undefined || input === false) return null;
  if (input === true) return { ...SANDBOX_DEFAULTS };
  if (typeof input !== 'object' || input === null) throw new QuiverError('invalid_input', `sandbox: expected true or { statementMs, resultRowsMax, resultBytesMax }, got ${String(input)}`);
  const out = { ...SANDBOX_DEFAULTS };
  for (const [k, v] of Object.entries(input)) {
    if (!(k in SANDBOX_DEFAULTS)) throw new QuiverError('invalid_input', `sandbox: unknown limit "${k}"`, { limit: k });
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new QuiverError('invalid_input', `sandbox: ${k} must be a positive integer, got ${String(v)}`, { limit: k });
    out[k as keyof SandboxLimits] = v;
  }
  return out;
}

/** The result bounds of `limits` as the engine takes them. */
export function resultBounds(limits: Required<SandboxLimits>): RunOptions {
  return { resultRowsMax: limits.resultRowsMax, resultBytesMax: limits.resultBytesMax };
}

/** The one relation sandboxed SQL reads. */
const DATASET = 'dataset';

/**
 * Functions that read what a query over one dataset has no business reading: files and globs,
 * settings and variables, the environment, the catalog (`duckdb_*`, `pragma_*`, `pg_*`),
 * sequences and session state, and Quiver's internal functions and macros (`__q_*`), whose
 * state belongs to whichever query ran last.
 */
const FORBIDDEN_FUNCTION =
  /^(__|duckdb_|pragma_|pg_|read_|parquet_|sniff_|icu_|has_\w*privilege$|(glob|getenv|current_setting|current_query|current_database|current_catalog|current_schema|current_schemas|current_user|session_user|user|getvariable|setseed|nextval|currval|txid_current|query|query_table|json_execute_serialized_sql|write_log|checkpoint|force_checkpoint|version|enable_logging|disable_logging)$)/;

/** Table references a sandboxed query may use (each BASE_TABLE is then checked by name). */
const ALLOWED_TABLE_REFS = new Set(['BASE_TABLE', 'SUBQUERY', 'JOIN', 'EXPRESSION_LIST', 'EMPTY', 'PIVOT', 'SHOW_REF']);
const TABLE_REFS = new Set([...ALLOWED_TABLE_REFS, 'TABLE_FUNCTION', 'COLUMN_DATA', 'DELIM_GET', 'CTE', 'BOUND_TABLE_REF', 'INVALID']);

function forbidden(message: string, details: Record<string, unknown>): QuiverError {
  return new QuiverError('forbidden', `sandbox: ${message}`, details);
}

/**
 * Throws unless `sql` is one SELECT that reads only `dataset` (see the invariant above):
 * `forbidden` for a statement of another kind (EXPLAIN, PRAGMA, SET, COPY, ATTACH, …), a
 * relation, table function or function it may not use; `invalid_sql` for text DuckDB cannot
 * parse or more than one statement.
 */
export async function checkSandboxed(session: Session, sql: string): Promise<void> {
  if (typeof sql !== 'string' || !sql.trim()) throw new QuiverError('invalid_input', 'query: expected a SQL string');
  const tree = await parseSql(session, sql);
  if (tree.error) {
    const msg = String(tree.error_message ?? '');
    // json_serialize_sql refuses every statement that is not a SELECT with this message.
    if (/only select statements/i.test(msg)) throw forbidden('only one SELECT may run here (no EXPLAIN, PRAGMA, SET, COPY, ATTACH, CREATE, INSTALL or LOAD)', { sql });
    throw new QuiverError('invalid_sql', `query: ${msg.split('\n')[0]}`, { sql });
  }
  if (tree.statements.length !== 1) throw new QuiverError('invalid_sql', `query: expected one statement, got ${tree.statements.length}`, { sql, statements: tree.statements.length });
  visit(tree.statements[0].node, new Set(), sql);
}

/** CTE entries of a query node, in order. */
function ctesOf(n: AstNode): { key: string; query: AstNode }[] {
  const map = (n.cte_map as { map?: { key: string; value: { query: { node: AstNode } } }[] } | undefined)?.map;
  return Array.isArray(map) ? map.map((e) => ({ key: String(e.key).toLowerCase(), query: e.value?.query?.node })) : [];
}

/**
 * Checks every node under `node`; `ctes` are the CTE names in scope. A CTE's body sees the
 * CTEs before it (and itself, when recursive); the rest of its query sees them all.
 */
function visit(node: unknown, ctes: ReadonlySet<string>, sql: string): void {
  if (Array.isArray(node)) return node.forEach((x) => visit(x, ctes, sql));
  if (!node || typeof node !== 'object') return;
  const n = node as AstNode;
  let scope = ctes;
  const defined = ctesOf(n);
  if (defined.length) {
    const before = new Set(ctes);
    for (const { key, query } of defined) {
      if (key.startsWith('__')) throw forbidden(`CTE names may not start with "__", got "${key}"`, { sql, cte: key });
      const own = query?.type === 'RECURSIVE_CTE_NODE' ? new Set([...before, key]) : before;
      visit(query, own, sql);
      before.add(key);
    }
    scope = before;
  }
  checkNode(n, scope, sql);
  for (const [k, v] of Object.entries(n)) if (k !== 'cte_map') visit(v, scope, sql);
}

function checkNode(n: AstNode, ctes: ReadonlySet<string>, sql: string): void {
  if (typeof n.function_name === 'string') {
    const name = n.function_name.toLowerCase();
    if ((n.schema && n.schema !== '') || (n.catalog && n.catalog !== '')) throw forbidden(`functions may not be qualified by a schema or catalog, got "${n.schema || n.catalog}.${name}"`, { sql, function: name });
    if (FORBIDDEN_FUNCTION.test(name)) throw forbidden(`function "${name}" is not allowed`, { sql, function: name });
  }
  if (n.class !== undefined || typeof n.type !== 'string' || !TABLE_REFS.has(n.type)) return;
  if (!ALLOWED_TABLE_REFS.has(n.type)) {
    const fn = (n.function as AstNode | undefined)?.function_name;
    throw forbidden(n.type === 'TABLE_FUNCTION' ? `table function "${String(fn)}" is not allowed; only the table dataset may be read` : `a ${n.type} reference is not allowed`, { sql, ...(fn ? { function: fn } : {}) });
  }
  if (n.type === 'SHOW_REF' && !n.query) throw forbidden('SHOW of the catalog is not allowed', { sql });
  if (n.type !== 'BASE_TABLE') return;
  const table = String(n.table_name);
  const qualified = (n.schema_name && n.schema_name !== '') || (n.catalog_name && n.catalog_name !== '');
  if (qualified) throw forbidden(`only the table dataset may be read, got "${[n.catalog_name, n.schema_name, table].filter(Boolean).join('.')}"`, { sql, table });
  if (n.at_clause) throw forbidden('AT (time travel) is not allowed; open the version instead', { sql, table });
  const lower = table.toLowerCase();
  if (lower !== DATASET && !ctes.has(lower)) throw forbidden(`only the table dataset may be read, got "${table}"`, { sql, table });
}
