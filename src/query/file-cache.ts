// DuckDB reads Parquet from local paths. A local store's files are read in place; objects of any
// other store (memory, object storage, or a wrapper that must see every read) are fetched once
// into a private cache folder. Data files are immutable, so a cached copy never goes stale.
// Invariant: a path is handed out only for bytes that match the checksum their manifest recorded
// (format/checksums.ts) and for a file that exists; otherwise `corrupt` naming the key.

import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { writeFile, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCrc32, crc32Of, crc32OfFile, dataFileError, expectedChecksum } from '../format/index.js';
import type { ObjectStore } from '../storage/index.js';

/** Local files remembered as verified, process-wide; past this the oldest are checked again on next use. */
export const VERIFIED_FILES_MAX = 65_536;
/** Verified local paths with the checksum they matched (-1: exists, no checksum recorded). */
const verified = new Map<string, number>();

function remember(path: string, crc: number): void {
  verified.set(path, crc);
  if (verified.size > VERIFIED_FILES_MAX) verified.delete(verified.keys().next().value!);
}

/** Checks a local data file once per process: its checksum when one is recorded, else that it exists. */
async function verifyLocal(path: string, key: string, expected: number | undefined): Promise<void> {
  if (verified.get(path) === (expected ?? -1)) return;
  if (expected === undefined) {
    await stat(path).catch((e) => {
      throw dataFileError(key, e);
    });
  } else checkCrc32(key, expected, await crc32OfFile(path, key));
  remember(path, expected ?? -1);
}

/** Forgets which local files were verified (tests that damage a file after reading it). */
export function forgetVerifiedFiles(): void {
  verified.clear();
}

export class FileCache {
  private readonly dir: string;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ObjectStore,
    dir?: string,
  ) {
    this.dir = dir ?? join(tmpdir(), `quiver-cache-${process.pid}-${Math.random().toString(36).slice(2)}`);
  }

  /** A local path holding the object's bytes, verified (see the invariant above). */
  async path(key: string): Promise<string> {
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = this.resolve(key);
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  private async resolve(key: string): Promise<string> {
    const expected = expectedChecksum(this.store, key);
    if (this.store.localPath) {
      const path = this.store.localPath(key);
      await verifyLocal(path, key, expected);
      return path;
    }
    // A cached copy was verified before it was renamed into place.
    const target = join(this.dir, key.replace(/\//g, '__'));
    if (existsSync(target)) return target;
    mkdirSync(this.dir, { recursive: true });
    const bytes = await this.store.get(key).catch((e) => {
      throw dataFileError(key, e);
    });
    if (expected !== undefined) checkCrc32(key, expected, crc32Of([bytes]));
    const tmp = `${target}.tmp-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, bytes);
    await rename(tmp, target);
    return target;
  }

  async paths(keys: readonly string[]): Promise<string[]> {
    return Promise.all(keys.map((k) => this.path(k)));
  }

  /** Removes the cache folder (a local store has none). */
  dispose(): void {
    if (!this.store.localPath && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
