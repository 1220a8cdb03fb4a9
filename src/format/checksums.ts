// Checksums of data files. Every data file and deletes file gets a CRC-32 recorded beside its key
// in the manifest when it is written; a reader checks a file against it before any row of it is
// used, so a flipped bit is a `corrupt` error naming the file, never a changed row. Keys are
// random and files immutable, so a key's checksum never changes once recorded.

import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { QuiverError } from '../errors.js';
import type { ObjectStore } from '../storage/index.js';
import type { Manifest } from './manifest.js';

/** Checksums remembered per store; past this many the oldest half is forgotten (re-learnt when a manifest naming them is read again). */
export const CHECKSUM_KEYS_MAX = 1_000_000;
/** Bytes read per call while checksumming a local file. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export function crc32Of(parts: readonly Uint8Array[]): number {
  let c = 0;
  for (const p of parts) c = crc32(p, c);
  return c;
}

/** The CRC-32 of a local file's bytes, read in chunks; a missing file is `corrupt` (a manifest names it). */
export async function crc32OfFile(path: string, key: string): Promise<number> {
  const fh = await openDataFile(path, key);
  try {
    // Sized to the file: a fresh 4 MiB buffer per file was most of a feedback stream's garbage
    // (each publish checks a patch file of ~1 KB; GC was 15% of the stream's CPU).
    const buf = new Uint8Array(Math.max(1, Math.min(READ_CHUNK_BYTES, (await fh.stat()).size)));
    let c = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return c;
      c = crc32(buf.subarray(0, bytesRead), c);
    }
  } finally {
    await fh.close();
  }
}

async function openDataFile(path: string, key: string) {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw dataFileError(key, e);
  }
}

/**
 * A file a manifest names (a data file, or an index file) that cannot be read: `corrupt` when
 * it is gone, since the manifest says it exists; `io` for any other failure.
 */
export function dataFileError(key: string, e: unknown, what = 'data file'): QuiverError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || (e instanceof QuiverError && e.code === 'not_found')) {
    return new QuiverError('corrupt', `format: ${what} ${key} named by the manifest is missing`, { key }, { cause: e });
  }
  if (e instanceof QuiverError) return e;
  return new QuiverError('io', `format: cannot read ${what} ${key}: ${(e as Error)?.message ?? String(e)}`, { key }, { cause: e });
}

/** Throws `corrupt` unless `actual` is the checksum the manifest recorded for `key`. */
export function checkCrc32(key: string, expected: number, actual: number): void {
  if (expected !== actual) {
    throw new QuiverError('corrupt', `format: data file ${key} is corrupt: its crc32 is ${actual.toString(16).padStart(8, '0')}, the manifest recorded ${expected.toString(16).padStart(8, '0')}`, { key, expected, actual });
  }
}

/** Every file a manifest names with the checksum it recorded (files written before checksums have none). */
export function manifestChecksums(m: Manifest): [string, number][] {
  const out: [string, number][] = [];
  for (const f of m.fragments) {
    if (f.crc32 !== undefined) out.push([f.key, f.crc32]);
    if (f.deletes?.crc32 !== undefined) out.push([f.deletes.key, f.deletes.crc32]);
  }
  for (const files of Object.values(m.groups)) for (const g of files) if (g.crc32 !== undefined) out.push([g.key, g.crc32]);
  for (const fill of Object.values(m.evolution?.fills ?? {})) for (const g of fill.files) if (g.crc32 !== undefined) out.push([g.key, g.crc32]);
  for (const p of m.patches ?? []) out.push([p.key, p.crc32]);
  return out;
}

/**
 * By store URL, not store object: wrappers (a writer's pending view, a cache, a counter) and a
 * second handle's store on the same root see the same immutable files, so a checksum learnt
 * through one must verify reads through all of them.
 */
const known = new Map<string, Map<string, number>>();

/** Remembers the checksums `m` records, so reads of its files through `store` verify them. */
export function noteChecksums(store: ObjectStore, m: Manifest): void {
  let map = known.get(store.url);
  if (!map) known.set(store.url, (map = new Map()));
  for (const [key, crc] of manifestChecksums(m)) map.set(key, crc);
  if (map.size > CHECKSUM_KEYS_MAX) {
    let drop = map.size - CHECKSUM_KEYS_MAX / 2;
    for (const key of map.keys()) {
      if (drop-- <= 0) break;
      map.delete(key);
    }
  }
}

/** Forgets the checksums learnt for a store URL (tests that rewrite a dataset's manifests in place). */
export function forgetChecksums(url: string): void {
  known.delete(url);
}

/** The checksum recorded for `key` by a manifest read or written through `store`, if any. */
export function expectedChecksum(store: ObjectStore, key: string): number | undefined {
  return known.get(store.url)?.get(key);
}
