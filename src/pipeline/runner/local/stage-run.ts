// Runs one stage locally: re-cuts its input into `batchRows` batches, calls the executor with
// up to `batchesInFlightMax` batches pending, retries with backoff, and applies `onError`
// row by row once a batch has failed for good. Errors name the stage, batch and first row id.
// `batchRunner` (one batch) is shared with the cluster workers, so both behave the same.

import * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../../../errors.js';
import type { Executor } from '../../backend/index.js';
import type { StagePlan } from '../../plan.js';
import type { StageReport } from '../../report.js';
import { conformTable, sameType, recordsFromTable, tableFromRecords, type BatchWhere } from '../../schema.js';
import { arrowSchemaFromColumns } from '../../schema-sql.js';
import { parallelMap } from '../../stream/parallel-map.js';
import { rebatch } from '../../stream/rebatch.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Failures of the UDF itself after its retries: the only ones `onError` may skip or null. */
const udfFailures = new WeakSet<object>();

function firstRowId(batch: arrow.Table, idColumn: string | undefined): unknown {
  const name = idColumn ?? (batch.schema.fields.some((f) => f.name === 'id') ? 'id' : batch.schema.fields[0]?.name);
  const v = name === undefined || batch.numRows === 0 ? undefined : batch.getChild(name)?.get(0);
  if (typeof v !== 'bigint') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function udfError(stage: BatchStage, w: BatchWhere, batch: arrow.Table, attempts: number, e: unknown): QuiverError {
  const id = firstRowId(batch, stage.idColumn);
  const msg = (e as Error)?.message ?? String(e);
  return new QuiverError(
    'udf_failed',
    `pipeline: stage ${w.stage} "${w.stageName}" failed on batch ${w.batch} (first row id ${id}) after ${attempts} attempt${attempts > 1 ? 's' : ''}: ${msg}`,
    { ...w, firstRowId: id, attempts, backend: stage.backend },
    { cause: e },
  );
}

/** Output rows for failed input rows under `onError: 'null'`: same-named input columns carried, the rest null. */
function nullRows(rows: arrow.Table, schema: arrow.Schema, w: BatchWhere): arrow.Table {
  const input = new Map(rows.schema.fields.map((f) => [f.name, f.type]));
  const carry = schema.fields.filter((f) => input.has(f.name) && sameType(f.type, input.get(f.name)!)).map((f) => f.name);
  const recs = recordsFromTable(rows).map((r) => Object.fromEntries(schema.fields.map((f) => [f.name, carry.includes(f.name) ? r[f.name] : null])));
  return tableFromRecords(recs, schema, w);
}

/** The counters one batch's run adds to: a worker keeps its own and sends them back. */
export type BatchCounters = Pick<StageReport, 'retries' | 'skippedRows' | 'nulledRows'>;

/** What running one batch needs of a stage plan (a worker gets it from the run's announcement). */
export type BatchStage = Pick<StagePlan, 'index' | 'name' | 'backend' | 'columns' | 'maxRetries' | 'retryBackoffMs' | 'retryBackoffMsMax' | 'onError' | 'idColumn'>;

/**
 * One batch through a stage: the executor call with retries and backoff, then `onError` row by
 * row once it has failed for good. Returns the output conformed to the stage's schema.
 */
export function batchRunner(stage: BatchStage, exec: Executor, rep: BatchCounters): (batch: arrow.Table, batchIndex: number) => Promise<arrow.Table> {
  const schema = arrowSchemaFromColumns(stage.columns);

  const attempt = async (batch: arrow.Table, w: BatchWhere): Promise<arrow.Table> => {
    for (let tried = 0; ; tried++) {
      try {
        return conformTable(await exec.call(batch, w), schema, w);
      } catch (e) {
        // Quiver's own errors (schema mismatch, a host that will not start) are not transient.
        if (isQuiverError(e)) throw e;
        if (tried >= stage.maxRetries) {
          const err = udfError(stage, w, batch, tried + 1, e);
          udfFailures.add(err);
          throw err;
        }
        rep.retries++;
        await sleep(Math.min(stage.retryBackoffMs * 2 ** tried, stage.retryBackoffMsMax));
      }
    }
  };

  /** After a batch failed for good: isolate the failing rows by calling row by row. */
  const rowByRow = async (batch: arrow.Table, w: BatchWhere): Promise<arrow.Table> => {
    const parts: arrow.Table[] = [];
    for (let r = 0; r < batch.numRows; r++) {
      const row = batch.slice(r, r + 1);
      try {
        parts.push(conformTable(await exec.call(row, w), schema, w));
      } catch (e) {
        if (isQuiverError(e)) throw e;
        if (stage.onError === 'skip') rep.skippedRows++;
        else {
          rep.nulledRows++;
          parts.push(nullRows(row, schema, w));
        }
      }
    }
    return parts.reduce((a, b) => a.concat(b), new arrow.Table(schema));
  };

  return async (batch, i) => {
    const w: BatchWhere = { stage: stage.index, stageName: stage.name, batch: i };
    try {
      return await attempt(batch, w);
    } catch (e) {
      if (stage.onError === 'fail' || !udfFailures.has(e as object)) throw e;
      return rowByRow(batch, w);
    }
  };
}

export function runStage(input: AsyncIterable<arrow.Table>, stage: StagePlan, exec: Executor, rep: StageReport, progress: () => void): AsyncGenerator<arrow.Table> {
  const run = batchRunner(stage, exec, rep);
  const one = async (batch: arrow.Table, i: number): Promise<arrow.Table> => {
    rep.rowsIn += batch.numRows;
    rep.batchesIn++;
    const out = await run(batch, i);
    rep.rowsOut += out.numRows;
    rep.batchesOut++;
    rep.restarts = exec.stats.restarts;
    progress();
    return out;
  };

  return parallelMap(rebatch(input, stage.batchRows), one, stage.batchesInFlightMax, stage.ordered);
}
