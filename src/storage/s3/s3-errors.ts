// Turns AWS SDK failures into QuiverErrors that name the URL and what to fix, and tells the
// request runner which failures are transient (throttling, 5xx, network, timeouts).

import { QuiverError } from '../../errors.js';
import { isNetworkError, type FailureKind } from '../remote/request-runner.js';
import { transportError } from '../remote/transport-error.js';

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestTimeout', 'InternalError', 'ServiceUnavailable']);

function status(e: unknown): number | undefined {
  return (e as SdkError)?.$metadata?.httpStatusCode;
}

export function classifyS3(e: unknown): FailureKind {
  const s = status(e);
  const name = (e as SdkError)?.name ?? '';
  if (THROTTLED.has(name) || s === 429 || (s !== undefined && s >= 500)) return 'transient';
  if (s === undefined && isNetworkError(e)) return 'transient';
  return 'final';
}

export interface S3Where {
  url: string;
  endpoint: string;
  bucket: string;
}

/** The QuiverError for a failed S3 request; `op` and `key` say what was asked. */
export function s3Error(w: S3Where, op: string, key: string, e: unknown): QuiverError {
  if (e instanceof QuiverError) return e;
  const s = status(e);
  const name = (e as SdkError)?.name ?? '';
  const details = { url: w.url, endpoint: w.endpoint, key, op };
  const opts = { cause: e };
  if (name === 'NoSuchBucket') {
    return new QuiverError('invalid_input', `storage: bucket "${w.bucket}" does not exist at ${w.endpoint}: create it, or fix the bucket in ${w.url}`, { ...details, reason: 'no_bucket' }, opts);
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || s === 404) {
    return new QuiverError('not_found', `storage: no object "${key}" in ${w.url}`, details, opts);
  }
  if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || s === 412 || s === 409) {
    return new QuiverError('conflict', `storage: "${key}" changed since it was read (${w.url})`, details, opts);
  }
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'].includes(name) || s === 403) {
    return new QuiverError('invalid_input', `storage: ${w.endpoint} refused the credentials for ${w.url} (${name || s}): check the access key and secret, or the AWS credential chain`, { ...details, reason: 'credentials' }, opts);
  }
  if (name === 'CredentialsProviderError') {
    return new QuiverError('invalid_input', `storage: no AWS credentials found for ${w.url}: set storage.credentials, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile`, { ...details, reason: 'credentials' }, opts);
  }
  const transport = s === undefined ? transportError(w.url, w.endpoint, op, key, e) : null;
  if (transport) return transport;
  return new QuiverError('io', `storage: ${op} "${key}" failed at ${w.endpoint} (${w.url}): ${name || s} ${(e as Error)?.message ?? ''}`.trim(), details, opts);
}
