// The one table from an error code to an HTTP status. Every route answers a QuiverError with
// this status and `{ error: { code, message, details } }`; anything else is a 500 whose
// message is not shown (it is a bug, not a condition the caller can handle).

import { isQuiverError, type ErrorCode } from '../errors.js';
import { toWire } from './wire.js';

export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_input: 400,
  schema_mismatch: 400,
  invalid_sql: 400,
  not_found: 404,
  already_exists: 409,
  read_only: 409,
  conflict: 409,
  corrupt: 500,
  io: 502,
  udf_failed: 500,
  closed: 503,
  forbidden: 403,
  // Not 408: clients and proxies may resend a request on 408, and a query that ran too long would run again.
  timeout: 504,
  unsupported: 501,
  unauthorized: 401,
  too_many_requests: 429,
  too_large: 413,
};

export interface ErrorBody {
  error: { code: ErrorCode | 'internal'; message: string; details?: Record<string, unknown> };
}

/** The status and JSON body that answer `e`. */
export function errorResponse(e: unknown): { status: number; body: ErrorBody } {
  // Details may hold bigints (row ids): in wire form, so the body is always JSON.
  if (isQuiverError(e)) return { status: STATUS_OF[e.code], body: { error: { code: e.code, message: e.message, details: toWire(e.details) as Record<string, unknown> } } };
  return { status: 500, body: { error: { code: 'internal', message: 'server: internal error' } } };
}
