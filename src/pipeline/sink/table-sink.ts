// Writes a pipeline's batches into a DuckDB table in one transaction, so a failed run leaves
// no table (mode 'create', 'replace') or no appended rows (mode 'append').

import type * as arrow from 'apache-arrow';
import { QuiverError } from '../../errors.js';
import { quoteIdent, type Session } from '../../query/index.js';
import type { ColumnSpec } from '../schema.js';

export type TableMode = 'create' | 'replace' | 'append';

export function createTableSql(name: string, columns: readonly ColumnSpec[], mode: TableMode): string {
  const cols = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
  return `create ${mode === 'replace' ? 'or replace ' : ''}table ${quoteIdent(name)} (${cols})`;
}

/** Runs `body` inside a transaction on `session`, rolling back if it throws. */
export async function inTransaction<T>(session: Session, body: () => Promise<T>): Promise<T> {
  await session.run('begin transaction');
  try {
    const r = await body();
    await session.run('commit');
    return r;
  } catch (e) {
    await session.run('rollback').catch(() => undefined);
    throw e;
  }
}

export async function writeTable(session: Session, name: string, columns: readonly ColumnSpec[], batches: AsyncIterable<arrow.Table>, mode: TableMode): Promise<void> {
  if (!['create', 'replace', 'append'].includes(mode)) throw new QuiverError('invalid_input', `pipeline: toTable mode must be create, replace or append, got ${mode}`);
  await inTransaction(session, async () => {
    if (mode !== 'append') await session.run(createTableSql(name, columns, mode));
    for await (const b of batches) if (b.numRows > 0) await session.insertArrow(name, b);
  });
}
