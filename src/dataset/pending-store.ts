// A writer's view of the store: before any put of a key vacuum may delete, the key is added to
// this writer's pending marker (meta/pending/<writer>.json), so a concurrent vacuum keeps it
// until the marker is released after publishing. Invariant: no such key reaches the store
// before a marker listing it does. Reads and other puts pass straight through.

import { QuiverError } from '../errors.js';
import { isPendingKey, layout, randomId, writePendingMarker } from '../format/index.js';
import { ForwardingStore, type ObjectInfo, type ObjectStore, type PutCondition, type PutData } from '../storage/index.js';

export class PendingStore extends ForwardingStore {
  private readonly writer = randomId();
  /** Each listed key with the number of the first marker content holding it. */
  private readonly keys = new Map<string, number>();
  /** Marker contents are numbered; `written` is the newest number on the store. */
  private wanted = 0;
  private written = 0;
  private inflight: Promise<void> | null = null;
  /** The marker is on the store (written since the last release). */
  private onStore = false;
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
        this.inflight = this.noticeLoss()
          .then(() => writePendingMarker(this.inner, marker))
          .then(() => void ((this.onStore = true), (this.written = Math.max(this.written, version))))
          .finally(() => (this.inflight = null));
      }
      await this.inflight;
    }
  }

  /** Before rewriting the marker: if a vacuum removed it meanwhile, remember that, as rewriting hides it. */
  private async noticeLoss(): Promise<void> {
    if (this.onStore && !(await this.inner.head(layout.pending(this.writer)))) this.lost = true;
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
    this.onStore = false;
    this.lost = false;
    await this.inner.delete(layout.pending(this.writer));
  }
}
