// The two failures every remote store shares before any HTTP status exists: the endpoint did not
// answer in time, or could not be reached at all. One wording so S3 and Azure say the same.

import { QuiverError } from '../../errors.js';
import { isNetworkError, isTimeout } from './request-runner.js';

/** The QuiverError for a failure with no HTTP answer, or null when `e` had one. */
export function transportError(url: string, endpoint: string, op: string, key: string, e: unknown): QuiverError | null {
  const details = { url, endpoint, key, op };
  if (isTimeout(e)) {
    return new QuiverError('io', `storage: ${op} "${key}" timed out at ${endpoint} (${url}): check the endpoint, or raise storage.requestTimeoutMs`, { ...details, reason: 'timeout' }, { cause: e });
  }
  if (isNetworkError(e)) {
    return new QuiverError('io', `storage: cannot reach ${endpoint} for ${url}: check the endpoint and that the server runs (${(e as Error).message})`, { ...details, reason: 'unreachable' }, { cause: e });
  }
  return null;
}
