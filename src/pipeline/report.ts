// The run report: per-stage counters a run fills in as it goes, handed to `onProgress`, shown
// on the terminal, and returned by the sinks. Plain data, so a distributed runner can fill it too.

/** Counters of one UDF stage. */
export interface StageReport {
  index: number;
  name: string;
  backend: string;
  rowsIn: number;
  rowsOut: number;
  batchesIn: number;
  batchesOut: number;
  /** Rows dropped by `onError: 'skip'`. */
  skippedRows: number;
  /** Rows emitted with null outputs by `onError: 'null'`. */
  nulledRows: number;
  /** Batch retries after the UDF threw. */
  retries: number;
  /** Worker/process restarts after a crash or timeout. */
  restarts: number;
  /** Time to start workers and construct actors, summed over slots. */
  initMs: number;
}

/** A pipeline run's report: per-stage counters and totals. */
export interface RunReport {
  runner: string;
  stages: StageReport[];
  /** Rows that reached the sink. */
  rowsOut: number;
  startedAt: number;
  elapsedMs: number;
  done: boolean;
  /**
   * Cluster runners: Arrow IPC bytes the coordinator sent to workers and received from them, and
   * the bytes of source scan descriptions (SQL over one file each) it put in jobs instead of rows,
   * and the bytes of file metadata workers answered with when they wrote a dataset sink's fragments.
   */
  coordinatorBytes?: { sent: number; received: number; scanDescriptions: number; writtenMeta: number };
}

export function newReport(runner: string, stages: { index: number; name: string; backend: string }[]): RunReport {
  return {
    runner,
    stages: stages.map((s) => ({ index: s.index, name: s.name, backend: s.backend, rowsIn: 0, rowsOut: 0, batchesIn: 0, batchesOut: 0, skippedRows: 0, nulledRows: 0, retries: 0, restarts: 0, initMs: 0 })),
    rowsOut: 0,
    startedAt: Date.now(),
    elapsedMs: 0,
    done: false,
  };
}
