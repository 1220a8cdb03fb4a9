// The request timeline of one cold run of bench/objstore.ts: per kind of object (the ref, the
// marker, commits, manifests, each column's files, index files), how many requests, and when the
// first began and the last ended, in ms from the start of the open. Which steps wait on which
// shows as kinds that start only when another ends. Invariant: a pure function of the exchanges.

import type { Exchange } from './counting-proxy.js';
import { keyKind } from './s3-meter.js';

export interface TimelineRow {
  kind: string;
  requests: number;
  startMs: number;
  endMs: number;
  receivedBytes: number;
  /** Most of the kind's requests open at the proxy at once: at the store's in-flight bound, the bound is the limit. */
  peakInFlight: number;
  /** Time with at least one of the kind's requests open: far below end − start, the client (not the server) is what the kind waits on. */
  busyMs: number;
}

/** A metadata key's kind by its folder (`meta/commits`, `refs/heads`, `_versions`…); data keys by keyKind. */
function kindOf(key: string): string {
  const k = keyKind(key);
  if (k !== 'meta') return k;
  const parts = key.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.length === 2 ? parts[0]! : key;
}

/** The exchanges under `prefix`, grouped by kind, in the order their first request began. */
export function timeline(exchanges: readonly Exchange[], prefix: string, originMs: number): TimelineRow[] {
  const rows = new Map<string, TimelineRow>();
  const spans = new Map<string, [number, number][]>();
  for (const e of exchanges) {
    if (!e.key.startsWith(prefix)) continue;
    const kind = kindOf(e.key.slice(prefix.length));
    const r = rows.get(kind) ?? { kind, requests: 0, startMs: Infinity, endMs: -Infinity, receivedBytes: 0, peakInFlight: 0, busyMs: 0 };
    r.requests++;
    r.startMs = Math.min(r.startMs, e.startMs - originMs);
    r.endMs = Math.max(r.endMs, e.endMs - originMs);
    r.receivedBytes += e.receivedBytes;
    rows.set(kind, r);
    spans.set(kind, [...(spans.get(kind) ?? []), [e.startMs, e.endMs]]);
  }
  for (const [kind, s] of spans) Object.assign(rows.get(kind)!, overlapOf(s));
  return [...rows.values()].sort((a, b) => a.startMs - b.startMs);
}

/** The most intervals open at once and the time covered by at least one (a sweep over their ends). */
function overlapOf(spans: readonly [number, number][]): { peakInFlight: number; busyMs: number } {
  const edges = spans.flatMap(([a, b]): [number, number][] => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peakInFlight = 0;
  let busyMs = 0;
  let since = 0;
  for (const [t, d] of edges) {
    if (open > 0) busyMs += t - since;
    since = t;
    open += d;
    peakInFlight = Math.max(peakInFlight, open);
  }
  return { peakInFlight, busyMs };
}
