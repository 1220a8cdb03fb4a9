// One run on the cluster, from the coordinator's side: it announces the run's cluster stages in
// Redis, keeps one BullMQ queue per stage (global concurrency = the stage's concurrency), submits
// one job per batch call with a deterministic id, and settles each call once from its first
// answer. A watchdog re-reads pending jobs (events can be missed), resubmits them when Redis
// restarted and lost them, and fails the run when Redis or every fitting worker stays away.

import { randomBytes } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QuiverError, assert } from '../../../errors.js';
import { openStore, type ObjectStore } from '../../../storage/index.js';
import { errorFromWire } from '../../backend/host/wire-error.js';
import { ipcFromTable, tableFromIpc } from '../../ipc.js';
import type { DatasetWritten } from '../../dataset-seam.js';
import type { DatasetPiece } from '../../dataset-split.js';
import type { ResolvedOptions } from './options.js';
import { payloadBytes, readPayload, writePayload } from './payload.js';
import { isSourcePayload, keys, resourcesText, slotsFor, type ClusterStage, type JobData, type JobResult, type Payload, type RunAnnouncement, type Slice, type WorkerRecord } from './protocol.js';
import { openRedis, serverRunId } from './redis.js';

/** How long an ending run waits for its workers to close its queues (they do within a poll). */
const leaveWaitMsMax = 10_000;

/** What `bounded` resolves with when its time ran out. */
const late = Symbol('late');

/** `p`, or `late` after `ms` (at once when `ms` <= 0), whichever comes first; `p` keeps running. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T | typeof late> {
  let timer: NodeJS.Timeout | undefined;
  const out = new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), Math.max(0, ms))));
  try {
    return await Promise.race([p, out]);
  } finally {
    clearTimeout(timer);
  }
}

interface Pending {
  stage: number;
  jobId: string;
  data: JobData;
  resolve(r: JobResult): void;
  reject(e: Error): void;
}

/**
 * Arrow IPC bytes the coordinator itself wrote or read (source batches, inline slices, the sink's
 * batches), the JSON of the source scans it sent instead of rows (to batch jobs and count jobs),
 * and the JSON of the metadata that stood for rows when workers wrote a dataset sink's files:
 * their answers (fragment and file metadata, an update's stored pieces) and the merge tasks sent.
 */
export interface CoordinatorBytes {
  sent: number;
  received: number;
  scanDescriptions: number;
  writtenMeta: number;
}

export class ClusterRun {
  readonly id = randomBytes(6).toString('hex');
  readonly bytes: CoordinatorBytes = { sent: 0, received: 0, scanDescriptions: 0, writtenMeta: 0 };
  private readonly redis: Redis;
  private readonly store: ObjectStore;
  private readonly stages = new Map<number, ClusterStage>();
  private readonly queues = new Map<number, Queue>();
  private readonly events: QueueEvents[] = [];
  /** Connections this run opened for its event readers, closed at the end. */
  private readonly clients: Redis[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly lastFit = new Map<number, number>();
  private redisId = '';
  private timer?: NodeJS.Timeout;
  private watching = false;
  private failure?: Error;
  private ended = false;

  constructor(private readonly o: ResolvedOptions) {
    this.redis = openRedis(o.connection);
    this.store = openStore(o.store);
  }

  /** The announcement lapses this long after the coordinator's last watchdog pass, so workers leave the run of a coordinator that died. */
  private get announcementTtlMs(): number {
    return this.o.announcementTtlMs || Math.max(10 * this.o.watchIntervalMs, 5000);
  }

  private get storePrefix(): string {
    return `runs/${this.id}`;
  }

  private announcement(): RunAnnouncement {
    return { run: this.id, store: this.o.store, storePrefix: this.storePrefix, inlineBytesMax: this.o.inlineBytesMax, stages: [...this.stages.values()] };
  }

  private async announce(): Promise<void> {
    await this.redis.set(keys.run(this.o.prefix, this.id), JSON.stringify(this.announcement()), 'PX', this.announcementTtlMs);
    await this.redis.sadd(keys.runs(this.o.prefix), this.id);
    for (const [i, q] of this.queues) await q.setGlobalConcurrency(this.stages.get(i)!.concurrency);
  }

  /** Starts the watchdog; call once before adding stages. */
  async start(): Promise<void> {
    this.redisId = await serverRunId(this.redis);
    // Before any batch is stored: if this process dies, the run's sweeper finds them from this.
    await this.redis.set(keys.runStore(this.o.prefix, this.id), JSON.stringify({ store: this.o.store, storePrefix: this.storePrefix }));
    this.timer = setInterval(() => void this.watch(), this.o.watchIntervalMs);
  }

  /** Adds a cluster stage: its queue, its announcement, and a wait for a worker that fits it. */
  async addStage(stage: Omit<ClusterStage, 'queue'>): Promise<void> {
    const plan = { index: stage.index };
    const s: ClusterStage = { ...stage, queue: keys.queue(this.id, plan.index) };
    const queue = new Queue(s.queue, { connection: this.redis, prefix: this.o.prefix });
    const evRedis = openRedis(this.o.connection);
    this.clients.push(evRedis);
    const ev = new QueueEvents(s.queue, { connection: evRedis, prefix: this.o.prefix });
    ev.on('completed', ({ jobId, returnvalue }) => this.settle(plan.index, jobId, returnvalue));
    ev.on('failed', ({ jobId, failedReason }) => this.settleFailed(plan.index, jobId, failedReason));
    this.stages.set(plan.index, s);
    this.queues.set(plan.index, queue);
    this.events.push(ev);
    await ev.waitUntilReady();
    await this.announce();
    await this.waitForWorker(s);
  }

  private async workers(): Promise<WorkerRecord[]> {
    const names: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', keys.workerPattern(this.o.prefix), 'COUNT', 100);
      cursor = next;
      names.push(...batch);
    } while (cursor !== '0');
    const values = names.length ? await this.redis.mget(...names) : [];
    return values.flatMap((v) => (v ? [JSON.parse(v) as WorkerRecord] : []));
  }

  private noWorkerError(s: ClusterStage, seen: WorkerRecord[], waitedMs: number): QuiverError {
    const others = seen.map((w) => `${w.name} [${resourcesText(w.resources)}]`).join(', ') || 'none';
    return new QuiverError(
      'unsupported',
      `pipeline: stage ${s.index} "${s.name}" needs a bullmq worker offering resources ${resourcesText(s.resources)}; none was live for ${waitedMs} ms (workers: ${others})`,
      { stage: s.index, resources: s.resources },
    );
  }

  /** Resolves when a live worker fits the stage; throws after `workerWaitMs` without one. */
  private async waitForWorker(s: ClusterStage): Promise<void> {
    const started = Date.now();
    for (;;) {
      const seen = await this.workers();
      if (seen.some((w) => slotsFor(w, s) > 0)) return void this.lastFit.set(s.index, Date.now());
      if (Date.now() - started >= this.o.workerWaitMs) throw this.noWorkerError(s, seen, this.o.workerWaitMs);
      await new Promise((r) => setTimeout(r, Math.min(this.o.watchIntervalMs, 200)));
      if (this.failure) throw this.failure;
    }
  }

  /** Puts a table where workers can read it; its bytes count as sent by the coordinator. */
  async putTable(t: arrow.Table): Promise<Payload> {
    const ipc = ipcFromTable(t);
    this.bytes.sent += ipc.byteLength;
    return writePayload(this.store, this.storePrefix, ipc, this.o.inlineBytesMax);
  }

  /** Reads a worker's output; its bytes count as received by the coordinator. */
  async readTable(p: Payload): Promise<arrow.Table> {
    assert(!isSourcePayload(p), 'a source scan goes only to a cluster stage');
    const bytes = await readPayload(this.store, p);
    this.bytes.received += bytes.byteLength;
    return tableFromIpc(bytes);
  }

  /** Runs one batch of a stage on the cluster; resolves with a reference to its output, which stays in the store. */
  async call(stage: number, batch: number, input: Slice[]): Promise<Exclude<Extract<JobResult, { ok: true }>, { counted: number }>> {
    // An inline slice crosses the coordinator (in the job, in Redis); a stored one does not.
    for (const sl of input) {
      if ('ipc' in sl.payload) this.bytes.sent += payloadBytes(sl.payload).inline;
      if (isSourcePayload(sl.payload)) this.bytes.scanDescriptions += Buffer.byteLength(JSON.stringify(sl));
    }
    const r = await this.submit(stage, { batch, input });
    assert(!('counted' in r), 'a batch job answers with its output');
    return r;
  }

  /** Has a worker count one source piece's rows; the piece's JSON counts as a scan description. */
  async callCount(stage: number, batch: number, piece: DatasetPiece): Promise<number> {
    this.bytes.scanDescriptions += Buffer.byteLength(JSON.stringify(piece));
    const r = await this.submit(stage, { batch, input: [], count: piece });
    assert('counted' in r, 'a count job answers with a count');
    return r.counted;
  }

  /** Runs one merge task on the cluster (its pieces stay in the store); the task's JSON counts as written metadata. */
  async callMerge(stage: number, batch: number, merge: NonNullable<JobData['merge']>): Promise<DatasetWritten> {
    this.bytes.writtenMeta += Buffer.byteLength(JSON.stringify(merge));
    const r = await this.submit(stage, { batch, input: [], merge });
    assert('written' in r, 'a merge job answers with what it wrote');
    return r.written;
  }

  private async submit(stage: number, data: JobData): Promise<Extract<JobResult, { ok: true }>> {
    if (this.failure) throw this.failure;
    const jobId = keys.jobId(data.batch);
    const result = await new Promise<JobResult>((resolve, reject) => {
      this.pending.set(`${stage}/${jobId}`, { stage, jobId, data, resolve, reject });
      this.queues.get(stage)!.add('batch', data, { jobId, attempts: 1 }).catch((e) => this.fail(e));
    });
    if (!result.ok) throw errorFromWire(result.error);
    if ('written' in result) this.bytes.writtenMeta += Buffer.byteLength(JSON.stringify(result.written));
    else if ('output' in result && 'ipc' in result.output) this.bytes.received += payloadBytes(result.output).inline;
    return result;
  }

  private settle(stage: number, jobId: string, value: unknown): void {
    const p = this.pending.get(`${stage}/${jobId}`);
    if (!p) return; // a duplicate answer (at-least-once delivery) or another run's
    this.pending.delete(`${stage}/${jobId}`);
    p.resolve((typeof value === 'string' ? JSON.parse(value) : value) as JobResult);
  }

  private settleFailed(stage: number, jobId: string, reason: string): void {
    const p = this.pending.get(`${stage}/${jobId}`);
    if (!p) return;
    this.pending.delete(`${stage}/${jobId}`);
    const s = this.stages.get(stage)!;
    p.reject(new QuiverError('udf_failed', `pipeline: stage ${stage} "${s.name}" batch ${p.data.batch}: the cluster job failed: ${reason}`, { stage, batch: p.data.batch }));
  }

  /** Fails every pending call and every later one with `e`. */
  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private async withDeadline<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QuiverError('io', `pipeline: bullmq runner: redis at ${this.o.connection} did not answer ${what} for ${this.o.redisDownMsMax} ms; the run is abandoned and nothing was committed`, { connection: this.o.connection })), this.o.redisDownMsMax);
    });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One watchdog pass: Redis restarts, missed answers, workers gone. Never overlaps itself. */
  private async watch(): Promise<void> {
    if (this.watching || this.ended || this.failure) return;
    this.watching = true;
    try {
      await this.withDeadline('the watchdog', this.watchOnce());
    } catch (e) {
      this.fail(e);
    } finally {
      this.watching = false;
    }
  }

  private async watchOnce(): Promise<void> {
    const id = await serverRunId(this.redis);
    const kept = await this.redis.pexpire(keys.run(this.o.prefix, this.id), this.announcementTtlMs);
    const listed = await this.redis.sismember(keys.runs(this.o.prefix), this.id);
    if (id !== this.redisId || kept === 0 || listed === 0) {
      // Redis restarted without persistence: the announcement, queues and jobs are gone. Put
      // them back; outputs are content-addressed and answers settle once, so re-running is safe.
      // Unlisted but announced happens too: a worker that read the run list before the restart
      // and the announcement after it took the run for a dead coordinator's and swept it while
      // this pass re-announced; workers serve only listed runs, so without this the run hangs.
      this.redisId = id;
      await this.announce();
      for (const p of this.pending.values()) await this.queues.get(p.stage)!.add('batch', p.data, { jobId: p.jobId, attempts: 1 });
    }
    for (const p of [...this.pending.values()]) {
      const queue = this.queues.get(p.stage)!;
      const job = await queue.getJob(p.jobId);
      if (!job) await queue.add('batch', p.data, { jobId: p.jobId, attempts: 1 });
      else if (job.finishedOn && job.failedReason) this.settleFailed(p.stage, p.jobId, job.failedReason);
      else if (job.finishedOn) this.settle(p.stage, p.jobId, job.returnvalue);
      else if ((await job.getState()) === 'unknown') {
        // In no list (BullMQ's scripts move a job between lists atomically, so only a sweep cut
        // short — lists deleted, hashes not yet — leaves one so): no worker would take it, and an
        // add under its id is a no-op while its hash exists. Drop the hash and its lock, then add
        // it again; a worker still running the old copy answers too, and the first answer wins.
        const key = `${this.o.prefix}:${queue.name}:${p.jobId}`;
        await this.redis.del(key, `${key}:lock`);
        await queue.add('batch', p.data, { jobId: p.jobId, attempts: 1 });
      }
    }
    await this.checkWorkers();
  }

  /** Fails a stage's pending calls when no worker that fits it has been live for `workerWaitMs`. */
  private async checkWorkers(): Promise<void> {
    const waiting = new Set([...this.pending.values()].map((p) => p.stage));
    if (waiting.size === 0) return;
    const seen = await this.workers();
    const now = Date.now();
    for (const i of waiting) {
      const s = this.stages.get(i)!;
      if (seen.some((w) => slotsFor(w, s) > 0)) this.lastFit.set(i, now);
      else if (now - (this.lastFit.get(i) ?? now) >= this.o.workerWaitMs) return this.fail(this.noWorkerError(s, seen, this.o.workerWaitMs));
    }
  }

  /** Resolves once no live worker is in the run's serving set, or at `stopAt` (a worker that hangs). */
  private async untilWorkersLeft(stopAt: number): Promise<void> {
    while (Date.now() < stopAt) {
      const names = await this.redis.smembers(keys.serving(this.o.prefix, this.id));
      const records = names.length ? await this.redis.mget(...names.map((n) => keys.worker(this.o.prefix, n))) : [];
      if (records.every((r) => r === null)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Ends the run: removes its jobs (workers stop serving it), its announcement and its objects. */
  async end(): Promise<void> {
    this.ended = true;
    clearInterval(this.timer);
    this.fail(new QuiverError('closed', 'pipeline: the cluster run has ended'));
    // Every Redis step of the ending shares one deadline, and the first to miss it skips the
    // rest (Redis is away; they would each wait as long): ending takes at most redisDownMsMax.
    const deadline = Date.now() + this.o.redisDownMsMax;
    let away = false;
    const quiet = async <T>(p: () => Promise<T>): Promise<void> => {
      if (away) return;
      await bounded(p(), deadline - Date.now()).catch(() => undefined).then((r) => void (away ||= r === late));
    };
    await quiet(() => this.redis.srem(keys.runs(this.o.prefix), this.id));
    await quiet(() => this.redis.del(keys.run(this.o.prefix, this.id)));
    await quiet(() => this.redis.publish(keys.runEnded(this.o.prefix), this.id));
    // A worker's BullMQ Worker (its stalled-job checker) may write a queue's keys again until it
    // closes; only once every live worker has left the run are the queues removed for good.
    // Half the time left at most, so a slow worker ends this wait before the deadline would take it for Redis away.
    const now = Date.now();
    await quiet(() => this.untilWorkersLeft(now + Math.min(leaveWaitMsMax, (deadline - now) / 2)));
    for (const q of this.queues.values()) await quiet(() => q.obliterate({ force: true }));
    await quiet(() => this.redis.del(keys.serving(this.o.prefix, this.id)));
    // A close (and BullMQ's own disconnect) waits for its connection to be ready, which it never
    // is while Redis is away: past the deadline, this run's own connections, which its queues and
    // event readers use, are dropped instead, and the closes fail rather than wait.
    const closes = [...[...this.queues.values()].map((q) => q.close()), ...this.events.map((e) => e.close())];
    const closed = bounded(Promise.allSettled(closes), away ? 0 : deadline - Date.now());
    if ((await closed) === late) this.redis.disconnect();
    for (const c of this.clients) c.disconnect();
    const objects: string[] = [];
    for await (const o of this.store.list(`${this.storePrefix}/`)) objects.push(o.key);
    await Promise.allSettled(objects.map((k) => this.store.delete(k)));
    await quiet(() => this.redis.del(keys.runStore(this.o.prefix, this.id)));
    this.redis.disconnect();
  }
}
