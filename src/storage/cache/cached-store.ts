// A wrapper that serves reads of immutable objects from a process-wide ObjectCache and returns
// the same seam, so everything above it reads a remote store as if it were near. Reads are
// widened to the cache's blocks; the missing blocks of one read are fetched in as few requests as
// there are gaps, and concurrent reads of the same block share one request. Keys the caller does
// not call immutable (refs, leases) always go to the store: a cached ref would be a stale one.

import { QuiverError } from '../../errors.js';
import type { ByteRange, ObjectInfo, ObjectStore, PutCondition, PutData, StoredObject } from '../object-store.js';
import type { ObjectCache } from './object-cache.js';

/** Heads of immutable objects kept per wrapper (a key and two numbers each). */
const HEADS_MAX = 65_536;

export class CachedStore implements ObjectStore {
  private readonly heads = new Map<string, ObjectInfo>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  /**
   * @param immutable says which keys name objects that are never rewritten once they exist
   *   (data, index and manifest files); only those are cached.
   */
  constructor(
    readonly inner: ObjectStore,
    readonly cache: ObjectCache,
    private readonly immutable: (key: string) => boolean,
  ) {}

  get url(): string {
    return this.inner.url;
  }

  /**
   * Records the size of an immutable object the caller knows from elsewhere (a manifest), so its
   * ranged reads need no HEAD request first. head() then reports that size with an empty etag.
   */
  knowSize(key: string, size: number): void {
    if (this.immutable(key) && !this.heads.has(key)) this.remember({ key, size, etag: '', lastModified: 0 });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    if (!this.immutable(key)) return this.inner.head(key);
    const known = this.heads.get(key);
    if (known) return known;
    const info = await this.inner.head(key);
    if (info) this.remember(info);
    return info;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (!this.immutable(key)) return this.inner.get(key, range);
    const info = await this.head(key);
    if (!info) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
    const start = Math.min(range?.offset ?? 0, info.size);
    const end = range ? Math.min(info.size, range.offset + range.length) : info.size;
    if (end <= start) return new Uint8Array(0);
    const B = this.cache.blockBytes;
    const first = Math.floor(start / B);
    const last = Math.floor((end - 1) / B);
    const blocks = await this.blocks(key, info.size, first, last);
    return assemble(blocks, first * B, start, end);
  }

  /**
   * Exactly `range` of an object, not widened to blocks: for pages smaller than a block (a 6 KB
   * image would cost a 16 KiB block, or two). Kept in the cache as that range, so the same read
   * again makes no request; a different range over the same bytes is fetched anew.
   */
  async getExact(key: string, range: ByteRange): Promise<Uint8Array> {
    if (!this.immutable(key)) return this.inner.get(key, range);
    const scope = this.inner.url;
    const hit = this.cache.range(scope, key, range.offset, range.length);
    if (hit) return hit;
    const id = `${key}\0@${range.offset}+${range.length}`;
    let p = this.inflight.get(id);
    if (!p) {
      p = this.inner.get(key, range).then((bytes) => {
        if (bytes.length !== range.length) {
          throw new QuiverError('corrupt', `storage: read of ${range.length} bytes at ${range.offset} of "${key}" returned ${bytes.length}; the object changed or is truncated`, { key });
        }
        // Its own buffer, so a cached page does not keep a larger response alive.
        const own = bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
        this.cache.putRange(scope, key, range.offset, range.length, own);
        return own;
      });
      this.inflight.set(id, p);
      const done = () => {
        if (this.inflight.get(id) === p) this.inflight.delete(id);
      };
      p.then(done, done);
    }
    return p;
  }

  async getWithInfo(key: string): Promise<StoredObject> {
    if (!this.immutable(key)) return this.inner.getWithInfo(key);
    const info = await this.head(key);
    if (!info) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
    return { data: await this.get(key), info };
  }

  /** Blocks first..last of the object, from the cache, from requests already under way, or fetched. */
  private async blocks(key: string, size: number, first: number, last: number): Promise<Uint8Array[]> {
    const scope = this.inner.url;
    const out: (Uint8Array | Promise<Uint8Array>)[] = [];
    let runStart = -1;
    const flush = (endExclusive: number) => {
      if (runStart < 0) return;
      this.fetchRun(key, size, runStart, endExclusive - 1).forEach((p) => out.push(p));
      runStart = -1;
    };
    for (let b = first; b <= last; b++) {
      const hit = this.cache.block(scope, key, b) ?? this.inflight.get(blockKey(key, b));
      if (hit) {
        flush(b);
        out.push(hit);
      } else if (runStart < 0) runStart = b;
    }
    flush(last + 1);
    return Promise.all(out);
  }

  /** One request for blocks a..b; a promise per block, registered so concurrent readers share it. */
  private fetchRun(key: string, size: number, a: number, b: number): Promise<Uint8Array>[] {
    const B = this.cache.blockBytes;
    const offset = a * B;
    const length = Math.min(size, (b + 1) * B) - offset;
    const run = this.inner.get(key, { offset, length }).then((bytes) => {
      if (bytes.length !== length) {
        throw new QuiverError('corrupt', `storage: read of ${length} bytes at ${offset} of "${key}" returned ${bytes.length}; the object changed or is truncated`, { key });
      }
      return bytes;
    });
    const parts: Promise<Uint8Array>[] = [];
    for (let i = a; i <= b; i++) {
      const id = blockKey(key, i);
      const p = run.then((bytes) => {
        // A copy, so an evicted neighbour does not keep the whole run's buffer alive.
        const block = bytes.slice((i - a) * B, Math.min(bytes.length, (i - a + 1) * B));
        this.cache.putBlock(this.inner.url, key, i, block);
        return block;
      });
      this.inflight.set(id, p);
      const done = () => {
        if (this.inflight.get(id) === p) this.inflight.delete(id);
      };
      p.then(done, done);
      parts.push(p);
    }
    return parts;
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    this.forget(key);
    const info = await this.inner.put(key, data, condition);
    this.forget(key);
    return info;
  }

  async delete(key: string): Promise<void> {
    this.forget(key);
    await this.inner.delete(key);
    this.forget(key);
  }

  private forget(key: string): void {
    this.heads.delete(key);
    this.cache.forget(this.inner.url, key);
  }

  private remember(info: ObjectInfo): void {
    if (this.heads.size >= HEADS_MAX) this.heads.delete(this.heads.keys().next().value as string);
    this.heads.set(info.key, info);
  }
}

function blockKey(key: string, index: number): string {
  return `${key}\0${index}`;
}

/** The bytes start..end of consecutive blocks that begin at object offset `base`. */
function assemble(blocks: Uint8Array[], base: number, start: number, end: number): Uint8Array {
  if (blocks.length === 1) return blocks[0].subarray(start - base, end - base);
  const out = new Uint8Array(end - start);
  let pos = base;
  for (const b of blocks) {
    const from = Math.max(start, pos);
    const to = Math.min(end, pos + b.length);
    if (to > from) out.set(b.subarray(from - pos, to - pos), from - start);
    pos += b.length;
  }
  return out;
}
