// Turns the counting proxy's exchanges into what bench/objstore.ts reports: requests and bytes,
// split into data requests (data and index files) and metadata requests, and bytes per column
// file for Quiver's keys. Invariant: pure functions of the exchanges and the key layout.

import type { Exchange } from './counting-proxy.js';

export interface Meter {
  requests: number;
  /** Requests for data or index files (the ones a warm query should not make). */
  dataRequests: number;
  /** Bytes downloaded (answer bodies). */
  receivedBytes: number;
  /** Bytes uploaded (request bodies). */
  sentBytes: number;
  /** Bytes downloaded per file kind: a Quiver column name ("image", "scalar", …), "index", or "meta". */
  bytesByKind: Map<string, number>;
}

/**
 * The kind of a key under a dataset prefix: Quiver's `data/<fragment>.<column>.parquet` gives
 * the column; `index/…` (Quiver) and `_indices/…` (LanceDB) are "index"; LanceDB's `data/…lance`
 * files hold every column ("data"); everything else (manifests, commits, refs, versions) is "meta".
 */
export function keyKind(key: string): string {
  const quiverColumn = /(?:^|\/)data\/[^/.]+\.([^/]+)\.parquet$/.exec(key);
  if (quiverColumn) return quiverColumn[1]!.startsWith('deletes-') ? 'deletes' : quiverColumn[1]!;
  if (/(?:^|\/)(index|_indices)\//.test(key)) return 'index';
  if (/(?:^|\/)data\/[^/]+\.lance$/.test(key)) return 'data';
  return 'meta';
}

export function isDataKind(kind: string): boolean {
  return kind !== 'meta';
}

export function meter(exchanges: readonly Exchange[], keyPrefix: string): Meter {
  const m: Meter = { requests: 0, dataRequests: 0, receivedBytes: 0, sentBytes: 0, bytesByKind: new Map() };
  for (const e of exchanges) {
    if (e.key !== '' && !e.key.startsWith(keyPrefix)) continue;
    // Bucket-level requests (listings) count for whoever made them: only one system runs at a time.
    const kind = e.key === '' ? 'meta' : keyKind(e.key.slice(keyPrefix.length));
    m.requests++;
    if (isDataKind(kind) && (e.op === 'get' || e.op === 'head')) m.dataRequests++;
    m.receivedBytes += e.receivedBytes;
    m.sentBytes += e.sentBytes;
    m.bytesByKind.set(kind, (m.bytesByKind.get(kind) ?? 0) + e.receivedBytes);
  }
  return m;
}

/** Downloaded bytes of the given kinds. */
export function bytesOf(m: Meter, kinds: readonly string[]): number {
  return kinds.reduce((n, k) => n + (m.bytesByKind.get(k) ?? 0), 0);
}
