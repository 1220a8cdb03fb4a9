// A writer's view of the store: before any put of a key vacuum may delete, the key is added to
// this writer's pending marker (meta/pending/<writer>.json), so a concurrent vacuum keeps it
// until the marker is released after publishing. Invariant: no such key reaches the store
// before a marker listing it does. Reads and other puts pass straight through.

import { QuiverError, isQuiverError } from '../errors.js';
import { isPendingKey, layout, randomId, writePendingMarker, type PendingMarker } from '../format/index.js';
import { ForwardingStore, type ObjectInfo, type ObjectStore, type PutCondition, type PutData } from '../storage/index.js';

export class PendingStore extends ForwardingStore {
  private readonly writer = randomId();
  /** Each listed key with the number of the first marker content holding it. */
  private readonly keys = new Map<string, number>();
  /** Marker contents are numbered; `written` is the newest number on the store. */
  private wanted = 0;
  private written = 0;
  private inflight: Promise<void> | null = null;
  /** The etag of the marker this writer last wrote, while it is on the store (written since the last release). */
  private onStore: string | null = null;
  /** A vacuum removed the marker while this writer held keys: it was idle past the lease. */
  private lost = false;

  private constructor(inner: ObjectStore) {
    super(inner);
  }

  /** A fresh writer (its own marker) over `store`, unwrapping another writer's view. */
  static of(store: ObjectStore): PendingStore {
    return new PendingStore(store instanceof PendingStore ? store.inner : store);
  }

  override async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    if (isPendingKey(key)) {
      let version = this.keys.get(key);
      if (version === undefined) this.keys.set(key, (version = ++this.wanted));
      await this.syncMarker(version);
    }
    return this.inner.put(key, data, condition);
  }

  /** Writes the marker until the store holds content number `want` or newer; concurrent puts share writes. */
  private async syncMarker(want: number): Promise<void> {
    // Puts started together (a fragment's files) add their keys before the first write begins.
    await Promise.resolve();
    while (this.written < want) {
      if (!this.inflight) {
        const version = this.wanted;
        const marker = { writer: this.writer, refreshed: new Date().toISOString(), keys: [...this.keys.keys()] };
        this.inflight = this.rewrite(marker)
          .then((etag) => void ((this.onStore = etag), (this.written = Math.max(this.written, version))))
          .finally(() => (this.inflight = null));
      }
      await this.inflight;
    }
  }

  /**
   * Writes the marker. Over one this writer wrote, the put is conditional on its etag: refused, a
   * vacuum removed it meanwhile (only this writer writes the key), which rewriting would hide, so
   * that is remembered first. One request where a head and a put used to be two in the commit's path.
   */
  private async rewrite(marker: PendingMarker): Promise<string> {
    if (this.onStore) {
      try {
        return await writePendingMarker(this.inner, marker, { ifMatch: this.onStore });
      } catch (e) {
        // A missing key refuses If-Match with 412 on radosgw and 404 on AWS and Azure.
        if (!isQuiverError(e, 'conflict') && !isQuiverError(e, 'not_found')) throw e;
        this.lost = true;
      }
    }
    return writePendingMarker(this.inner, marker);
  }

  /**
   * Before publishing a manifest that names `keys` (after writing it and its commit): if a vacuum
   * had expired this writer's marker (it was idle past the lease), checks that the files it
   * wrote are still there.
   */
  async checkIntact(keys: readonly string[]): Promise<void> {
    // Writing the manifest and commit just rewrote the marker, noticing a loss first.
    if (!this.lost) return;
    for (const key of keys) {
      if (this.keys.has(key) && !(await this.inner.head(key))) {
        throw new QuiverError('not_found', `dataset: staged file "${key}" is gone: the writer's pending marker expired (idle past the lease) and a vacuum removed it; close this handle and append the rows again`, { key });
      }
    }
  }

  /** Drops the marker: every key written so far is reachable from a ref, or abandoned. */
  async release(): Promise<void> {
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.keys.size === 0) return;
    this.keys.clear();
    this.written = this.wanted;
    this.onStore = null;
    this.lost = false;
    await this.inner.delete(layout.pending(this.writer));
  }
}
