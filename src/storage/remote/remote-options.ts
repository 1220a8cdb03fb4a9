// Bounds every remote store (S3, Azure) shares, with their defaults. One place so docs/storage.md,
// the S3 store and the Azure store cannot disagree about a default.

export interface RemoteStoreOptions {
  /** Retries of one idempotent request after its first attempt fails transiently. Default 4. */
  retriesMax?: number;
  /** First retry waits up to this long; each further retry doubles it (full jitter). Default 100 ms. */
  retryBaseMs?: number;
  /** No retry waits longer than this. Default 5,000 ms. */
  retryDelayMsMax?: number;
  /** One request (one attempt) is abandoned after this long. Default 30,000 ms. */
  requestTimeoutMs?: number;
  /** Requests one store instance has in flight at once; more wait their turn. Default 16. */
  requestsInFlightMax?: number;
  /** Puts larger than this are uploaded in parts. Default 64 MiB. */
  multipartThresholdBytes?: number;
  /** Size of each uploaded part (S3 needs at least 5 MiB but for the last). Default 16 MiB. */
  partBytes?: number;
  /** Keys asked for per listing request. Default 1,000 (the most S3 and Azure return). */
  listPageKeysMax?: number;
  /**
   * Write even where the endpoint does not enforce conditional puts. Only safe when exactly one
   * process writes the dataset: concurrent commits could then overwrite each other. Default false.
   */
  singleWriter?: boolean;
}

export type ResolvedRemoteOptions = Required<RemoteStoreOptions>;

const MiB = 1024 * 1024;

export function resolveRemoteOptions(o: RemoteStoreOptions = {}): ResolvedRemoteOptions {
  return {
    retriesMax: o.retriesMax ?? 4,
    retryBaseMs: o.retryBaseMs ?? 100,
    retryDelayMsMax: o.retryDelayMsMax ?? 5_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    // 16: raising it bought nothing measurable. bench/objstore.ts --in-flight 16 / 32 / 64, one
    // sitting (2026-12-03 12:51-12:57, load 14.6 → 7.8 → 10.7), cold open → result, median of 3:
    // vector + filter 820 / 1,004 / 1,122 ms, 20 winners + images 1,297 / 1,229 / 1,508 ms;
    // repeated in reverse (13:06-13:10, load 5-8): 804 / 977 / 1,669 and 1,065 / 701 / 854. The
    // cold re-rank's 97 image_emb requests were open at the proxy for 213 of their 878 ms (peak 20):
    // the client's CPU (SDK per request, decoding) paces them, not this bound. (The SDK's own
    // agent caps sockets at 50 in any case.)
    requestsInFlightMax: o.requestsInFlightMax ?? 16,
    multipartThresholdBytes: o.multipartThresholdBytes ?? 64 * MiB,
    partBytes: o.partBytes ?? 16 * MiB,
    listPageKeysMax: o.listPageKeysMax ?? 1_000,
    singleWriter: o.singleWriter ?? false,
  };
}

/** Splits a `scheme://root/prefix` URL into its root (bucket, container) and a key prefix ending in '/' (or ''). */
export function splitRemoteUrl(url: string, scheme: string): { root: string; prefix: string } | null {
  const m = new RegExp(`^${scheme}://([^/]+)(?:/(.*))?$`).exec(url);
  if (!m) return null;
  const path = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { root: m[1]!, prefix: path ? `${path}/` : '' };
}
