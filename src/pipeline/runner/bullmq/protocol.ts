// What the coordinator and the workers say to each other through Redis: a run's announcement
// (its stages, where batches travel), a job per batch (slices of earlier outputs, so batches go
// worker to worker through the store), and a worker's answer. Plain JSON. Keys are named here
// only, so both sides agree on them.

import type { BackendName } from '../../backend/index.js';
import type { DatasetMergeTask, DatasetWriteTarget, DatasetWritten } from '../../dataset-seam.js';
import type { DatasetPiece } from '../../dataset-split.js';
import type { WireError } from '../../backend/host/protocol.js';
import type { OnError } from '../../plan.js';
import type { ColumnSpec } from '../../schema.js';
import type { BatchCounters } from '../local/stage-run.js';
import type { StageKind } from '../../udf-call.js';
import type { ModuleDescriptor } from './udf-module.js';

/** A stage as a worker needs it: the UDF to load, how, and what it needs of the worker. */
export interface ClusterStage {
  queue: string;
  index: number;
  name: string;
  kind: StageKind;
  mode: 'task' | 'actor';
  module: ModuleDescriptor;
  export: string;
  columns: ColumnSpec[];
  ctorArgs: unknown[];
  resources: Record<string, number>;
  /** Batches of this stage running at once, cluster-wide. */
  concurrency: number;
  restartsMax: number;
  batchTimeoutMs: number;
  backend: BackendName;
  maxRetries: number;
  retryBackoffMs: number;
  retryBackoffMsMax: number;
  onError: OnError;
  idColumn?: string;
  /** The last stage of a `writeDataset` run: the worker writes each output batch into this dataset itself and answers with the files' metadata only. */
  writeTo?: DatasetWriteTarget;
  /**
   * The merge round of an update by row id (`writeTo.update`): this stage runs no UDF; each job
   * merges stored pieces into one file of this target (`DatasetProvider.mergeRows`).
   */
  merge?: DatasetWriteTarget;
  /** The source-count stage of a filtered dataset source: this stage runs no UDF; each job counts one piece's rows. */
  count?: true;
}

export interface RunAnnouncement {
  run: string;
  /** The object store URL batches travel through, and the key prefix of this run's objects. */
  store: string;
  storePrefix: string;
  inlineBytesMax: number;
  stages: ClusterStage[];
}

/**
 * A batch, inline (base64 Arrow IPC), as a content-addressed key in the run's store, or a source
 * the worker reads itself (so source rows skip the coordinator): SQL over one Parquet file, or
 * one fragment of a dataset source (a version's fragment, maybe only its rows added `since`, maybe
 * under the user's SELECT over the bound name: dataset-split.ts).
 */
export type Payload = { ipc: string } | { key: string; bytes: number } | { scan: string } | DatasetPiece;

/** A payload the worker reads from the source itself. */
export type SourcePayload = Extract<Payload, { scan: string } | DatasetPiece>;

export function isSourcePayload(p: Payload): p is SourcePayload {
  return 'scan' in p || 'dataset' in p;
}

/** What a worker answers (as `written.files`) for a batch of an update target (`writeTo.update`): the stored piece, its rows and their row-id range. */
export interface StoredPiece {
  payload: Payload;
  rows: number;
  rowIdMin: string;
  rowIdMax: string;
}

/** Rows [offset, offset + rows) of the table a payload holds. */
export interface Slice {
  payload: Payload;
  offset: number;
  rows: number;
}

/** One batch of a stage: its index and its rows, as slices of earlier payloads in order. */
export interface JobData {
  batch: number;
  input: Slice[];
  /** A merge stage's job: the task and the stored pieces it reads, in its order. */
  merge?: { task: DatasetMergeTask; pieces: Payload[] };
  /** A source-count stage's job: the piece to count. */
  count?: DatasetPiece;
}

/**
 * A worker's answer: the output batch (or, for a stage with `writeTo`, what the worker wrote of
 * it) with its row count and the counters of its retries and onError, or the error.
 */
export type JobResult =
  | { ok: true; output: Payload; rows: number; counts: BatchCounters; worker: string }
  | { ok: true; written: DatasetWritten; rows: number; counts: BatchCounters; worker: string }
  | { ok: true; counted: number; worker: string }
  | { ok: false; error: WireError; worker: string };

/** What a worker records about itself, refreshed while it lives. */
export interface WorkerRecord {
  name: string;
  concurrency: number;
  resources: Record<string, number>;
}

export const keys = {
  runs: (prefix: string) => `${prefix}:runs`,
  run: (prefix: string, run: string) => `${prefix}:run:${run}`,
  /** The names of the workers that may still write to the run's queues (added before they serve, removed once closed). */
  serving: (prefix: string, run: string) => `${prefix}:run:${run}:serving`,
  /** Where the run's batches are stored ({ store, storePrefix }), kept without expiry so the run's sweeper can remove them after the announcement lapsed. */
  runStore: (prefix: string, run: string) => `${prefix}:run:${run}:store`,
  /** The pub/sub channel a coordinator names its ended run on, so workers leave it at once. */
  runEnded: (prefix: string) => `${prefix}:run-ended`,
  /** Every BullMQ key of a run's queues. */
  queueKeys: (prefix: string, run: string) => `${prefix}:run-${run}-s*`,
  worker: (prefix: string, name: string) => `${prefix}:worker:${name}`,
  workerPattern: (prefix: string) => `${prefix}:worker:*`,
  /** BullMQ queue names (BullMQ adds the prefix itself). */
  queue: (run: string, stage: number) => `run-${run}-s${stage}`,
  jobId: (batch: number) => `b${batch}`,
};

/** Slots a worker gives a stage: its concurrency, bounded by the stage's and by whole multiples of each resource; 0 when it lacks one. */
export function slotsFor(worker: WorkerRecord, stage: { concurrency: number; resources: Record<string, number> }): number {
  let slots = Math.min(worker.concurrency, stage.concurrency);
  for (const [r, need] of Object.entries(stage.resources)) slots = Math.min(slots, Math.floor((worker.resources[r] ?? 0) / need));
  return slots;
}

export function resourcesText(r: Record<string, number>): string {
  const parts = Object.entries(r).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : 'none';
}
