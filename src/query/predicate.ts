// Checks a SQL predicate a user wrote (update/delete `where`, curate's predicate): DuckDB must
// parse it as exactly one expression, and it must be boolean. The text Quiver runs is DuckDB's
// own rendering of that one expression, so nothing around it (a closing parenthesis, a
// comment, a second statement) can escape into the query it is put in.

import { QuiverError, isQuiverError } from '../errors.js';
import { userMessage, type Param, type Session } from './engine.js';
import { parseSql, unparseSql, type AstNode, type ParsedSql } from './search/sql-ast.js';

/** True when a parsed `SELECT 1 WHERE (…)` is that and nothing more: no set operation, clause or modifier was smuggled in. */
function bareWhere(node: AstNode): boolean {
  const from = node.from_table as AstNode | undefined;
  return (
    node.type === 'SELECT_NODE' &&
    from?.type === 'EMPTY' &&
    (node.select_list as unknown[]).length === 1 &&
    node.where_clause !== null &&
    ((node.modifiers as unknown[]) ?? []).length === 0 &&
    Object.keys((node.cte_map as { map?: object })?.map ?? {}).length === 0 &&
    ((node.group_expressions as unknown[]) ?? []).length === 0 &&
    !node.having &&
    !node.qualify &&
    !node.sample
  );
}

/**
 * The user's expression as the parsed tree of `SELECT <expression>`, if it is exactly one
 * expression (see predicateSql), for a caller that rewrites it before DuckDB renders it.
 */
export async function expressionTree(session: Session, text: string, subject: string): Promise<ParsedSql> {
  const tree = await parseSql(session, `SELECT 1 WHERE (${text}\n)`);
  const node = tree.statements?.[0]?.node;
  if (tree.error || tree.statements.length !== 1 || !node || !bareWhere(node)) {
    throw new QuiverError('invalid_sql', `${subject} must be one SQL expression, got: ${text}`, { predicate: text });
  }
  // The expression alone: as the only item of a SELECT list, prefix fixed.
  node.select_list = [{ ...(node.where_clause as AstNode), alias: '' }];
  node.where_clause = null;
  return tree;
}

/**
 * The predicate as DuckDB writes it, if it is exactly one expression; `subject` names it in
 * errors (`update: where`). Throws `invalid_sql` otherwise.
 */
export async function predicateSql(session: Session, text: string, subject: string): Promise<string> {
  const sql = await unparseSql(session, await expressionTree(session, text, subject));
  if (!sql.startsWith('SELECT ')) throw new QuiverError('invalid_sql', `${subject} must be one SQL expression, got: ${text}`, { predicate: text });
  return sql.slice('SELECT '.length);
}

/**
 * Checks that `predicate` (from predicateSql) is boolean over `relation`, naming DuckDB's
 * refusal in the user's terms: the subject and their text, never the SQL Quiver wrapped it in.
 */
export async function checkBoolean(session: Session, predicate: string, relation: string, params: readonly Param[], subject: string, text: string): Promise<void> {
  let type: string;
  try {
    [{ type }] = await session.describe(`SELECT (${predicate}) AS p FROM ${relation}`, params);
  } catch (e) {
    if (!isQuiverError(e, 'invalid_sql')) throw e;
    throw new QuiverError('invalid_sql', `${subject} ${text}: ${userMessage(e.cause ?? e)}`, { predicate: text }, { cause: e });
  }
  if (type !== 'BOOLEAN' && type !== '"NULL"' && type !== 'NULL') {
    throw new QuiverError('invalid_sql', `${subject} must be boolean, got ${type}: ${text}`, { predicate: text, type });
  }
}
