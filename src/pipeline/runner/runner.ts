// The runner seam: a runner executes a plan and streams the result batches back to the caller,
// who owns the sink. `local` runs stages in this process (and its workers); a distributed
// runner plugs in under another name without any change to SQL text or UDF code.

import type * as arrow from 'apache-arrow';
import type { DatasetProvider, DatasetSink } from '../dataset-seam.js';
import type { Plan } from '../plan.js';
import type { RunReport } from '../report.js';

export interface RunContext {
  /** Reads the plan's source as Arrow tables of about `batchRows` rows, in order. */
  source(batchRows: number): AsyncIterable<arrow.Table>;
  /**
   * The source's SQL text (resolved on first call: for a remote dataset that fetches its files
   * into this process's cache) and a way to ask DuckDB about it, for runners that split the
   * source into tasks workers read themselves.
   */
  sourceSql?: () => Promise<string>;
  query?: (sql: string) => Promise<Record<string, unknown>[]>;
  /** The dataset provider, for runners that split a dataset source by fragment (`splitScans`). */
  datasets?: DatasetProvider;
  /**
   * The dataset sink of a `writeDataset` run. A runner whose workers can write its batches
   * themselves (`sink.remoteTarget`) has them do so and stages their files with `sink.adopt`;
   * it yields only the batches it did not write. The caller appends what is yielded and commits.
   */
  sink?: DatasetSink;
  /** In-process UDF values by stage index, for stages whose UDF ref is `inline`. */
  inlineUdfs: ReadonlyMap<number, unknown>;
  /** The runner's options from `configure({ runner: { kind, ...options } })`. */
  options: Readonly<Record<string, unknown>>;
  /** The report to fill in; call `progress` after changing it. */
  report: RunReport;
  progress(): void;
}

export interface Runner {
  readonly name: string;
  /** Throws `invalid_input` for options this runner refuses; called by `configure`. */
  checkOptions?(options: Readonly<Record<string, unknown>>): void;
  /**
   * Runs the plan and yields its output batches, each with the last stage's schema.
   * Stopping the iteration early stops the run and releases its workers.
   */
  run(plan: Plan, ctx: RunContext): AsyncIterable<arrow.Table>;
}
