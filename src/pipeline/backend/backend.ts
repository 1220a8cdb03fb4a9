// The UDF backend seam: a backend opens an executor for one stage, and the executor runs one
// batch at a time per concurrency slot. One folder per implementation (inline, thread_task,
// subprocess_task, subprocess_actor); the runner never knows which one it talks to.

import type * as arrow from 'apache-arrow';
import type { BatchWhere, ColumnSpec } from '../schema.js';
import type { StageKind } from '../udf-call.js';
import type { UdfPlanRef } from '../udf-ref.js';

/** The execution backends a stage can choose. */
export type BackendName = 'inline' | 'thread_task' | 'subprocess_task' | 'subprocess_actor' | 'cluster_task' | 'cluster_actor';

/** What a backend needs to know about a stage (a slice of the stage plan). */
export interface BackendStage {
  index: number;
  name: string;
  kind: StageKind;
  udf: UdfPlanRef;
  columns: ColumnSpec[];
  concurrency: number;
  restartsMax: number;
  batchTimeoutMs: number;
  ctorArgs: unknown[];
  /** What a worker must offer to run the stage (cluster backends), e.g. { gpus: 1 }. */
  resources: Record<string, number>;
}

/** Counters a backend keeps for the run report. */
export interface ExecutorStats {
  /** Worker or process restarts after a crash or a timeout. */
  restarts: number;
  /** Time spent starting workers or constructing actors, summed over slots. */
  initMs: number;
}

export interface Executor {
  /**
   * Runs the UDF on one batch and returns its output as a table with the declared schema.
   * Rejects with the UDF's own error when it throws, or a QuiverError for everything else.
   */
  call(batch: arrow.Table, where: BatchWhere): Promise<arrow.Table>;
  readonly stats: ExecutorStats;
  close(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Starts the stage's workers (all slots, in parallel) and resolves when they are ready. */
  open(stage: BackendStage, inlineValue?: unknown): Promise<Executor>;
}
