// Pending markers: `meta/pending/<writer>.json` lists the keys a live writer has written (or is
// about to write) and not yet published through a ref. Vacuum protects every listed key until
// the marker's lease runs out. Invariant: a key is in its writer's marker on the store before
// the key itself is written, and the marker goes only after the keys are reachable or abandoned.

import { QuiverError } from '../errors.js';
import type { ObjectStore } from '../storage/index.js';
import { layout } from './layout.js';
import { readMetadata, writeMetadata } from './metadata.js';

/** How long a marker protects its keys after its last refresh: a writer idle longer is presumed dead. 24 hours. */
export const PENDING_LEASE_MS = 24 * 3_600_000;

/** The prefixes whose keys vacuum may delete, so a writer must list them before writing them. */
export const PENDING_PREFIXES = [layout.dataPrefix, layout.indexPrefix, layout.manifestsPrefix, layout.commitsPrefix];

export function isPendingKey(key: string): boolean {
  return PENDING_PREFIXES.some((p) => key.startsWith(p));
}

export interface PendingMarker {
  writer: string;
  /** ISO-8601 time of the writer's last refresh (the writer's clock). */
  refreshed: string;
  keys: string[];
}

/** Writes a writer's marker (with `ifMatch`, only over the marker it wrote last); returns its etag. */
export async function writePendingMarker(store: ObjectStore, marker: PendingMarker, condition?: { ifMatch: string }): Promise<string> {
  return (await writeMetadata(store, 'pending', layout.pending(marker.writer), marker, condition)).etag;
}

/**
 * Every pending marker with the key it is stored under. A marker that does not decode is an
 * error, not an empty list: its keys are unknown, so vacuuming past it could delete them.
 */
export async function readPendingMarkers(store: ObjectStore): Promise<{ key: string; marker: PendingMarker }[]> {
  const out: { key: string; marker: PendingMarker }[] = [];
  for await (const info of store.list(layout.pendingPrefix)) {
    try {
      out.push({ key: info.key, marker: await readMetadata<PendingMarker>(store, 'pending', info.key) });
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'not_found') continue; // released meanwhile
      throw e;
    }
  }
  return out;
}
