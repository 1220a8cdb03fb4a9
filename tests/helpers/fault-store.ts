// A fault-injecting ObjectStore wrapper for the fault tests: it numbers every write (put,
// put-if-absent, put-if-match, delete) in the order they are issued and, at write `failAt`,
// kills its own process (kill -9), "crashes" (that write and every later call fail) or lands
// the write and loses its reply.
// It also fails puts once `bytesMax` bytes were written (a full disk). Reads pass through.
// It lives in tests/helpers, not src/: no production caller wants a store that kills itself.

import { writeSync } from 'node:fs';
import { QuiverError } from '../../src/errors.js';
import { dataSize, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../../src/storage/index.js';

export type WriteOp = 'put' | 'put-if-absent' | 'put-if-match' | 'delete';

export interface WriteEvent {
  /** 1-based, in the order writes were issued. */
  n: number;
  op: WriteOp;
  key: string;
  /** The phase the caller set last (`FaultStore.phase`). */
  phase: string;
}

export interface FaultPlan {
  /**
   * Where the fault fires, before that write reaches the inner store: the Nth write (1-based)
   * of the run, or the Nth write issued during one phase.
   */
  failAt?: number | { phase: string; nth: number };
  /**
   * `kill`: SIGKILL this process. `crash`: reject, and every later call too. `lost-ack`: the
   * write lands but its caller sees an error (a response lost on the network); later calls
   * work. Default `crash`.
   */
  mode?: 'kill' | 'crash' | 'lost-ack';
  /** Puts that would take the bytes written past this bound fail with ENOSPC and write nothing. */
  bytesMax?: number;
}

function opOf(condition: PutCondition | undefined): WriteOp {
  if (!condition) return 'put';
  return 'ifAbsent' in condition ? 'put-if-absent' : 'put-if-match';
}

export class FaultStore implements ObjectStore {
  /** Set by the scenario so each write is attributed to the phase that issued it. */
  phase = 'start';
  writes = 0;
  bytesWritten = 0;
  readonly log: WriteEvent[] = [];
  /** The full-disk bound; raise it to "free space" mid-test. */
  bytesMax: number | undefined;
  /** Writes issued per phase. */
  readonly phaseWrites = new Map<string, number>();
  private crashedAt: number | undefined;
  /** The write the fault fired on, whatever the mode. */
  faultedAt: number | undefined;

  constructor(
    readonly inner: ObjectStore,
    private readonly plan: FaultPlan = {},
  ) {
    this.bytesMax = plan.bytesMax;
    // DuckDB and vacuum read local files directly; faults only concern writes, so keep the path.
    if (inner.localPath) this.localPath = (key: string) => inner.localPath!(key);
  }

  localPath?: (key: string) => string;

  get url(): string {
    return this.inner.url;
  }

  /** The write at which the store crashed, if it did. */
  get crashed(): number | undefined {
    return this.crashedAt;
  }

  private alive(): void {
    if (this.crashedAt !== undefined) throw new QuiverError('io', `fault: store crashed at write ${this.crashedAt}`);
  }

  /** Numbers the write; true when the fault fires on it with the write still to land (lost-ack). */
  private beforeWrite(op: WriteOp, key: string): boolean {
    this.alive();
    const w: WriteEvent = { n: ++this.writes, op, key, phase: this.phase };
    this.log.push(w);
    const inPhase = (this.phaseWrites.get(w.phase) ?? 0) + 1;
    this.phaseWrites.set(w.phase, inPhase);
    const at = this.plan.failAt;
    if (typeof at === 'number' ? w.n !== at : !(at && at.phase === w.phase && at.nth === inPhase)) return false;
    this.faultedAt = w.n;
    if (this.plan.mode === 'lost-ack') return true;
    if (this.plan.mode === 'kill') {
      writeSync(2, `fault: kill -9 at write ${w.n} (${op} ${key}, phase ${w.phase}, write ${inPhase} of the phase)\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    this.crashedAt = w.n;
    this.alive();
    return false;
  }

  /** The rejection a lost acknowledgement gives, after the write landed. */
  private lostAck(key: string): never {
    throw new QuiverError('io', `fault: the reply to write ${this.faultedAt} ("${key}") was lost`, { key });
  }

  // Every method is async so a fault rejects the returned promise, as a real store's would.
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.alive();
    return this.inner.get(key, range);
  }

  async getWithInfo(key: string): Promise<StoredObject> {
    this.alive();
    return this.inner.getWithInfo(key);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.alive();
    return this.inner.head(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.alive();
    for await (const info of this.inner.list(prefix)) {
      this.alive();
      yield info;
    }
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const lost = this.beforeWrite(opOf(condition), key);
    const size = dataSize(data);
    if (this.bytesMax !== undefined && this.bytesWritten + size > this.bytesMax) {
      const cause = Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      throw new QuiverError('io', `storage: put "${key}" failed: ${cause.message}`, { key }, { cause });
    }
    this.bytesWritten += size;
    const info = await this.inner.put(key, data, condition);
    return lost ? this.lostAck(key) : info;
  }

  async delete(key: string): Promise<void> {
    const lost = this.beforeWrite('delete', key);
    await this.inner.delete(key);
    if (lost) this.lostAck(key);
  }
}
