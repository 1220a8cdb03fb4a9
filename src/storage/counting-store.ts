// A wrapper that counts requests and bytes per operation and remembers which keys were read,
// so tests can assert what a query cost. It hides `localPath` so every read goes through it.

import type { ByteRange, ObjectInfo, ObjectStore, PutCondition, PutData, StoredObject } from './object-store.js';
import { dataSize } from './object-store.js';

export interface StoreCounts {
  gets: number;
  getBytes: number;
  puts: number;
  putBytes: number;
  lists: number;
  heads: number;
  deletes: number;
}

export class CountingStore implements ObjectStore {
  counts: StoreCounts = CountingStore.zero();
  /** Keys read since the last reset, with bytes read from each. */
  readonly keysRead = new Map<string, number>();
  readonly keysWritten = new Map<string, number>();

  constructor(readonly inner: ObjectStore) {}

  get url(): string {
    return this.inner.url;
  }

  static zero(): StoreCounts {
    return { gets: 0, getBytes: 0, puts: 0, putBytes: 0, lists: 0, heads: 0, deletes: 0 };
  }

  reset(): void {
    this.counts = CountingStore.zero();
    this.keysRead.clear();
    this.keysWritten.clear();
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const b = await this.inner.get(key, range);
    this.countGet(key, b.length);
    return b;
  }

  /** One request, counted as a get. */
  async getWithInfo(key: string): Promise<StoredObject> {
    const o = await this.inner.getWithInfo(key);
    this.countGet(key, o.data.length);
    return o;
  }

  private countGet(key: string, bytes: number): void {
    this.counts.gets++;
    this.counts.getBytes += bytes;
    this.keysRead.set(key, (this.keysRead.get(key) ?? 0) + bytes);
  }

  head(key: string): Promise<ObjectInfo | null> {
    this.counts.heads++;
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    this.counts.lists++;
    return this.inner.list(prefix);
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const info = await this.inner.put(key, data, condition);
    this.counts.puts++;
    this.counts.putBytes += dataSize(data);
    this.keysWritten.set(key, (this.keysWritten.get(key) ?? 0) + dataSize(data));
    return info;
  }

  delete(key: string): Promise<void> {
    this.counts.deletes++;
    return this.inner.delete(key);
  }
}
