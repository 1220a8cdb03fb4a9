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
  branch?: string;
  version?: DatasetVersion;
  tag?: string;
  /** An ISO 8601 time: the branch's last version committed at or before it. */
  asOf?: string;
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
}

export interface DatasetSource {
  /**
   * SQL text (runnable by the engine) reading the dataset at `ref`; with `since`, only the rows
   * added after that version.
   */
  sqlFor(ref: DatasetRef, options: { since?: DatasetVersion }): Promise<string>;
}

export interface DatasetProvider extends DatasetSource {
  /** With `update`, batches update rows by key (see WriteDatasetOptions.update) instead of appending. */
  openSink(url: string, options: { branch?: string; message?: string; columns: ColumnSpec[]; lineage: DatasetLineage; update?: { on: string } }): Promise<DatasetSink>;
}
