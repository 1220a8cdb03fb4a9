// A cluster worker: it records itself in Redis (name, concurrency, resources) while it lives,
// watches for announced runs, and serves each cluster stage it fits with a BullMQ worker on
// that stage's queue. The UDF runs in this machine's child processes (the subprocess_task or
// subprocess_actor pool, so an actor is constructed once per slot), loaded from this install.
// Source scans (SQL over one Parquet file, a dataset version's fragment opened read-only at that
// version through this process's own store and cache) it reads with its own DuckDB.
// Every job gets one answer: the output batch (retries and onError applied here, by the local
// runner's own batch code), or the error as data, naming this worker.

import { hostname } from 'node:os';
import * as arrow from 'apache-arrow';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { QuiverError, assert } from '../../../errors.js';
import { Engine } from '../../../query/index.js';
import { openStore, type ObjectStore } from '../../../storage/index.js';
import { backendFor, type Executor } from '../../backend/index.js';
import { currentConfig } from '../../config.js';
import type { DatasetProvider, DatasetWriteTarget } from '../../dataset-seam.js';
import { noDatasets } from '../../source.js';
import { wireError } from '../../backend/host/wire-error.js';
import { ipcFromTable, tableFromIpc } from '../../ipc.js';
import { batchRunner } from '../local/stage-run.js';
import { readPayload, writePayload } from './payload.js';
import { isSourcePayload, keys, slotsFor, type SourcePayload, type ClusterStage, type JobData, type JobResult, type RunAnnouncement, type Slice, type StoredPiece, type WorkerRecord } from './protocol.js';
import { checkReachable, deleteMatching, openRedis } from './redis.js';
import { sliceSql } from './source-split.js';
import { pieceCountSql, pieceSql, type DatasetPiece } from '../../dataset-split.js';
import { resolveModule } from './udf-module.js';

export interface WorkerOptions {
  /** The Redis URL the coordinator uses. Required. */
  connection: string;
  /** Batches this worker runs at once per stage. Default 1. */
  concurrency?: number;
  /** What this worker offers, e.g. { gpus: 1 }; stages needing more are left to others. Default {}. */
  resources?: Record<string, number>;
  /** Its name in errors and in Redis. Default `<hostname>-<pid>`. */
  name?: string;
  /** Redis key prefix; must match the coordinator's. Default 'quiver'. */
  prefix?: string;
  /** Where UDF packages are resolved from. Default the working directory. */
  cwd?: string;
  /** How often it looks for new or ended runs and refreshes its record. Default 200 ms. */
  pollIntervalMs?: number;
  /** BullMQ's job lock: a job whose worker died is re-run elsewhere after about this long. Default 30,000 ms. */
  lockDurationMs?: number;
  /** One line per event (stage served, stage ended); default silent. */
  log?: (line: string) => void;
}

export interface ClusterWorker {
  readonly name: string;
  /** Stops taking jobs, closes the UDF processes and removes its record. */
  close(): Promise<void>;
}

interface Served {
  bull: Worker;
  exec?: Promise<Executor>;
  /** Set for task stages: what opens their pool, so an ended run's pool can serve the next run. */
  poolKey?: string;
}

/** 1 when a run (ARGV[1]) is in the run list (KEYS[2]) and its announcement (KEYS[1]) does not exist, else 0. */
const listedUnannounced = "if redis.call('sismember', KEYS[2], ARGV[1]) == 1 and redis.call('exists', KEYS[1]) == 0 then return 1 end return 0";
/** Removes a run (ARGV[1]) from the run list (KEYS[2]) unless its announcement (KEYS[1]) exists. */
const unlistIfUnannounced = "if redis.call('exists', KEYS[1]) == 1 then return 0 end return redis.call('srem', KEYS[2], ARGV[1])";

/** How long `close` waits for Redis to take its leaving (a worker told to stop while Redis is away stops after this). */
const closeWaitMsMax = 5000;

/** Idle task pools a worker keeps from ended runs (each holds `slots` UDF processes). */
const idlePoolsMax = 4;

/** Everything a task pool is opened from: a later stage with the same key may use the same processes. */
function poolKey(s: ClusterStage, slots: number): string {
  const { module, export: name, kind, columns, ctorArgs, restartsMax, batchTimeoutMs, resources } = s;
  return JSON.stringify({ module, name, kind, columns, ctorArgs, restartsMax, batchTimeoutMs, resources, slots });
}

/** The SQL a source payload reads: the scan's own, or a dataset piece's through this process's dataset provider. */
async function sourceSqlOf(p: SourcePayload): Promise<string> {
  if ('scan' in p) return p.scan;
  const datasets = currentConfig().datasets;
  if (!datasets?.scanSqlOf) throw noDatasets({ url: p.dataset.url });
  return pieceSql(p, datasets);
}

/** The row-id range of an update's output batch (decimal strings); the batch must carry a `row_id` for every row. */
function rowIdRange(t: arrow.Table): { rowIdMin: string; rowIdMax: string } {
  const col = t.getChild('row_id');
  if (!col) throw new QuiverError('invalid_input', 'pipeline: writeDataset with update on row_id needs a row_id column in the output');
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i) as bigint | number | null;
    if (v === null || v === undefined) throw new QuiverError('invalid_input', `update: rows[${i}] needs an integer row_id, got null`, { row: i });
    const id = BigInt(v);
    if (lo === undefined || id < lo) lo = id;
    if (hi === undefined || id > hi) hi = id;
  }
  return { rowIdMin: String(lo ?? 0n), rowIdMax: String(hi ?? 0n) };
}

/** Rows of a source slice, read by this worker's DuckDB. */
async function scanned(engine: Promise<Engine>, p: SourcePayload, offset: number, rows: number): Promise<arrow.Table> {
  // A version's fragment (no bound SELECT over it) is read as a slice by the dataset provider,
  // which on a remote store reads only the slice's large values by range; the whole scan sliced
  // by DuckDB fetched every large-column file of the fragment into this worker's cache first.
  const datasets = currentConfig().datasets;
  if (!('scan' in p) && !p.select && datasets?.readScanSlice) return datasets.readScanSlice(p.dataset, offset, rows);
  const sql = await sourceSqlOf(p);
  const session = await (await engine).session();
  try {
    return await session.arrow(sliceSql(sql, offset, rows));
  } finally {
    session.close();
  }
}

/** A batch from its slices: each payload read once, sliced (scans read just their rows), and the parts joined in order. */
async function assemble(store: ObjectStore, engine: () => Promise<Engine>, slices: Slice[]): Promise<arrow.Table> {
  const read = new Map<string, Promise<arrow.Table>>();
  const parts: arrow.Table[] = [];
  for (const sl of slices) {
    const p = sl.payload;
    if (isSourcePayload(p)) {
      parts.push(await scanned(engine(), p, sl.offset, sl.rows));
      continue;
    }
    const id = 'key' in p ? p.key : p.ipc;
    let t = read.get(id);
    if (!t) read.set(id, (t = readPayload(store, p).then(tableFromIpc)));
    const whole = await t;
    parts.push(sl.offset === 0 && sl.rows === whole.numRows ? whole : whole.slice(sl.offset, sl.offset + sl.rows));
  }
  return new arrow.Table(parts[0].schema, parts.flatMap((p) => p.batches));
}

class WorkerLoop implements ClusterWorker {
  readonly name: string;
  private readonly redis: Redis;
  private readonly record: WorkerRecord;
  private readonly served = new Map<string, Served>();
  private readonly runs = new Set<string>();
  private readonly stores = new Map<string, ObjectStore>();
  /** `<run> <sink writer>` of every dataset sink this worker wrote for, released when it leaves the run. */
  private readonly writers = new Set<string>();
  /**
   * Task pools of ended runs, oldest first: a task keeps no state between batches, so the next
   * run of the same stage (same module and sha256) reuses its processes instead of starting new
   * ones. Actor pools are never kept: an actor is constructed per run, as under `local`.
   */
  private readonly idle = new Map<string, Promise<Executor>>();
  /** DuckDB for source scans, created on the first one. */
  private engine?: Promise<Engine>;
  private timer?: NodeJS.Timeout;
  /** Told by a coordinator when its run ends, so the worker closes the run's queues at once. */
  private readonly sub: Redis;
  /** The BullMQ workers' connections, open until their worker disconnects. */
  private readonly connections = new Set<Redis>();
  private polling = false;
  private pollAgain = false;
  private closed = false;

  constructor(private readonly o: Required<Omit<WorkerOptions, 'log'>> & Pick<WorkerOptions, 'log'>) {
    this.name = o.name;
    this.redis = openRedis(o.connection);
    this.sub = openRedis(o.connection);
    this.record = { name: o.name, concurrency: o.concurrency, resources: o.resources };
  }

  async start(): Promise<void> {
    this.sub.on('message', () => void this.poll());
    await this.sub.subscribe(keys.runEnded(this.o.prefix));
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.o.pollIntervalMs);
  }

  /** Polls now, or once more right after the pass under way (a run-ended message may arrive mid-pass). */
  private async poll(): Promise<void> {
    if (this.closed) return;
    if (this.polling) return void (this.pollAgain = true);
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        await this.pollOnce();
      } while (this.pollAgain && !this.closed);
    } catch {
      // Redis away: BullMQ and the next poll reconnect; the coordinator decides whether the run survives.
    } finally {
      this.polling = false;
    }
  }

  private async pollOnce(): Promise<void> {
    const ttlMs = Math.max(3 * this.o.pollIntervalMs, 2000);
    await this.redis.set(keys.worker(this.o.prefix, this.name), JSON.stringify(this.record), 'PX', ttlMs);
    const live = new Set(await this.redis.smembers(keys.runs(this.o.prefix)));
    for (const run of [...this.runs]) if (!live.has(run)) await this.leave(run);
    for (const run of live) {
      const text = await this.redis.get(keys.run(this.o.prefix, run));
      if (text) await this.join(JSON.parse(text) as RunAnnouncement);
      else {
        // Listed but lapsed: its coordinator stopped refreshing it (died). Leave it, then sweep it.
        if (this.runs.has(run)) await this.leave(run);
        await this.sweep(run);
      }
    }
  }

  /**
   * Serves the run's stages this worker fits and does not serve yet (a stage announced after the
   * first poll too). The worker names itself in the run's serving set before it opens a queue and
   * checks the announcement again after: a coordinator deletes the announcement before it reads
   * the set, so either it waits for this worker to close the queue, or this worker sees the run
   * gone and opens nothing. Named again on every poll, in case Redis restarted empty.
   */
  private async join(a: RunAnnouncement): Promise<void> {
    const fresh = a.stages.filter((s) => slotsFor(this.record, s) > 0 && !this.served.has(s.queue));
    if (fresh.length === 0 && !this.runs.has(a.run)) return;
    await this.redis.sadd(keys.serving(this.o.prefix, a.run), this.name);
    if (fresh.length === 0) return;
    if (!(await this.redis.exists(keys.run(this.o.prefix, a.run)))) {
      if (!this.runs.has(a.run)) await this.redis.srem(keys.serving(this.o.prefix, a.run), this.name);
      return;
    }
    this.runs.add(a.run);
    for (const s of fresh) this.serve(a, s, slotsFor(this.record, s));
  }

  /** Closes the run's queues (BullMQ writes nothing more for them), then leaves its serving set. */
  private async leave(run: string): Promise<void> {
    this.runs.delete(run);
    const mine = [...this.served.entries()].filter(([q]) => q.startsWith(`run-${run}-`));
    await Promise.allSettled(mine.map(([q, s]) => this.stop(q, s)));
    for (const w of [...this.writers]) {
      if (!w.startsWith(`${run} `)) continue;
      this.writers.delete(w);
      await currentConfig().datasets?.releaseWrites?.(w.slice(run.length + 1)).catch(() => undefined);
    }
    await this.redis.srem(keys.serving(this.o.prefix, run), this.name);
  }

  /**
   * Removes what a dead coordinator left of its run (queue keys, the serving set, its place in
   * the list) once no live worker may still write to its queues; until then the next poll tries again.
   */
  private async sweep(run: string): Promise<void> {
    const names = (await this.redis.smembers(keys.serving(this.o.prefix, run))).filter((n) => n !== this.name);
    const records = names.length ? await this.redis.mget(...names.map((n) => keys.worker(this.o.prefix, n))) : [];
    if (records.some((r) => r !== null)) return;
    // The caller read the run list and the announcement in two steps, maybe from two lives of a
    // restarted Redis (listed in the old, not yet re-announced in the new). Look at both in one
    // step: a live coordinator announces before it lists, so only a lapsed run is listed unannounced.
    const runKeys = [keys.run(this.o.prefix, run), keys.runs(this.o.prefix)];
    if ((await this.redis.eval(listedUnannounced, 2, ...runKeys, run)) !== 1) return;
    await deleteMatching(this.redis, keys.queueKeys(this.o.prefix, run));
    const objects = await this.sweepObjects(run);
    await this.redis.del(keys.serving(this.o.prefix, run));
    // Unlisted only while still unannounced, in one step: a run announced again meanwhile stays listed.
    await this.redis.eval(unlistIfUnannounced, 2, ...runKeys, run);
    this.o.log?.(`swept run ${run} (${objects} stored batch${objects === 1 ? '' : 'es'})`);
  }

  /** Deletes the dead run's stored batches (no job of it is left to read them), then the key naming where they are; returns how many. */
  private async sweepObjects(run: string): Promise<number> {
    const text = await this.redis.get(keys.runStore(this.o.prefix, run));
    if (!text) return 0;
    const { store: url, storePrefix } = JSON.parse(text) as { store: string; storePrefix: string };
    const store = this.storeFor(url);
    const objects: string[] = [];
    for await (const o of store.list(`${storePrefix}/`)) objects.push(o.key);
    await Promise.all(objects.map((k) => store.delete(k)));
    await this.redis.del(keys.runStore(this.o.prefix, run));
    return objects.length;
  }

  private async stop(queue: string, s: Served): Promise<void> {
    this.served.delete(queue);
    await s.bull.close(true).catch(() => undefined);
    const exec = await s.exec?.catch(() => undefined);
    if (exec && s.poolKey && exec.stats.restarts === 0 && !this.closed) await this.keepIdle(s.poolKey, exec);
    else await exec?.close();
    await s.bull.disconnect().catch(() => undefined);
    this.o.log?.(`stopped ${queue}`);
  }

  /** Keeps a pool that never restarted a process for a later run; the oldest beyond `idlePoolsMax` is closed. */
  private async keepIdle(key: string, exec: Executor): Promise<void> {
    const had = this.idle.get(key);
    this.idle.delete(key);
    this.idle.set(key, Promise.resolve(exec));
    if (had) await (await had).close();
    while (this.idle.size > idlePoolsMax) {
      const [oldest, pool] = this.idle.entries().next().value as [string, Promise<Executor>];
      this.idle.delete(oldest);
      await (await pool).close();
    }
  }

  /** The stage's pool: an idle one kept from an ended run with the same key, else a new one. */
  private poolFor(s: ClusterStage, slots: number, key: string | undefined): Promise<Executor> {
    const kept = key !== undefined ? this.idle.get(key) : undefined;
    if (kept && key !== undefined) {
      this.idle.delete(key);
      return kept;
    }
    return this.openExecutor(s, slots);
  }

  private storeFor(url: string): ObjectStore {
    let s = this.stores.get(url);
    if (!s) this.stores.set(url, (s = openStore(url)));
    return s;
  }

  /** Opens the stage's UDF pool: modules resolved from this install, one process per slot. */
  private openExecutor(s: ClusterStage, slots: number): Promise<Executor> {
    const module = resolveModule(s.module, this.o.cwd, this.name);
    return backendFor(s.mode === 'actor' ? 'subprocess_actor' : 'subprocess_task').open({
      index: s.index, name: s.name, kind: s.kind, udf: { kind: 'module', module, export: s.export }, columns: s.columns,
      concurrency: slots, restartsMax: s.restartsMax, batchTimeoutMs: s.batchTimeoutMs, ctorArgs: s.ctorArgs, resources: s.resources,
    });
  }

  private serve(a: RunAnnouncement, s: ClusterStage, slots: number): void {
    const served = { poolKey: s.mode === 'task' ? poolKey(s, slots) : undefined } as Served;
    const store = this.storeFor(a.store);
    const process = async (job: Job<JobData>): Promise<JobResult> => {
      try {
        if (s.merge) return await this.mergeJob(a.run, s.merge, store, job.data);
        if (s.count) return { ok: true, counted: await this.countJob(job.data.count!), worker: this.name };
        // Opened on the first job, so a run whose stage never reaches this worker costs nothing.
        served.exec ??= this.poolFor(s, slots, served.poolKey);
        const exec = await served.exec;
        const input = await assemble(store, () => (this.engine ??= Engine.create({ threads: 1 })), job.data.input);
        const counts = { retries: 0, skippedRows: 0, nulledRows: 0 };
        // Retries and onError run here, with the stage runner's own code, so they match `local`.
        const out = await batchRunner(s, exec, counts)(input, job.data.batch);
        if (s.writeTo?.update) {
          // An update by row id: the rows wait in the store, never inline, for the merge round.
          const output = await writePayload(store, a.storePrefix, ipcFromTable(out), 0);
          const piece: StoredPiece = { payload: output, rows: out.numRows, ...rowIdRange(out) };
          return { ok: true, written: { rows: out.numRows, bytes: 'bytes' in output ? output.bytes : 0, files: piece }, rows: out.numRows, counts, worker: this.name };
        }
        if (s.writeTo) {
          // The run's sink is a dataset: the rows go from here into its files, never back to the coordinator.
          const datasets = this.datasetsFor(s.writeTo.url);
          if (!datasets.writeBatch) throw new QuiverError('unsupported', `pipeline: this worker's dataset provider cannot write batches for ${s.writeTo.url}`, { url: s.writeTo.url });
          const written = await datasets.writeBatch(s.writeTo, out);
          this.writers.add(`${a.run} ${s.writeTo.writer}`);
          return { ok: true, written, rows: out.numRows, counts, worker: this.name };
        }
        const output = await writePayload(store, a.storePrefix, ipcFromTable(out), a.inlineBytesMax);
        return { ok: true, output, rows: out.numRows, counts, worker: this.name };
      } catch (e) {
        return { ok: false, error: wireError(this.named(e)), worker: this.name };
      }
    };
    served.bull = new Worker(s.queue, process, {
      connection: this.connection(),
      prefix: this.o.prefix,
      concurrency: slots,
      lockDuration: this.o.lockDurationMs,
      stalledInterval: this.o.lockDurationMs,
      maxStalledCount: 5,
      drainDelay: 1,
    });
    served.bull.on('error', () => undefined);
    this.served.set(s.queue, served);
    this.o.log?.(`serving ${s.queue} (stage ${s.index} "${s.name}", ${slots} slot${slots > 1 ? 's' : ''})`);
  }

  /** A count job: one source piece's rows, counted by this worker's DuckDB (it reads only the columns the filter needs). */
  private async countJob(p: DatasetPiece): Promise<number> {
    const datasets = currentConfig().datasets;
    if (!datasets?.scanSqlOf) throw noDatasets({ url: p.dataset.url });
    const session = await (await (this.engine ??= Engine.create({ threads: 1 }))).session();
    try {
      return Number((await session.all(await pieceCountSql(p, datasets))).rows[0].n);
    } finally {
      session.close();
    }
  }

  /** A merge job: its stored pieces read from the run's store, merged into the one file its task names. */
  private async mergeJob(run: string, target: DatasetWriteTarget, store: ObjectStore, data: JobData): Promise<JobResult> {
    const merge = data.merge!;
    const tables = await Promise.all(merge.pieces.map(async (p) => {
      assert(!isSourcePayload(p), 'a merge job reads stored pieces');
      return tableFromIpc(await readPayload(store, p));
    }));
    const datasets = this.datasetsFor(target.url);
    if (!datasets.mergeRows) throw new QuiverError('unsupported', `pipeline: this worker's dataset provider cannot merge updates into ${target.url}`, { url: target.url });
    const written = await datasets.mergeRows(target, merge.task, tables);
    this.writers.add(`${run} ${target.writer}`);
    return { ok: true, written, rows: written.rows, counts: { retries: 0, skippedRows: 0, nulledRows: 0 }, worker: this.name };
  }

  /** This process's dataset provider, able to write a sink's batches. */
  private datasetsFor(url: string): DatasetProvider {
    const datasets = currentConfig().datasets;
    if (!datasets) throw noDatasets({ url });
    if (!datasets.writeBatch && !datasets.mergeRows) throw new QuiverError('unsupported', `pipeline: this worker's dataset provider cannot write batches for ${url}`, { url });
    return datasets;
  }

  /** A Quiver error from this machine (a module it cannot load) says which worker it was. */
  private named(e: unknown): unknown {
    if (!(e instanceof QuiverError) || e.message.includes(`worker ${this.name}`)) return e;
    return new QuiverError(e.code, `${e.message} (on worker ${this.name})`, { ...e.details, worker: this.name });
  }

  /** A connection for a BullMQ worker, kept so that a close past its deadline can drop it. */
  private connection(): Redis {
    const c = openRedis(this.o.connection);
    this.connections.add(c);
    c.once('end', () => this.connections.delete(c));
    return c;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.sub.disconnect();
    const leaving = (async () => {
      await Promise.allSettled([...this.runs].map((run) => this.leave(run)));
      await Promise.allSettled([...this.served.entries()].map(([q, s]) => this.stop(q, s)));
    })();
    // Leaving a run writes to Redis and BullMQ's close waits for its connection: while Redis is
    // away neither ever answers, so past the deadline the connections are dropped (their pending
    // commands fail) and the close goes on to the UDF processes.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), closeWaitMsMax)));
    if (await Promise.race([leaving.then(() => false), late])) {
      for (const c of [this.redis, ...this.connections]) c.disconnect();
      await leaving;
    }
    clearTimeout(timer);
    await Promise.allSettled([...this.idle.values()].map(async (p) => (await p).close()));
    this.idle.clear();
    await this.redis.del(keys.worker(this.o.prefix, this.name)).catch(() => undefined);
    this.redis.disconnect();
    (await this.engine?.catch(() => undefined))?.close();
  }
}

/**
 * Starts a worker: fails at once with `io` when Redis does not answer, then serves runs until
 * `close()`.
 *
 * @example
 * const w = await startWorker({ connection: 'redis://127.0.0.1:6379', concurrency: 2, resources: { gpus: 1 } });
 */
export async function startWorker(o: WorkerOptions): Promise<ClusterWorker> {
  await checkReachable(o.connection, 'quiver worker');
  const loop = new WorkerLoop({
    connection: o.connection,
    concurrency: o.concurrency ?? 1,
    resources: o.resources ?? {},
    name: o.name ?? `${hostname()}-${process.pid}`,
    prefix: o.prefix ?? 'quiver',
    cwd: o.cwd ?? process.cwd(),
    pollIntervalMs: o.pollIntervalMs ?? 200,
    lockDurationMs: o.lockDurationMs ?? 30_000,
    log: o.log,
  });
  await loop.start();
  return loop;
}
