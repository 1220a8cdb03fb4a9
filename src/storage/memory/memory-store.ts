// An ObjectStore in this process's memory: for tests, scratch datasets and `memory://` URLs.
// Every put stores a private copy so callers may reuse their buffers.

import { QuiverError } from '../../errors.js';
import { concatParts, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData } from '../object-store.js';

interface Entry {
  data: Uint8Array;
  etag: string;
}

/** Named memory stores, so `memory://name` opened twice in one process sees the same objects. */
const registry = new Map<string, Map<string, Entry>>();

export class MemoryStore implements ObjectStore {
  readonly url: string;
  private readonly objects: Map<string, Entry>;
  private counter = 0;

  constructor(name = `anon-${Math.random().toString(36).slice(2)}`) {
    this.url = `memory://${name}`;
    let m = registry.get(name);
    if (!m) registry.set(name, (m = new Map()));
    this.objects = m;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const e = this.objects.get(key);
    if (!e) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
    if (!range) return e.data;
    return e.data.subarray(range.offset, Math.min(e.data.length, range.offset + range.length));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const e = this.objects.get(key);
    return e ? { key, size: e.data.length, etag: e.etag } : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, e] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, size: e.data.length, etag: e.etag };
    }
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const cur = this.objects.get(key);
    if (condition && 'ifAbsent' in condition && cur) {
      throw new QuiverError('conflict', `storage: "${key}" already exists`, { key });
    }
    if (condition && 'ifMatch' in condition && cur?.etag !== condition.ifMatch) {
      throw new QuiverError('conflict', `storage: "${key}" changed since it was read`, { key });
    }
    const bytes = concatParts(data).slice();
    const etag = `m${++this.counter}-${bytes.length}`;
    this.objects.set(key, { data: bytes, etag });
    return { key, size: bytes.length, etag };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  /** Forgets every object of a named store (tests). */
  static drop(name: string): void {
    registry.delete(name);
  }
}
