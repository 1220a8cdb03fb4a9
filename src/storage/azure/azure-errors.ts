// Turns @azure/storage-blob failures into QuiverErrors that name the URL and what to fix, and
// tells the request runner which failures are transient (throttling, 5xx, network, timeouts).

import { QuiverError } from '../../errors.js';
import { isNetworkError, type FailureKind } from '../remote/request-runner.js';
import { transportError } from '../remote/transport-error.js';

interface RestLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
}

export function classifyAzure(e: unknown): FailureKind {
  const s = (e as RestLike)?.statusCode;
  if (s === 429 || s === 408 || (s !== undefined && s >= 500)) return 'transient';
  if (s === undefined && isNetworkError(e)) return 'transient';
  return 'final';
}

export interface AzureWhere {
  url: string;
  endpoint: string;
  container: string;
}

export function azureError(w: AzureWhere, op: string, key: string, e: unknown): QuiverError {
  if (e instanceof QuiverError) return e;
  const { statusCode: s, code } = (e ?? {}) as RestLike;
  const details = { url: w.url, endpoint: w.endpoint, key, op };
  const opts = { cause: e };
  if (code === 'ContainerNotFound') {
    return new QuiverError('invalid_input', `storage: container "${w.container}" does not exist at ${w.endpoint}: create it, or fix the container in ${w.url}`, { ...details, reason: 'no_bucket' }, opts);
  }
  if (code === 'BlobNotFound' || s === 404) return new QuiverError('not_found', `storage: no object "${key}" in ${w.url}`, details, opts);
  if (code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || s === 412 || s === 409) {
    return new QuiverError('conflict', `storage: "${key}" changed since it was read (${w.url})`, details, opts);
  }
  if (s === 403 || code === 'AuthenticationFailed' || code === 'AuthorizationFailure') {
    return new QuiverError('invalid_input', `storage: ${w.endpoint} refused the credentials for ${w.url} (${code ?? s}): check the connection string, account key or SAS token`, { ...details, reason: 'credentials' }, opts);
  }
  const transport = s === undefined ? transportError(w.url, w.endpoint, op, key, e) : null;
  if (transport) return transport;
  return new QuiverError('io', `storage: ${op} "${key}" failed at ${w.endpoint} (${w.url}): ${code ?? s ?? ''} ${(e as Error)?.message ?? ''}`.trim(), details, opts);
}
