// The bullmq runner's run. A source feeding a cluster stage is split into scans the workers read
// themselves: a dataset source by fragment (a version, `since`, a row-wise SELECT over one bound
// dataset: dataset-split.ts), a `read_parquet` query by file (source-split.ts); any other source
// is read here. A
// `cluster_task` / `cluster_actor` stage runs as one job per batch on the workers, and its output stays in the store: the next cluster stage
// gets slices of it (re-cut to its batch size by row counts alone), so batches go worker to
// worker. Only a local stage or the sink reads batches back here — except a `writeDataset`
// sink, whose fragments the last stage's workers write themselves: only their metadata comes
// back, staged here in batch order and published in the caller's one commit. Nothing outlives the run: its
// queues, announcement and stored batches are removed when it ends, however it ends.

import type * as arrow from 'apache-arrow';
import { assert } from '../../../errors.js';
import { backendFor, clusterMode, type Executor } from '../../backend/index.js';
import type { Plan, StagePlan } from '../../plan.js';
import type { StageReport } from '../../report.js';
import { parallelMap } from '../../stream/parallel-map.js';
import { rebatch } from '../../stream/rebatch.js';
import { openAll } from '../local/local-runner.js';
import { runStage } from '../local/stage-run.js';
import type { DatasetMergeTask, DatasetWriteTarget, DatasetWritten } from '../../dataset-seam.js';
import type { RunContext } from '../runner.js';
import { ClusterRun } from './cluster-run.js';
import { resolveOptions } from './options.js';
import type { ClusterStage, Payload, Slice, SourcePayload, StoredPiece } from './protocol.js';
import { checkReachable } from './redis.js';
import { splitParquetSource } from './source-split.js';
import { countPieces, splitDatasetSource, type DatasetPiece } from '../../dataset-split.js';
import { describeModule } from './udf-module.js';

/** A batch between stages: a table here, a reference to one in the run's store, or (after the last stage of a dataset sink) the files a worker wrote of it. */
type Item = { table: arrow.Table } | { ref: Payload; rows: number } | { written: DatasetWritten; rows: number };

async function* tablesOf(items: AsyncIterable<Item>, run: ClusterRun): AsyncGenerator<arrow.Table> {
  for await (const it of items) {
    assert(!('written' in it), 'written batches come only from the last stage');
    yield 'table' in it ? it.table : await run.readTable(it.ref);
  }
}

/**
 * The run's output: batches the caller's sink takes, except those workers wrote into the dataset
 * sink themselves, which it adopts (in batch order) — or, for an update target, whose stored
 * pieces it collects into `pieces` for the merge round.
 */
async function* outputOf(items: AsyncIterable<Item>, run: ClusterRun, ctx: RunContext, pieces?: StoredPiece[]): AsyncGenerator<arrow.Table> {
  for await (const it of items) {
    if ('table' in it) yield it.table;
    else if ('ref' in it) yield await run.readTable(it.ref);
    else {
      if (!pieces) await ctx.sink!.adopt!(it.written);
      else if (it.rows > 0) pieces.push(it.written.files as StoredPiece);
      ctx.report.rowsOut += it.rows;
      ctx.progress();
    }
  }
}

async function* fromArray<T>(xs: readonly T[]): AsyncGenerator<T> {
  yield* xs;
}

/**
 * The merge round of an update by row id: the sink plans one task per fragment or large-column
 * file the pieces' row-id ranges meet (from manifests), a stage of merge jobs runs them on the
 * workers (each reads its pieces from the store and writes its one file), and the sink adopts
 * each answer (file metadata only) for its one commit.
 */
async function mergeRound(run: ClusterRun, stage: Omit<ClusterStage, 'queue'>, ctx: RunContext, pieces: readonly StoredPiece[]): Promise<void> {
  const sink = ctx.sink!;
  const tasks = await sink.mergeTasks!(pieces.map(({ rows, rowIdMin, rowIdMax }) => ({ rows, rowIdMin, rowIdMax })));
  if (tasks.length === 0) return;
  await run.addStage(stage);
  const one = async (t: DatasetMergeTask, i: number) => {
    await sink.adopt!(await run.callMerge(stage.index, i, { task: t, pieces: t.pieces.map((k) => pieces[k].payload) }));
  };
  for await (const _ of parallelMap(fromArray(tasks), one, Math.max(2, 2 * stage.concurrency), false)) ctx.progress();
}

async function* refsOf(items: AsyncIterable<Item>): AsyncGenerator<{ ref: Payload; rows: number }> {
  for await (const it of items) {
    assert('ref' in it, 'a stage after a cluster stage gets references');
    yield it;
  }
}

/** Tables (the source, a local stage) are cut here, as `local` cuts them, and each batch put once. */
async function* putBatches(tables: AsyncIterable<arrow.Table>, rows: number, run: ClusterRun): AsyncGenerator<Slice[]> {
  for await (const t of rebatch(tables, rows)) yield [{ payload: await run.putTable(t), offset: 0, rows: t.numRows }];
}

/** Re-cuts references into batches of exactly `rows` rows (the last may be smaller), as `rebatch` does with tables. */
export async function* sliceBatches(input: AsyncIterable<{ ref: Payload; rows: number }>, rows: number): AsyncGenerator<Slice[]> {
  let parts: Slice[] = [];
  let held = 0;
  for await (const r of input) {
    let at = 0;
    while (at < r.rows) {
      const n = Math.min(rows - held, r.rows - at);
      parts.push({ payload: r.ref, offset: at, rows: n });
      held += n;
      at += n;
      if (held === rows) {
        yield parts;
        parts = [];
        held = 0;
      }
    }
  }
  if (held > 0) yield parts;
}

function clusterStage(input: AsyncIterable<Item>, refsIn: boolean, s: StagePlan, run: ClusterRun, rep: StageReport, progress: () => void): AsyncGenerator<Item> {
  const one = async (slices: Slice[], i: number): Promise<Item> => {
    rep.rowsIn += slices.reduce((n, sl) => n + sl.rows, 0);
    rep.batchesIn++;
    const r = await run.call(s.index, i, slices);
    rep.rowsOut += r.rows;
    rep.batchesOut++;
    rep.retries += r.counts.retries;
    rep.skippedRows += r.counts.skippedRows;
    rep.nulledRows += r.counts.nulledRows;
    progress();
    return 'written' in r ? { written: r.written, rows: r.rows } : { ref: r.output, rows: r.rows };
  };
  const batches = refsIn ? sliceBatches(refsOf(input), s.batchRows) : putBatches(tablesOf(input, run), s.batchRows, run);
  return parallelMap(batches, one, s.batchesInFlightMax, s.ordered);
}

async function* itemsOf(tables: AsyncIterable<arrow.Table>): AsyncGenerator<Item> {
  for await (const table of tables) yield { table };
}

async function* scanItems(scans: { payload: SourcePayload; rows: number }[]): AsyncGenerator<Item> {
  for (const s of scans) yield { ref: s.payload, rows: s.rows };
}

/**
 * A count function for `countPieces` that has workers count (one job per piece, on a count stage
 * announced at its first use: index 0, the source's, which no UDF stage has; no resources, so any
 * worker; as many at once as the first stage's concurrency).
 */
function workerCounts(run: ClusterRun, first: StagePlan): (p: DatasetPiece) => Promise<number> {
  let added: Promise<void> | undefined;
  let next = 0;
  return async (p) => {
    const job = next++; // in call order, which is piece order: a deterministic job id per piece
    added ??= run.addStage({ ...clusterStageOf(first, 'task', undefined), index: 0, name: 'source count', resources: {}, count: true });
    await added;
    return run.callCount(0, job, p);
  };
}

/**
 * The source as scans workers read themselves, or undefined when it does not split: a dataset
 * source by fragment (dataset-split.ts: from manifests, no data file read here unless a WHERE or
 * `since` needs a count), a read_parquet query by file.
 */
async function splitSource(plan: Plan, ctx: RunContext, run: ClusterRun): Promise<{ payload: SourcePayload; rows: number }[] | undefined> {
  const src = plan.source;
  if (!ctx.query) return undefined;
  if (src.kind === 'dataset' || Object.keys(src.datasets).length) {
    const split = await splitDatasetSource(src, ctx.datasets, ctx.query);
    if (!split || !ctx.datasets) return undefined;
    // Counted before any batch is cut: batches are exactly `batchSize` rows across pieces, as
    // `local` cuts them, so each piece's count decides which job reads which of its rows. A
    // filtered piece is counted by a worker, so the coordinator reads none of its columns.
    const rows = await countPieces(split, workerCounts(run, plan.stages[0]));
    // A piece with no rows (a WHERE or `since` keeps none of its fragment) needs no job.
    return split.pieces.map((payload, i) => ({ payload, rows: rows[i] })).filter((p) => p.rows > 0);
  }
  if (!ctx.sourceSql) return undefined;
  return (await splitParquetSource(await ctx.sourceSql(), ctx.query))?.map((s) => ({ payload: { scan: s.sql }, rows: s.rows }));
}

/**
 * The source as items: scans for the workers to read when the first stage runs on the cluster
 * and the source splits; else batches read here.
 */
async function sourceItems(plan: Plan, ctx: RunContext, run: ClusterRun, firstOnCluster: boolean): Promise<{ items: AsyncIterable<Item>; split: boolean }> {
  const scans = firstOnCluster ? await splitSource(plan, ctx, run) : undefined;
  if (scans) return { items: scanItems(scans), split: true };
  return { items: itemsOf(ctx.source(plan.stages[0]?.batchRows ?? 2048)), split: false };
}

/** A cluster stage as its workers are told of it. */
function clusterStageOf(s: StagePlan, mode: 'task' | 'actor', writeTo: DatasetWriteTarget | undefined): Omit<ClusterStage, 'queue'> {
  assert(s.udf.kind === 'module', 'a cluster stage names its UDF by module (stagePlan refuses closures)');
  return {
    index: s.index, name: s.name, kind: s.kind, mode, module: describeModule(s.udf.module), export: s.udf.export,
    columns: s.columns, ctorArgs: s.ctorArgs, resources: s.resources, concurrency: s.concurrency,
    restartsMax: s.restartsMax, batchTimeoutMs: s.batchTimeoutMs, backend: s.backend, maxRetries: s.maxRetries,
    retryBackoffMs: s.retryBackoffMs, retryBackoffMsMax: s.retryBackoffMsMax, onError: s.onError,
    ...(s.idColumn !== undefined ? { idColumn: s.idColumn } : {}),
    ...(writeTo ? { writeTo } : {}),
  };
}

/** Announces a cluster stage (waiting for a worker that fits it); local stages open their backend. */
async function openStage(run: ClusterRun, s: StagePlan, ctx: RunContext, writeTo: DatasetWriteTarget | undefined): Promise<Executor | { cluster: true; close(): Promise<void> }> {
  const mode = clusterMode(s.backend);
  if (!mode) return backendFor(s.backend).open(s, ctx.inlineUdfs.get(s.index));
  await run.addStage(clusterStageOf(s, mode, writeTo));
  return { cluster: true, close: async () => undefined };
}

export async function* runOnCluster(plan: Plan, ctx: RunContext): AsyncGenerator<arrow.Table> {
  const o = resolveOptions(ctx.options);
  await checkReachable(o.connection, 'the bullmq runner');
  const run = new ClusterRun(o);
  try {
    await run.start();
    // The last stage writes a dataset sink's fragments on the workers when it runs there and the sink allows it.
    const last = plan.stages.at(-1);
    const writeTo = last && clusterMode(last.backend) && ctx.sink?.adopt ? ctx.sink.remoteTarget?.() : undefined;
    const opened = await openAll(plan, (s) => openStage(run, s, ctx, s === last ? writeTo : undefined));
    try {
      const source = await sourceItems(plan, ctx, run, opened.length > 0 && 'cluster' in opened[0]);
      let stream = source.items;
      plan.stages.forEach((s, i) => {
        const rep = ctx.report.stages[i];
        const e = opened[i];
        const refsIn = i === 0 ? source.split : 'cluster' in opened[i - 1];
        if ('cluster' in e) stream = clusterStage(stream, refsIn, s, run, rep, ctx.progress);
        else {
          rep.initMs = e.stats.initMs;
          stream = itemsOf(runStage(tablesOf(stream, run), s, e, rep, ctx.progress));
        }
      });
      const pieces = writeTo?.update ? ([] as StoredPiece[]) : undefined;
      yield* outputOf(stream, run, ctx, pieces);
      if (last && writeTo && pieces?.length) {
        // A merge stage needs no UDF and no resources: any worker takes its jobs, as many at once as the
        // last stage's. Its index follows the last stage's (stage indexes count the source too).
        const base = clusterStageOf(last, 'task', undefined);
        await mergeRound(run, { ...base, index: last.index + 1, name: `${last.name} (merge)`, resources: {}, merge: writeTo }, ctx, pieces);
      }
    } finally {
      await Promise.allSettled(opened.map((e) => e.close()));
    }
  } finally {
    ctx.report.coordinatorBytes = { ...run.bytes };
    await run.end();
  }
}
