// Turns a plan's source into SQL text and streams it out of DuckDB as Arrow tables. Dataset
// sources are resolved to SQL by the dataset provider at run time, never at plan time.

import * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import type { Session } from '../query/index.js';
import { boundSql, pieceSql, splitDatasetSource } from './dataset-split.js';
import type { DatasetProvider } from './dataset-seam.js';
import type { SourcePlan } from './plan.js';

/** The error of a dataset call after `configure({ datasets: undefined })` turned the default provider off. */
export function noDatasets(details: Record<string, unknown> = {}): QuiverError {
  return new QuiverError('unsupported', 'pipeline: no dataset provider (configure({ datasets: undefined }) turned it off); configure({ datasets }) with one to use datasets', details);
}

/** The SQL text a source reads, asking the dataset provider for any dataset it names. */
export async function sourceSql(source: SourcePlan, datasets: DatasetProvider | undefined): Promise<string> {
  if (source.kind === 'dataset') {
    if (!datasets) throw noDatasets();
    return datasets.sqlFor(source.dataset, { since: source.since });
  }
  const names = Object.keys(source.datasets);
  if (names.length === 0) return source.sql;
  if (!datasets) throw noDatasets();
  return boundSql(await Promise.all(names.map(async (n) => [n, await datasets.sqlFor(source.datasets[n], { since: source.since })] as const)), source.sql);
}

export async function* streamSql(session: Session, sql: string, batchRows: number): AsyncGenerator<arrow.Table> {
  for await (const b of session.stream(sql, [], batchRows)) yield new arrow.Table(b);
}

/**
 * Streams a plan's source. A dataset source that splits by fragment (a version, with or without
 * `since`, or a row-wise SELECT over one bound dataset: dataset-split.ts) is read piece by piece,
 * each in file order, so its rows come in the same order on every run, under every runner
 * (cluster workers read the same pieces); anything else is the SQL text, in DuckDB's order.
 */
export async function* streamSource(session: Session, source: SourcePlan, datasets: DatasetProvider | undefined, sql: () => Promise<string>, batchRows: number): AsyncGenerator<arrow.Table> {
  const split = source.kind === 'dataset' || Object.keys(source.datasets).length ? await splitDatasetSource(source, datasets, async (q) => (await session.all(q)).rows) : undefined;
  if (split?.pieces.length && datasets) {
    for (const p of split.pieces) yield* streamSql(session, await pieceSql(p, datasets), batchRows);
    return;
  }
  yield* streamSql(session, await sql(), batchRows);
}
