// The one error type of Quiver: every failure a caller can handle is a QuiverError with a
// stable `code`. Bugs are not conditions: invariants use `assert` and are never caught.

/** Every code a QuiverError can carry. Stable: the HTTP server and CLI map them in one table each. */
export type ErrorCode =
  | 'invalid_input' // a value, option or record does not fit what was asked
  | 'schema_mismatch' // a record or batch does not fit the schema
  | 'invalid_sql' // DuckDB refused the SQL
  | 'not_found' // a dataset, version, branch, tag, key or column that does not exist
  | 'already_exists' // create over an existing dataset, a branch or tag name taken
  | 'read_only' // a write on a dataset opened at a fixed version
  | 'conflict' // an optimistic commit lost a race it could not rebase, or a merge conflict
  | 'corrupt' // a checksum, length or structure check failed on read
  | 'io' // the object store failed
  | 'udf_failed' // a pipeline stage's function threw or returned the wrong shape
  | 'closed' // use after close
  | 'forbidden' // the caller's scope (token, tenant, sandbox) does not allow this read, write or SQL
  | 'timeout' // a statement ran past its time bound and was interrupted
  | 'unauthorized' // no credentials, or a token that is forged, expired or revoked
  | 'too_many_requests' // a per-token concurrency bound is reached; retry later
  | 'too_large' // a request body (or result) over its byte bound
  | 'unsupported'; // a feature the chosen configuration does not have

export class QuiverError extends Error {
  readonly code: ErrorCode;
  /** Structured fields (row, column, key, …) so callers need not parse the message. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuiverError';
    this.code = code;
    this.details = details;
  }
}

/** Invariant check. Failing means a bug in Quiver, never bad input: never catch it. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function isQuiverError(e: unknown, code?: ErrorCode): e is QuiverError {
  return e instanceof QuiverError && (code === undefined || e.code === code);
}
