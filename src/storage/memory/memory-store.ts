// An ObjectStore in this process's memory: for tests, scratch datasets and `memory://` URLs.
// Every put stores a private copy so callers may reuse their buffers. Instances opened on one name
// share the objects AND the etag counter, so an etag is never reused for different content.

import { QuiverError } from '../../errors.js';
import { concatParts, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../object-store.js';

interface Entry {
  data: Uint8Array;
  etag: string;
  lastModified: number;
}

interface Space {
  objects: Map<string, Entry>;
  /** Etag sequence of this name; shared by every instance so etags never repeat. */
  writes: number;
}

/** Named memory stores, so `memory://name` opened twice in one process sees the same objects. */
const registry = new Map<string, Space>();

function infoOf(key: string, e: Entry): ObjectInfo {
  return { key, size: e.data.length, etag: e.etag, lastModified: e.lastModified };
}

export class MemoryStore implements ObjectStore {
  readonly url: string;
  private readonly space: Space;

  constructor(name = `anon-${Math.random().toString(36).slice(2)}`) {
    this.url = `memory://${name}`;
    let space = registry.get(name);
    if (!space) registry.set(name, (space = { objects: new Map(), writes: 0 }));
    this.space = space;
  }

  private entry(key: string): Entry {
    const e = this.space.objects.get(key);
    if (!e) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
    return e;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const e = this.entry(key);
    if (!range) return e.data;
    return e.data.subarray(Math.min(e.data.length, range.offset), Math.min(e.data.length, range.offset + range.length));
  }

  async getWithInfo(key: string): Promise<StoredObject> {
    const e = this.entry(key);
    return { data: e.data, info: infoOf(key, e) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const e = this.space.objects.get(key);
    return e ? infoOf(key, e) : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, e] of [...this.space.objects]) {
      if (key.startsWith(prefix)) yield infoOf(key, e);
    }
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const cur = this.space.objects.get(key);
    if (condition && 'ifAbsent' in condition && cur) {
      throw new QuiverError('conflict', `storage: "${key}" already exists`, { key });
    }
    if (condition && 'ifMatch' in condition && cur?.etag !== condition.ifMatch) {
      throw new QuiverError('conflict', `storage: "${key}" changed since it was read`, { key });
    }
    const bytes = concatParts(data).slice();
    const e: Entry = { data: bytes, etag: `m${++this.space.writes}-${bytes.length}`, lastModified: Date.now() };
    this.space.objects.set(key, e);
    return infoOf(key, e);
  }

  async delete(key: string): Promise<void> {
    this.space.objects.delete(key);
  }

  /** Forgets every object of a named store (tests). */
  static drop(name: string): void {
    registry.delete(name);
  }
}
