// Errors as plain data across a thread, process or machine boundary, and back. A QuiverError
// keeps its code and details; a UDF's own error stays a plain Error (so retries and onError
// still apply to it on the far side).

import { QuiverError, isQuiverError } from '../../../errors.js';
import type { WireError } from './protocol.js';

export function wireError(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const w: WireError = { name: err.name, message: err.message, stack: err.stack };
  if (isQuiverError(e)) {
    w.code = e.code;
    w.details = { ...e.details };
  }
  return w;
}

export function errorFromWire(w: WireError): Error {
  const e = w.code ? new QuiverError(w.code as never, w.message, w.details ?? {}) : new Error(w.message);
  if (!w.code) e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}
