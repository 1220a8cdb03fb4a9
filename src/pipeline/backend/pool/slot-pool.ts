// A fixed pool of UDF hosts (one per concurrency slot), each running one batch at a time.
// A host that crashes or exceeds the batch timeout is killed, restarted, and its batch sent
// again; restarts are bounded per stage by `restartsMax`. Init failures are fatal at once.

import * as arrow from 'apache-arrow';
import { QuiverError } from '../../../errors.js';
import { ipcFromTable, tableFromIpc } from '../../ipc.js';
import { describeWhere, type BatchWhere } from '../../schema.js';
import { arrowSchemaFromColumns } from '../../schema-sql.js';
import type { BackendStage, Executor, ExecutorStats } from '../backend.js';
import type { HostMessage, InitMessage } from '../host/protocol.js';
import { errorFromWire } from '../host/wire-error.js';
import type { Channel, ChannelFactory } from './channel.js';

/** Thrown inside the pool when a host dies mid-call; never escapes it. */
class HostCrash extends Error {}

class Slot {
  private channel?: Channel;
  private ready?: Promise<void>;
  private waiting?: { id: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void };
  private nextId = 0;

  constructor(
    private readonly factory: ChannelFactory,
    private readonly init: InitMessage,
    private readonly stats: ExecutorStats,
  ) {}

  /** Starts the host if it is not running; resolves once it has loaded the UDF. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const ch = this.factory();
    this.channel = ch;
    this.ready = new Promise<void>((resolve, reject) => {
      let started = false;
      ch.listen(
        (m: HostMessage) => {
          if (m.t === 'ready') {
            started = true;
            this.stats.initMs += m.initMs;
            resolve();
          } else if (m.t === 'init_error') {
            started = true;
            reject(errorFromWire(m.error));
          } else if (this.waiting && m.id === this.waiting.id) {
            const w = this.waiting;
            this.waiting = undefined;
            if (m.t === 'result') w.resolve(m.ipc);
            else w.reject(errorFromWire(m.error));
          }
        },
        (why) => {
          if (this.channel === ch) (this.channel = undefined), (this.ready = undefined);
          if (!started) reject(new QuiverError('udf_failed', `pipeline: stage ${this.init.stage} "${this.init.stageName}": UDF host ${why} while starting`, { stage: this.init.stage }));
          const w = this.waiting;
          this.waiting = undefined;
          w?.reject(new HostCrash(why));
        },
      );
      ch.send(this.init);
    });
    return this.ready;
  }

  async run(batch: arrow.Table, where: BatchWhere, timeoutMs: number): Promise<arrow.Table> {
    await this.start();
    const ch = this.channel!;
    const id = ++this.nextId;
    const result = new Promise<Uint8Array>((resolve, reject) => (this.waiting = { id, resolve, reject }));
    const timer = timeoutMs > 0 ? setTimeout(() => ch.kill(), timeoutMs) : undefined;
    try {
      ch.send({ t: 'call', id, batch: where.batch, ipc: ipcFromTable(batch) });
      return tableFromIpc(await result);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    this.channel?.kill();
    this.channel = undefined;
    this.ready = undefined;
  }
}

/** Opens a pool executor for a stage whose UDF is a module export. */
export async function openPool(stage: BackendStage, factory: ChannelFactory, mode: 'task' | 'actor'): Promise<Executor> {
  if (stage.udf.kind !== 'module') {
    throw new QuiverError('invalid_input', `pipeline: stage ${stage.index} "${stage.name}": this backend needs a UDF from a module, not a closure`, { stage: stage.index });
  }
  const init: InitMessage = {
    t: 'init', ref: { module: stage.udf.module, export: stage.udf.export }, kind: stage.kind, mode,
    schemaIpc: ipcFromTable(new arrow.Table(arrowSchemaFromColumns(stage.columns))), ctorArgs: stage.ctorArgs, stage: stage.index, stageName: stage.name,
  };
  const stats: ExecutorStats = { restarts: 0, initMs: 0 };
  let closed = false;
  const closedError = () => new QuiverError('closed', `pipeline: stage ${stage.index} "${stage.name}" is shut down`, { stage: stage.index });
  const slots = Array.from({ length: stage.concurrency }, () => new Slot(factory, init, stats));
  const free: Slot[] = [...slots];
  const queue: ((s: Slot) => void)[] = [];
  const acquire = () => new Promise<Slot>((resolve) => (free.length ? resolve(free.pop()!) : queue.push(resolve)));
  const release = (s: Slot) => (queue.length ? queue.shift()!(s) : free.push(s));
  try {
    await Promise.all(slots.map((s) => s.start()));
  } catch (e) {
    for (const s of slots) s.kill();
    throw e;
  }
  return {
    stats,
    async call(batch, where) {
      if (closed) throw closedError();
      const slot = await acquire();
      try {
        for (;;) {
          // A call queued behind a failure must not start a new host after the pool is closed.
          if (closed) throw closedError();
          try {
            return await slot.run(batch, where, stage.batchTimeoutMs);
          } catch (e) {
            if (!(e instanceof HostCrash)) throw e;
            if (++stats.restarts > stage.restartsMax) {
              throw new QuiverError('udf_failed', `pipeline: ${describeWhere(where)}: UDF host ${e.message}; gave up after ${stage.restartsMax} restarts`, { ...where, restarts: stats.restarts - 1 });
            }
          }
        }
      } finally {
        release(slot);
      }
    },
    async close() {
      closed = true;
      for (const s of slots) s.kill();
    },
  };
}
