// Vacuum: deletes objects that no branch, tag or version in their history reaches, that no live
// writer's pending marker lists, and that are older than a grace period; then leftovers of
// interrupted puts. Order is the safety argument: list objects, then read pending markers, then
// read refs. A writer lists a key in its marker before writing it and drops the marker only after
// its ref moved, so every listed object is protected by one of the two later reads.

import { layout, listRefs, manifestKeys, manifestSegmentKeys, scalarIndexKeys, textSegmentKeys, PENDING_LEASE_MS, PENDING_PREFIXES, readCommit, readManifest, readPendingMarkers } from '../../format/index.js';
import type { ObjectStore } from '../../storage/index.js';

/**
 * Leftovers of puts (temporary files, staged locks) are removed only when older than this too,
 * whatever `olderThan` says: a younger one may belong to a put still running. 15 minutes.
 */
export const LEFTOVER_AGE_MS_MIN = 15 * 60_000;

export interface VacuumOptions {
  /**
   * Delete only objects last modified before this time (a Date) or this many ms ago. Default 1
   * hour ago. Objects of a store that reports no modification time count as old. Files of live
   * writers are kept whatever this says: their pending markers protect them.
   */
  olderThan?: Date | number;
  /** Report what would be deleted, delete nothing. Default false. */
  dryRun?: boolean;
  /**
   * A pending marker not refreshed for this long is ignored and removed: its writer is presumed
   * dead and its files are garbage. Default 24 hours (PENDING_LEASE_MS).
   */
  pendingLeaseMs?: number;
  /** Called before the first listed object is decided on and after each, with objects done of objects listed. */
  onProgress?: (objects: number, objectsTotal: number) => void;
}

export interface VacuumResult {
  /** Objects deleted (or that would be). */
  deleted: number;
  bytes: number;
  /** Objects kept because a ref reaches them. */
  reachable: number;
  /** Unreachable objects kept because a live writer's pending marker lists them. */
  pending: number;
  /** Unreachable objects kept because they are younger than the grace period. */
  young: number;
  /** Pending markers of writers presumed dead, removed (or that would be). */
  expiredMarkers: number;
  /** Leftovers of interrupted puts removed (`.tmp-*` files, abandoned locks), at least LEFTOVER_AGE_MS_MIN old. */
  tmpFiles: number;
}

/** Every key some branch or tag reaches through its whole history. */
export async function reachableKeys(store: ObjectStore): Promise<Set<string>> {
  const keys = new Set<string>();
  const refs = [...(await listRefs(store, 'branch')), ...(await listRefs(store, 'tag'))];
  const seen = new Set<string>();
  const stack = refs.map((r) => r.commit);
  const manifests = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const c = await readCommit(store, id);
    keys.add(layout.commit(id));
    manifests.add(c.manifest);
    stack.push(...c.parents);
  }
  for (const mid of manifests) {
    keys.add(layout.manifest(mid));
    const m = await readManifest(store, mid);
    for (const k of [...manifestKeys(m), ...manifestSegmentKeys(m)]) keys.add(k);
    // Fulltext segments and scalar index files are found by derived key, not listed (see textSegmentKey): keep them too.
    for (const k of [...textSegmentKeys(m), ...scalarIndexKeys(m)]) keys.add(k);
  }
  return keys;
}

/** The keys live writers' markers protect, and the markers that expired. */
async function pendingKeys(store: ObjectStore, now: number, leaseMs: number): Promise<{ keys: Set<string>; expired: string[] }> {
  const keys = new Set<string>();
  const expired: string[] = [];
  for (const { key, marker } of await readPendingMarkers(store)) {
    const refreshed = Date.parse(marker.refreshed);
    // A time that does not parse cannot prove the writer dead: keep its keys.
    if (now - refreshed >= leaseMs) expired.push(key);
    else for (const k of marker.keys) keys.add(k);
  }
  return { keys, expired };
}

/** Deletes unreachable objects older than the grace period that no live writer has pending. */
export async function vacuum(store: ObjectStore, options: VacuumOptions = {}): Promise<VacuumResult> {
  const now = Date.now();
  const o = options.olderThan ?? 3_600_000;
  const cutoff = o instanceof Date ? o.getTime() : now - o;
  const listed: { key: string; size: number; lastModified?: number }[] = [];
  for (const prefix of PENDING_PREFIXES) for await (const info of store.list(prefix)) listed.push(info);
  const pending = await pendingKeys(store, now, options.pendingLeaseMs ?? PENDING_LEASE_MS);
  const keep = await reachableKeys(store);
  const result: VacuumResult = { deleted: 0, bytes: 0, reachable: 0, pending: 0, young: 0, expiredMarkers: pending.expired.length, tmpFiles: 0 };
  let done = 0;
  options.onProgress?.(0, listed.length);
  for (const { key, size, lastModified } of listed) {
    if (keep.has(key)) result.reachable++;
    else if (pending.keys.has(key)) result.pending++;
    else if ((lastModified ?? 0) >= cutoff) result.young++;
    else {
      if (!options.dryRun) await store.delete(key);
      result.deleted++;
      result.bytes += size;
    }
    options.onProgress?.(++done, listed.length);
  }
  // Markers go after the files they listed, so a writer that finds its marker gone knows the
  // deletions are done and can check its files (PendingStore.checkIntact).
  if (!options.dryRun) for (const key of pending.expired) await store.delete(key);
  if (store.sweepLeftovers) result.tmpFiles = await store.sweepLeftovers(Math.min(cutoff, now - LEFTOVER_AGE_MS_MIN), !!options.dryRun);
  return result;
}
