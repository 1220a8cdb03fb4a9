// The pipeline plan: a pure, serialisable value (source SQL, stages with UDF references and
// every option resolved to a number) built before anything runs. A runner executes a plan;
// it never sees the Relation that produced it. Tests assert plans directly.

import { QuiverError } from '../errors.js';
import { backendFor, type BackendName, type BackendStage } from './backend/index.js';
import type { DatasetRef, DatasetVersion } from './dataset-seam.js';
import { type ColumnSpec, type SchemaSpec } from './schema.js';
import { columnsFromSpec } from './schema-sql.js';
import type { StageKind } from './udf-call.js';
import type { UdfPlanRef } from './udf-ref.js';

/** What to do with rows whose UDF call still fails after the retries. */
export type OnError = 'fail' | 'skip' | 'null';

/** Options of `mapBatches`, `map` and `flatMap`. */
export interface StageOptions {
  /** The output columns, name to DuckDB SQL type, in order. Required. */
  schema: SchemaSpec;
  /** Rows per UDF call (the last batch may be smaller). Default 1024. */
  batchSize?: number;
  /** Where the UDF runs. Default 'inline'. */
  backend?: BackendName;
  /** Parallel UDF calls: workers, processes or actors. Default 1. */
  concurrency?: number;
  /** Keep input order. Default true; false yields batches as they finish. */
  ordered?: boolean;
  /** Batches submitted but not yet consumed downstream, the stage's memory bound. Default 2 × concurrency. */
  batchesInFlightMax?: number;
  /** Retries of a batch whose UDF threw. Default 0. */
  maxRetries?: number;
  /** First retry delay; doubles per retry up to 5 s. Default 100 ms. */
  retryBackoffMs?: number;
  /** After the retries: 'fail' the pipeline, 'skip' the failing rows, or emit them with 'null' outputs. Default 'fail'. */
  onError?: OnError;
  /** Restarts of crashed or timed-out workers/processes per stage before giving up. Default 3. */
  restartsMax?: number;
  /** Kill and restart a worker/process whose batch takes longer (then retry it). 0 = no limit. Default 0. Not for `inline`. */
  batchTimeoutMs?: number;
  /** Column used to name the first row of a failing batch in errors. Default 'id' if present, else the first column. */
  idColumn?: string;
  /** Stage name in errors, reports and lineage. Default the UDF's name. */
  name?: string;
  /** Arguments for a class UDF's constructor (structured-cloneable). Default []. */
  constructorArgs?: unknown[];
  /** Cluster backends: what a worker must offer to run a batch, e.g. `{ gpus: 1 }`. Default {}. */
  resources?: Record<string, number>;
}

export interface StagePlan extends BackendStage {
  backend: BackendName;
  batchRows: number;
  ordered: boolean;
  batchesInFlightMax: number;
  maxRetries: number;
  retryBackoffMs: number;
  retryBackoffMsMax: number;
  onError: OnError;
  idColumn?: string;
}

export type SourcePlan =
  | { kind: 'sql'; sql: string; datasets: Record<string, DatasetRef>; since?: DatasetVersion }
  | { kind: 'dataset'; dataset: DatasetRef; since?: DatasetVersion };

export interface Plan {
  runner: string;
  source: SourcePlan;
  stages: StagePlan[];
}

export const stageDefaults = {
  batchSize: 1024,
  concurrency: 1,
  maxRetries: 0,
  retryBackoffMs: 100,
  retryBackoffMsMax: 5000,
  restartsMax: 3,
  batchTimeoutMs: 0,
} as const;

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min) throw new QuiverError('invalid_input', `pipeline: ${name} must be an integer >= ${min}, got ${v}`, { option: name });
  return v;
}

function resourcesOf(r: Record<string, number> | undefined): Record<string, number> {
  if (r === undefined) return {};
  if (typeof r !== 'object' || r === null) throw new QuiverError('invalid_input', `pipeline: resources must be an object of names to counts, got ${String(r)}`);
  for (const [k, v] of Object.entries(r)) {
    if (!/^[a-z][a-z0-9_]*$/i.test(k)) throw new QuiverError('invalid_input', `pipeline: a resource name must be an identifier, got ${JSON.stringify(k)}`);
    positiveInt(`resources.${k}`, v, 0, 1);
  }
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

/** Resolves a stage's options to a stage plan: every default filled in, every value checked. */
export function stagePlan(index: number, kind: StageKind, udf: UdfPlanRef, defaultName: string, o: StageOptions): StagePlan {
  if (!o || typeof o !== 'object') throw new QuiverError('invalid_input', 'pipeline: stage options with a schema are required');
  const backend = backendFor(o.backend ?? 'inline').name;
  if (udf.kind === 'inline' && backend !== 'inline') {
    throw new QuiverError('invalid_input', `pipeline: backend ${backend} needs a UDF it can load from a module`, { backend });
  }
  const onError = o.onError ?? 'fail';
  if (!['fail', 'skip', 'null'].includes(onError)) throw new QuiverError('invalid_input', `pipeline: onError must be fail, skip or null, got ${onError}`);
  const concurrency = positiveInt('concurrency', o.concurrency, stageDefaults.concurrency);
  return {
    index,
    name: o.name ?? defaultName,
    kind,
    udf,
    columns: columnsFromSpec(o.schema),
    backend,
    batchRows: positiveInt('batchSize', o.batchSize, stageDefaults.batchSize),
    concurrency,
    ordered: o.ordered ?? true,
    batchesInFlightMax: positiveInt('batchesInFlightMax', o.batchesInFlightMax, 2 * concurrency),
    maxRetries: positiveInt('maxRetries', o.maxRetries, stageDefaults.maxRetries, 0),
    retryBackoffMs: positiveInt('retryBackoffMs', o.retryBackoffMs, stageDefaults.retryBackoffMs, 0),
    retryBackoffMsMax: stageDefaults.retryBackoffMsMax,
    onError,
    restartsMax: positiveInt('restartsMax', o.restartsMax, stageDefaults.restartsMax, 0),
    batchTimeoutMs: positiveInt('batchTimeoutMs', o.batchTimeoutMs, stageDefaults.batchTimeoutMs, 0),
    ctorArgs: o.constructorArgs ?? [],
    resources: resourcesOf(o.resources),
    ...(o.idColumn !== undefined ? { idColumn: o.idColumn } : {}),
  };
}

/** The columns a plan produces when it has stages (the last stage's); undefined for pure SQL. */
export function planColumns(plan: Plan): ColumnSpec[] | undefined {
  return plan.stages.at(-1)?.columns;
}
