// JSON-safe copies of query results, for handing rows to `JSON.stringify` (an HTTP response, a
// log line). Invariant: the output holds only null, booleans, finite numbers, strings, arrays
// and plain objects, so `JSON.parse(JSON.stringify(x))` gives back exactly `x`.

/**
 * A JSON-safe copy of one value as `query` returns it:
 * - `bigint` (BIGINT columns, `row_id`, `count(*)`) → a number when it is a safe integer
 *   (|v| ≤ 2^53 − 1), else its decimal string;
 * - `Float32Array` and other typed number arrays (embeddings) → arrays of numbers (a float32's
 *   exact value as a double, e.g. 0.1 → 0.10000000149011612);
 * - `Uint8Array` (images, BLOBs) → a base64 string;
 * - `Date` (timestamps) → an ISO 8601 string;
 * - `NaN`, `Infinity`, `-Infinity` → the strings `'NaN'`, `'Infinity'`, `'-Infinity'`;
 * - arrays (lists) and objects (structs, maps) → converted element by element.
 */
export function toJsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, toJsonValue);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x)]));
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toJsonValue(x)]));
}

/**
 * JSON-safe copies of rows from `ds.query` (or a pipeline's `rel.rows()`), value by value as
 * `toJsonValue` converts them.
 *
 * @example
 * const rows = await ds.query('select row_id, prompt, prompt_emb, count(*) over () as n from dataset limit 10');
 * res.end(JSON.stringify(quiver.toJsonRows(rows))); // bigint and Float32Array would throw or mangle
 */
export function toJsonRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => toJsonValue(r) as Record<string, unknown>);
}
