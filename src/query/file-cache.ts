// DuckDB reads Parquet from local paths. A local store's files are read in place; the objects of
// any other store (memory, object storage, or a wrapper that must see every read) come from the
// process-wide ObjectCache's disk tier, copied once and shared by every handle. Data files are
// immutable, so a cached copy never goes stale. A handle pins the copies it has been given until
// it is disposed; the cache's disk bound applies to the copies no open handle holds.
// Invariant: a path is handed out only for bytes that match the checksum their manifest recorded
// (format/checksums.ts) and for a file that exists; otherwise `corrupt` naming the key.

import { stat } from 'node:fs/promises';
import { assert } from '../errors.js';
import { checkCrc32, crc32Of, crc32OfFile, dataFileError, expectedChecksum, immutableKey } from '../format/index.js';
import type { LocalCopy, ObjectCache, ObjectStore } from '../storage/index.js';

/** Local files remembered as verified, process-wide; past this the oldest are checked again on next use. */
export const VERIFIED_FILES_MAX = 65_536;
/** Verified local paths with the checksum they matched (-1: exists, no checksum recorded). */
const verified = new Map<string, number>();

function remember(path: string, crc: number): void {
  verified.set(path, crc);
  if (verified.size > VERIFIED_FILES_MAX) verified.delete(verified.keys().next().value!);
}

/** Checks under way, so concurrent queries reading one file checksum it once. */
const verifying = new Map<string, Promise<void>>();

/** Checks a local data file once per process: its checksum when one is recorded, else that it exists. */
function verifyLocal(path: string, key: string, expected: number | undefined): Promise<void> {
  if (verified.get(path) === (expected ?? -1)) return Promise.resolve();
  const id = `${path}\0${expected ?? -1}`;
  let p = verifying.get(id);
  if (!p) {
    p = (async () => {
      if (expected === undefined) {
        await stat(path).catch((e) => {
          throw dataFileError(key, e);
        });
      } else checkCrc32(key, expected, await crc32OfFile(path, key));
      remember(path, expected ?? -1);
    })();
    verifying.set(id, p);
    const done = () => verifying.delete(id);
    p.then(done, done);
  }
  return p;
}

/** Forgets which local files were verified (tests that damage a file after reading it). */
export function forgetVerifiedFiles(): void {
  verified.clear();
}

export class FileCache {
  private readonly held = new Map<string, Promise<LocalCopy>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: ObjectCache,
  ) {}

  /** A local path holding the object's bytes, verified (see the invariant above), valid until `dispose`. */
  async path(key: string): Promise<string> {
    const expected = expectedChecksum(this.store, key);
    if (this.store.localPath) {
      const path = this.store.localPath(key);
      await verifyLocal(path, key, expected);
      return path;
    }
    assert(immutableKey(key), `file cache: "${key}" is not an immutable object`);
    let copy = this.held.get(key);
    if (!copy) {
      // A copy is verified before it is renamed into the cache, so every later use can trust it.
      copy = this.cache.localCopy(this.store.url, key, async () => {
        const bytes = await this.store.get(key).catch((e) => {
          throw dataFileError(key, e);
        });
        if (expected !== undefined) checkCrc32(key, expected, crc32Of([bytes]));
        return bytes;
      });
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
