// Whether an endpoint really enforces conditional puts, asked once per (endpoint, bucket) per
// process. Several S3 emulators accept If-None-Match / If-Match and ignore them; committing there
// would silently lose commits, so such a store refuses writes unless the user opts in to
// single-writer mode. The probe writes one key under the store's prefix and removes it.

import { QuiverError } from '../../errors.js';

export interface ProbeResult {
  /** Put-if-absent and put-if-match are both refused when they do not hold. */
  enforced: boolean;
  /** Extra facts a store learned (e.g. whether a multipart complete honours conditions). */
  facts: Record<string, boolean>;
}

/** Process-wide: one probe per endpoint and bucket however many stores open them. */
const probes = new Map<string, Promise<ProbeResult>>();

export function probeOnce(id: string, run: () => Promise<ProbeResult>): Promise<ProbeResult> {
  let p = probes.get(id);
  if (!p) {
    p = run();
    probes.set(id, p);
    // A probe that failed (unreachable, bad credentials) says nothing about enforcement: ask again next time.
    p.catch(() => probes.delete(id));
  }
  return p;
}

/** A fresh probe key under `folder`, unique to this process and call. */
export function probeKey(folder: string): string {
  return `${folder}${process.pid}-${Math.random().toString(36).slice(2)}`;
}

export function notEnforcedError(url: string, endpoint: string): QuiverError {
  return new QuiverError(
    'unsupported',
    `storage: ${endpoint} does not enforce conditional puts (If-None-Match/If-Match were ignored), so concurrent commits to ${url} could be lost: use a store that enforces them, or pass storage: { singleWriter: true } if only one process ever writes, endpoint ${endpoint}`,
    { url, endpoint },
  );
}

/**
 * An etag of the same length that differs in every character (keeping quotes). radosgw compares
 * If-Match over the stored etag's length only, so a longer "wrong" etag with the right prefix matches.
 */
export function otherEtag(etag: string): string {
  return etag.replace(/[^"]/g, (c) => (c === '0' ? '1' : '0')) || '0';
}

/** True when the put was refused with `conflict`; other failures (credentials, bucket) propagate. */
export function refused(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => false,
    (e) => {
      if (e instanceof QuiverError && e.code === 'conflict') return true;
      throw e;
    },
  );
}

/**
 * The probe itself, on one fresh key: put-if-absent (accepted), put-if-absent again and
 * put-if-match with a wrong etag (both must be refused). `put` throws QuiverError `conflict` on refusal.
 */
export async function conditionsEnforced(put: (condition: { ifAbsent: true } | { ifMatch: string }) => Promise<{ etag: string }>): Promise<boolean> {
  const first = await put({ ifAbsent: true });
  const absentRefused = await refused(put({ ifAbsent: true }));
  const matchRefused = await refused(put({ ifMatch: otherEtag(first.etag) }));
  return absentRefused && matchRefused;
}
