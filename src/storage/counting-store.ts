// A wrapper that counts requests and bytes per operation and remembers which keys were read,
// so tests can assert what a query cost. It keeps the inner store's shape: over a local folder
// it offers `localPath` too (counted as an open of the whole file, the way DuckDB reads it in
// place), so a cost test runs the path a user's query runs, never a download path of its own.

import type { ByteRange, ObjectInfo, ObjectStore, PutCondition, PutData, StoredObject } from './object-store.js';
import { dataSize } from './object-store.js';
import { ForwardingStore } from './forwarding-store.js';

export interface StoreCounts {
  gets: number;
  getBytes: number;
  puts: number;
  putBytes: number;
  lists: number;
  heads: number;
  deletes: number;
  /** Local paths handed out (a reader then reads that file in place, unseen by the store). */
  localPaths: number;
}

export class CountingStore extends ForwardingStore {
  counts: StoreCounts = CountingStore.zero();
  /** Keys read since the last reset, with bytes read from each. */
  readonly keysRead = new Map<string, number>();
  /** Keys read since the last reset, with the requests (gets) made for each. */
  readonly requestsRead = new Map<string, number>();
  /** Keys whose local path was handed out since the last reset, with how many times. */
  readonly keysOpened = new Map<string, number>();
  readonly keysWritten = new Map<string, number>();
  protected override handedLocalPath(key: string): void {
    this.counts.localPaths++;
    this.keysOpened.set(key, (this.keysOpened.get(key) ?? 0) + 1);
  }

  static zero(): StoreCounts {
    return { gets: 0, getBytes: 0, puts: 0, putBytes: 0, lists: 0, heads: 0, deletes: 0, localPaths: 0 };
  }

  reset(): void {
    this.counts = CountingStore.zero();
    this.keysRead.clear();
    this.requestsRead.clear();
    this.keysOpened.clear();
    this.keysWritten.clear();
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const b = await this.inner.get(key, range);
    this.countGet(key, b.length);
    return b;
  }

  /** One request, counted as a get. */
  override async getWithInfo(key: string): Promise<StoredObject> {
    const o = await this.inner.getWithInfo(key);
    this.countGet(key, o.data.length);
    return o;
  }

  private countGet(key: string, bytes: number): void {
    this.counts.gets++;
    this.counts.getBytes += bytes;
    this.keysRead.set(key, (this.keysRead.get(key) ?? 0) + bytes);
    this.requestsRead.set(key, (this.requestsRead.get(key) ?? 0) + 1);
  }

  override head(key: string): Promise<ObjectInfo | null> {
    this.counts.heads++;
    return this.inner.head(key);
  }

  override list(prefix: string): AsyncIterable<ObjectInfo> {
    this.counts.lists++;
    return this.inner.list(prefix);
  }

  override async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const info = await this.inner.put(key, data, condition);
    this.counts.puts++;
    this.counts.putBytes += dataSize(data);
    this.keysWritten.set(key, (this.keysWritten.get(key) ?? 0) + dataSize(data));
    return info;
  }

  override delete(key: string): Promise<void> {
    this.counts.deletes++;
    return this.inner.delete(key);
  }
}
