// The base of every store wrapper: each call goes to `inner` unless a subclass overrides it, so
// a wrapper states only what it changes and a method added to the seam reaches every wrapper.
// The optional capabilities (a local path, a leftover sweep) are forwarded when `inner` has them.

import type { ByteRange, ObjectInfo, ObjectStore, PutCondition, PutData, StoredObject } from './object-store.js';

export interface ForwardingOptions {
  /** Offer `inner`'s local paths. False for wrappers that must see every read. Default true. */
  localPath?: boolean;
}

export class ForwardingStore implements ObjectStore {
  readonly localPath?: (key: string) => string;
  readonly sweepLeftovers?: (beforeMs: number, dryRun?: boolean) => Promise<number>;

  constructor(
    readonly inner: ObjectStore,
    options: ForwardingOptions = {},
  ) {
    if (options.localPath !== false && inner.localPath) {
      this.localPath = (key) => {
        const path = inner.localPath!(key);
        this.handedLocalPath(key);
        return path;
      };
    }
    if (inner.sweepLeftovers) this.sweepLeftovers = (beforeMs, dryRun) => inner.sweepLeftovers!(beforeMs, dryRun);
  }

  /** Called each time a local path of `key` is handed out (a reader then reads it unseen). */
  protected handedLocalPath(_key: string): void {}

  get url(): string {
    return this.inner.url;
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.inner.get(key, range);
  }

  getWithInfo(key: string): Promise<StoredObject> {
    return this.inner.getWithInfo(key);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    return this.inner.put(key, data, condition);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}
