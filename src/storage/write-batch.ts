// A store wrapper that holds back put-if-absent writes (fresh keys: data files, manifests,
// commits) until `flush`, which writes them all at once, so a publish pays one round of
// concurrent durable writes (and one pending-marker write in front of them) instead of one per
// file. Invariant: a held key is never read through the batch; `flush` resolves only when
// every held write is durable, and the caller moves no ref before that.

import { assert } from '../errors.js';
import type { ByteRange, ObjectInfo, PutCondition, PutData, StoredObject } from './object-store.js';
import { dataSize } from './object-store.js';
import { ForwardingStore } from './forwarding-store.js';

export class WriteBatch extends ForwardingStore {
  readonly #held = new Map<string, PutData>();

  /** Keys written since the last flush and not yet on the store. */
  get heldKeys(): string[] {
    return [...this.#held.keys()];
  }

  override async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    if (condition && 'ifAbsent' in condition && condition.ifAbsent) {
      // A fresh key: no reader can name it before the ref that reaches it moves.
      assert(!this.#held.has(key), `write batch: ${key} written twice`);
      this.#held.set(key, data);
      return { key, size: dataSize(data), etag: '', lastModified: Date.now() };
    }
    await this.flush();
    return this.inner.put(key, data, condition);
  }

  /**
   * Writes every held put concurrently; resolves when all are durable, rejects if one fails.
   * The puts that failed stay held, so a later flush writes them (and only them) again.
   */
  async flush(): Promise<void> {
    if (this.#held.size === 0) return;
    const writes = [...this.#held];
    this.#held.clear();
    // Started in one tick, so a pending marker in front of them is written once for all.
    const results = await Promise.allSettled(writes.map(([key, data]) => this.inner.put(key, data, { ifAbsent: true })));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    for (const i of failed) this.#held.set(writes[i][0], writes[i][1]);
    if (failed.length) throw (results[failed[0]] as PromiseRejectedResult).reason;
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.#notHeld(key);
    return this.inner.get(key, range);
  }

  override async getWithInfo(key: string): Promise<StoredObject> {
    this.#notHeld(key);
    return this.inner.getWithInfo(key);
  }

  override async head(key: string): Promise<ObjectInfo | null> {
    this.#notHeld(key);
    return this.inner.head(key);
  }

  override async delete(key: string): Promise<void> {
    this.#notHeld(key);
    return this.inner.delete(key);
  }

  #notHeld(key: string): void {
    assert(!this.#held.has(key), `write batch: ${key} read before its write was flushed`);
  }
}
