// One cache of immutable objects for a whole process: fixed-size blocks of object bytes in memory,
// and whole-object copies on local disk for readers that need a file path (DuckDB has no httpfs
// here). Invariant: a cached byte is only ever a byte of an object that never changes, so an entry
// never goes stale; the caller decides which keys are immutable (storage knows no layout).
// Both tiers are bounded by bytes; least recently used entries go first, pinned copies never.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert } from '../../errors.js';

export interface ObjectCacheOptions {
  /** Bytes of object blocks held in memory. Default 256 MiB. */
  memoryBytesMax?: number;
  /** Bytes of whole-object copies on local disk. Default 8 GiB. */
  diskBytesMax?: number;
  /** The folder for disk copies; removed when the process exits. Default a fresh folder in the OS temp dir. */
  dir?: string;
  /**
   * The unit of ranged reads. A read is widened to whole blocks, so nearby reads (a page header,
   * then its page) cost one request. Measured on 50 KB images (tests/query/read-cost.test.ts),
   * 20 search winners cost 1.19× their bytes with 16 KiB blocks, 1.44× with 32 KiB, 1.89× with
   * 64 KiB and 3.9× with 256 KiB. Default 16 KiB.
   */
  blockBytes?: number;
}

/** A disk copy in use: the file stays until `release` is called, whatever the cache's bound. */
export interface LocalCopy {
  path: string;
  /** Unpins the copy; resolves once any eviction it allowed is done. */
  release(): Promise<void>;
}

interface DiskEntry {
  path: string;
  size: number;
  pins: number;
  /** Set once the file is removed; a waiter holding a dropped entry copies again. */
  dropped: boolean;
}

/** Counters a test or a stats endpoint can read; monotonic since the cache was made. */
export interface ObjectCacheStats {
  blockHits: number;
  blockMisses: number;
  memoryBytes: number;
  diskBytes: number;
  evictedBlocks: number;
  evictedCopies: number;
}

export class ObjectCache {
  readonly memoryBytesMax: number;
  readonly diskBytesMax: number;
  readonly blockBytes: number;
  private readonly dir: string;
  /** Block bytes by `${scope}\0${key}\0${block}`; Map order is recency (oldest first). */
  private readonly blocks = new Map<string, Uint8Array>();
  private readonly disk = new Map<string, DiskEntry>();
  private readonly copying = new Map<string, Promise<DiskEntry>>();
  private dirMade = false;
  readonly stats: ObjectCacheStats = { blockHits: 0, blockMisses: 0, memoryBytes: 0, diskBytes: 0, evictedBlocks: 0, evictedCopies: 0 };

  constructor(options: ObjectCacheOptions = {}) {
    this.memoryBytesMax = options.memoryBytesMax ?? 256 * 1024 * 1024;
    this.diskBytesMax = options.diskBytesMax ?? 8 * 1024 * 1024 * 1024;
    this.blockBytes = options.blockBytes ?? 16 * 1024;
    assert(this.blockBytes > 0 && Number.isInteger(this.blockBytes), 'cache: blockBytes must be a positive integer');
    this.dir = options.dir ?? join(tmpdir(), `quiver-cache-${process.pid}-${Math.random().toString(36).slice(2)}`);
    if (!options.dir) process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  /** The folder holding the disk copies (a sandboxed DuckDB may read there). */
  get directory(): string {
    return this.dir;
  }

  /** The cached block, refreshed as most recently used, or undefined. */
  block(scope: string, key: string, index: number): Uint8Array | undefined {
    const id = blockId(scope, key, index);
    const b = this.blocks.get(id);
    if (b === undefined) {
      this.stats.blockMisses++;
      return undefined;
    }
    this.stats.blockHits++;
    this.blocks.delete(id);
    this.blocks.set(id, b);
    return b;
  }

  /** Keeps a block; a block larger than the whole memory bound is not kept. */
  putBlock(scope: string, key: string, index: number, bytes: Uint8Array): void {
    if (bytes.length > this.memoryBytesMax) return;
    const id = blockId(scope, key, index);
    const old = this.blocks.get(id);
    if (old) {
      this.blocks.delete(id);
      this.stats.memoryBytes -= old.length;
    }
    this.blocks.set(id, bytes);
    this.stats.memoryBytes += bytes.length;
    for (const [k, v] of this.blocks) {
      if (this.stats.memoryBytes <= this.memoryBytesMax) break;
      this.blocks.delete(k);
      this.stats.memoryBytes -= v.length;
      this.stats.evictedBlocks++;
    }
  }

  /** Forgets every block and disk copy of one object (it was deleted, or a mutable key was cached by mistake). */
  forget(scope: string, key: string): void {
    const prefix = `${scope}\0${key}\0`;
    for (const [k, v] of this.blocks) {
      if (!k.startsWith(prefix)) continue;
      this.blocks.delete(k);
      this.stats.memoryBytes -= v.length;
    }
    const d = this.disk.get(copyId(scope, key));
    if (d && d.pins === 0) this.dropCopy(copyId(scope, key), d);
  }

  /**
   * A local file holding the object's bytes, fetched once with `fetch` and shared by every caller
   * until evicted. Call `release` when the reader is done with the path.
   */
  async localCopy(scope: string, key: string, fetch: () => Promise<Uint8Array>): Promise<LocalCopy> {
    const id = copyId(scope, key);
    for (;;) {
      let entry = this.disk.get(id);
      if (!entry) {
        let p = this.copying.get(id);
        if (!p) {
          p = this.writeCopy(id, fetch);
          this.copying.set(id, p);
          const done = () => this.copying.delete(id);
          p.then(done, done);
        }
        entry = await p;
        // Evicted between another waiter's release and this continuation: copy it again.
        if (entry.dropped) continue;
        if (!this.disk.has(id)) {
          this.disk.set(id, entry);
          this.stats.diskBytes += entry.size;
        }
      }
      // Pinned in the same turn it is found, so no eviction can remove it under the caller.
      this.disk.delete(id);
      this.disk.set(id, entry);
      entry.pins++;
      return this.lease(entry);
    }
  }

  private lease(entry: DiskEntry): LocalCopy {
    let released = false;
    return {
      path: entry.path,
      release: () => {
        if (released) return Promise.resolve();
        released = true;
        entry.pins--;
        return this.evictCopies();
      },
    };
  }

  private async writeCopy(id: string, fetch: () => Promise<Uint8Array>): Promise<DiskEntry> {
    const bytes = await fetch();
    if (!this.dirMade) {
      mkdirSync(this.dir, { recursive: true });
      this.dirMade = true;
    }
    const path = join(this.dir, id);
    const tmp = `${path}.tmp-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return { path, size: bytes.length, pins: 0, dropped: false };
  }

  /** Drops unpinned copies, oldest first, until the disk tier fits its bound. */
  private async evictCopies(): Promise<void> {
    for (const [id, e] of [...this.disk]) {
      if (this.stats.diskBytes <= this.diskBytesMax) return;
      if (e.pins === 0) await this.dropCopy(id, e);
    }
  }

  private async dropCopy(id: string, e: DiskEntry): Promise<void> {
    if (this.disk.get(id) !== e) return;
    this.disk.delete(id);
    e.dropped = true;
    this.stats.diskBytes -= e.size;
    this.stats.evictedCopies++;
    await unlink(e.path).catch(() => undefined);
  }
}

function blockId(scope: string, key: string, index: number): string {
  return `${scope}\0${key}\0${index}`;
}

/** Disk names are hashes: keys have slashes and any length, and two stores may share a key. */
function copyId(scope: string, key: string): string {
  return createHash('sha256').update(scope).update('\0').update(key).digest('hex').slice(0, 40);
}
