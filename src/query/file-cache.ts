// DuckDB reads Parquet from local paths. A local store's files are read in place; objects of any
// other store (memory, object storage, or a wrapper that must see every read) are fetched once
// into a private cache folder. Data files are immutable, so a cached copy never goes stale.

import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../storage/index.js';

export class FileCache {
  private readonly dir: string;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ObjectStore,
    dir?: string,
  ) {
    this.dir = dir ?? join(tmpdir(), `quiver-cache-${process.pid}-${Math.random().toString(36).slice(2)}`);
  }

  /** A local path holding the object's bytes. */
  async path(key: string): Promise<string> {
    if (this.store.localPath) return this.store.localPath(key);
    const target = join(this.dir, key.replace(/\//g, '__'));
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    if (existsSync(target)) return target;
    const p = (async () => {
      mkdirSync(this.dir, { recursive: true });
      const bytes = await this.store.get(key);
      const tmp = `${target}.tmp-${Math.random().toString(36).slice(2)}`;
      await writeFile(tmp, bytes);
      await rename(tmp, target);
      return target;
    })();
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  async paths(keys: readonly string[]): Promise<string[]> {
    return Promise.all(keys.map((k) => this.path(k)));
  }

  /** Removes the cache folder (a local store has none). */
  dispose(): void {
    if (!this.store.localPath && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
