// The seam between pipelines and Quiver datasets. The dataset layer satisfies DatasetProvider;
// until one is configured, dataset sources and sinks fail with `unsupported`. Invariant: a
// DatasetSink makes nothing visible before `commit`, so a failed pipeline leaves no partial commit.

import type * as arrow from 'apache-arrow';
import type { ColumnSpec } from './schema.js';

/** A dataset version as the dataset layer names it (a number or an id). */
export type DatasetVersion = number | string;

/**
 * Which dataset and which state of it: a branch head (default: the main branch), a fixed
 * version, a tag, or a branch as of a time. The combinations `open` allows are the allowed ones.
 */
export interface DatasetRef {
  url: string;
  /** How to reach a remote store (endpoint, region; credentials stay out of lineage and out of scans sent to workers). */
  storage?: DatasetStorage;
  branch?: string;
  version?: DatasetVersion;
  tag?: string;
  /** An ISO 8601 time: the branch's last version committed at or before it. */
  asOf?: string;
}

/** The serialisable store options of a dataset reference (StoreOptions without its local-only parts). */
export interface DatasetStorage {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  connectionString?: string;
}

/** Store options a worker may be sent: where the store is, never how to sign in to it. */
export function withoutSecrets(s: DatasetStorage): Omit<DatasetStorage, 'credentials' | 'connectionString'> {
  const { credentials: _c, connectionString: _s, ...rest } = s;
  return rest;
}

/**
 * One fragment of a fixed dataset version, described so that another process (a cluster worker)
 * reads it itself: plain JSON, no secret (the worker's own credentials reach the store). The
 * scans of a version, in order, give exactly the rows of `sqlFor` at that version, in its order.
 */
export interface DatasetScan {
  url: string;
  /** Endpoint and region, never credentials. */
  storage?: Omit<DatasetStorage, 'credentials' | 'connectionString'>;
  /** The commit id: a worker opens the dataset read-only there. */
  version: string;
  fragment: string;
  /** Live rows (the fragment's rows less its deletes). */
  rows: number;
  /** Its small-column file and deletes file (for errors and logs; the worker reads the manifest itself). */
  key: string;
  deletes?: string;
  /** A commit id: only the fragment's rows added after it (by row id, as `sqlFor`'s `since`); `rows` is then an upper bound. */
  since?: string;
}

/** What produced a commit, recorded in it: the source SQL and every UDF stage. */
export interface DatasetLineage {
  runner: string;
  source: { kind: 'sql'; sql: string; datasets: Record<string, DatasetRef>; since?: DatasetVersion } | { kind: 'dataset'; dataset: DatasetRef };
  stages: { index: number; name: string; kind: string; backend: string; udf: string; columns: ColumnSpec[] }[];
}

export interface DatasetSink {
  /** Stages one batch; nothing is visible to readers yet. */
  append(batch: arrow.Table): Promise<void>;
  /** Makes every appended batch visible in one commit and returns its version. */
  commit(): Promise<{ version: DatasetVersion }>;
  /** Drops what was staged. Called when the pipeline fails. */
  abort(): Promise<void>;
  /**
   * Optional: where another process (a cluster worker) may write this sink's batches itself
   * (`DatasetProvider.writeBatch`; for an update by row id, pieces it merges with `mergeRows`),
   * or undefined when it cannot (an upsert by key).
   */
  remoteTarget?(): DatasetWriteTarget | undefined;
  /**
   * With `remoteTarget`: stages what a `writeBatch` (or, for an update target, a `mergeRows`)
   * for that target returned; `commit` publishes it with the rest.
   */
  adopt?(written: DatasetWritten): Promise<void>;
  /**
   * With an update target: the merge tasks that write the update's pieces (their row-id ranges,
   * in run order) into the dataset's files, from manifests only. `commit` checks that the
   * adopted answers of these tasks account for every piece row.
   */
  mergeTasks?(pieces: readonly UpdatePiece[]): Promise<DatasetMergeTask[]>;
}

/** What the runner tells a sink of one stored piece of an update: its rows and their row-id range (decimal strings). */
export interface UpdatePiece {
  rows: number;
  rowIdMin: string;
  rowIdMax: string;
}

/** One merge task: the version it plans on, the provider's description of it (plain JSON), and the pieces it reads (indexes, in run order). */
export interface DatasetMergeTask {
  version: string;
  task: unknown;
  pieces: number[];
}

/**
 * A dataset a sink commits to, described so another process writes batches for it: plain JSON,
 * no secret. `version` is the commit the sink started from (its schema is what they are written
 * under); `writer` names the sink's run of writes, so a process can drop its hold on them.
 */
export interface DatasetWriteTarget {
  url: string;
  storage?: Omit<DatasetStorage, 'credentials' | 'connectionString'>;
  version: string;
  writer: string;
  /** An update by row id: workers store their output as pieces, and merge tasks (`mergeRows`) write them into the dataset's files. */
  update?: { on: 'row_id' };
}

/** One batch written for a target: its rows, the bytes written, and the provider's description of its files (plain JSON). */
export interface DatasetWritten {
  rows: number;
  bytes: number;
  files: unknown;
}

export interface DatasetSource {
  /**
   * SQL text (runnable by the engine) reading the dataset at `ref`; with `since`, only the rows
   * added after that version.
   */
  sqlFor(ref: DatasetRef, options: { since?: DatasetVersion }): Promise<string>;
  /**
   * Optional: the state `ref` names as one scan per fragment, read from manifests only, or
   * undefined when this provider cannot split it. With `since`, only the fragments that may hold
   * rows added after that version, each scan reading only those rows. `local` streams the scans
   * in order; runners that send work to other processes send them.
   */
  splitScans?(ref: DatasetRef, options?: { since?: DatasetVersion }): Promise<DatasetScan[] | undefined>;
  /** Optional, with `splitScans`: SQL text (runnable by this process's engine) reading one scan's rows, in order. */
  scanSqlOf?(scan: DatasetScan): Promise<string>;
  /**
   * Optional, with `scanSqlOf`: rows [offset, offset + rows) of one scan, exactly those
   * `scanSqlOf`'s SQL gives there (same columns, types and order), reading only what they need
   * from the store. A cluster worker reads its job's slice of a fragment with it; without it,
   * the worker slices the whole scan.
   */
  readScanSlice?(scan: DatasetScan, offset: number, rows: number): Promise<arrow.Table>;
}

export interface DatasetProvider extends DatasetSource {
  /** With `update`, batches update rows by key (see WriteDatasetOptions.update) instead of appending. */
  openSink(url: string, options: { branch?: string; message?: string; columns: ColumnSpec[]; lineage: DatasetLineage; update?: { on: string } }): Promise<DatasetSink>;
  /** Optional: writes one batch's files for a sink's `remoteTarget` (visible only once that sink adopts and commits them). */
  writeBatch?(target: DatasetWriteTarget, batch: arrow.Table): Promise<DatasetWritten>;
  /** Optional: runs one merge task of an update target over its pieces' rows (in the task's order); visible only once the sink adopts and commits the answer. */
  mergeRows?(target: DatasetWriteTarget, task: DatasetMergeTask, pieces: readonly arrow.Table[]): Promise<DatasetWritten>;
  /** Optional: drops this process's hold (pending markers) on what it wrote for `writer`. */
  releaseWrites?(writer: string): Promise<void>;
}
