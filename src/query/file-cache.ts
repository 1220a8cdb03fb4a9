// DuckDB reads Parquet from local paths. A local store's files are read in place; the objects of
// any other store (memory, object storage, or a wrapper that must see every read) come from the
// process-wide ObjectCache's disk tier, copied once and shared by every handle. Data files are
// immutable, so a cached copy never goes stale. A handle pins the copies it has been given until
// it is disposed; the cache's disk bound applies to the copies no open handle holds.

import { assert } from '../errors.js';
import { immutableKey } from '../format/index.js';
import { CachedStore, type LocalCopy, type ObjectCache, type ObjectStore } from '../storage/index.js';

export class FileCache {
  private readonly cached: CachedStore | undefined;
  private readonly held = new Map<string, Promise<LocalCopy>>();

  constructor(
    private readonly store: ObjectStore,
    cache: ObjectCache,
  ) {
    this.cached = store.localPath ? undefined : new CachedStore(store, cache, immutableKey);
  }

  /** A local path holding the object's bytes, valid until `dispose`. */
  async path(key: string): Promise<string> {
    if (!this.cached) return this.store.localPath!(key);
    assert(immutableKey(key), `file cache: "${key}" is not an immutable object`);
    let copy = this.held.get(key);
    if (!copy) {
      copy = this.cached.localCopy(key);
      this.held.set(key, copy);
      copy.catch(() => this.held.delete(key));
    }
    return (await copy).path;
  }

  async paths(keys: readonly string[]): Promise<string[]> {
    return Promise.all(keys.map((k) => this.path(k)));
  }

  /** Releases every copy this handle pinned; they stay cached for other handles until evicted. */
  async dispose(): Promise<void> {
    const held = [...this.held.values()];
    this.held.clear();
    await Promise.all(held.map((p) => p.then((c) => c.release(), () => undefined)));
  }
}
