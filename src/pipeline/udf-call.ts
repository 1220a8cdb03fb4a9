// Turns a UDF value (function or class) into one batch call for a stage kind, the same way on
// every backend: `map_batches` passes the Arrow table, `map` calls once per row record and
// `flat_map` once per row expecting zero or more records. Classes are constructed once per
// actor (`actor` mode) or once per batch (`task` mode), and called through `call(batch)`.

import type * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import { recordsFromTable } from './schema.js';
import { isClass } from './udf-ref.js';

/** What a stage does with its UDF: a batch in and a batch out, a row to a row, or a row to many rows. */
export type StageKind = 'map_batches' | 'map' | 'flat_map';

/** One batch call: the UDF's raw output (a table or records), checked by the caller. */
export type BatchCall = (batch: arrow.Table) => Promise<unknown>;

interface Callable {
  call(input: unknown): unknown;
}

function asCallable(value: unknown, ctorArgs: readonly unknown[]): Callable {
  if (isClass(value)) {
    const instance = new value(...ctorArgs) as Partial<Callable>;
    if (typeof instance.call !== 'function') {
      throw new QuiverError('udf_failed', `pipeline: class ${value.name} has no call(batch) method`, { udf: value.name });
    }
    return instance as Callable;
  }
  if (typeof value === 'function') return { call: (x) => (value as (x: unknown) => unknown)(x) };
  throw new QuiverError('invalid_input', `pipeline: a UDF must be a function or a class, got ${typeof value}`);
}

async function runKind(c: Callable, kind: StageKind, batch: arrow.Table): Promise<unknown> {
  if (kind === 'map_batches') return await c.call(batch);
  const out: unknown[] = [];
  for (const row of recordsFromTable(batch)) {
    const r = await c.call(row);
    if (kind === 'map') out.push(r);
    else {
      if (r === null || typeof (r as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        throw new QuiverError('schema_mismatch', 'pipeline: a flatMap UDF must return an array of records for each row');
      }
      for (const x of r as Iterable<unknown>) out.push(x);
    }
  }
  return out;
}

/**
 * Builds the batch call for a UDF value. In `actor` mode a class is constructed now, once;
 * in `task` mode it is constructed for every batch, so tasks never share state.
 */
export function batchCallFor(value: unknown, kind: StageKind, mode: 'task' | 'actor', ctorArgs: readonly unknown[] = []): BatchCall {
  if (mode === 'actor' || !isClass(value)) {
    const c = asCallable(value, ctorArgs);
    return (batch) => runKind(c, kind, batch);
  }
  return (batch) => runKind(asCallable(value, ctorArgs), kind, batch);
}
