// The scalar index kernel: one immutable small-column file's column held in memory, and the
// evaluation of one resolved comparison over it into a bitmap of live ordinals. It knows nothing
// of SQL: the query layer (query/search/scalar-index.ts) turns WHERE conjuncts into the
// predicates this evaluates. Numbers (timestamps in microseconds) are kept as their positions in
// value order, so a comparison is a binary search and a walk over the matches; text is
// dictionary-encoded, lists are offsets into dictionary codes (one lookup per row).

export type ScalarOp = '=' | '<' | '<=' | '>' | '>=' | 'in' | 'contains' | 'null';

/** A comparison with literal values, as the kernel evaluates it. */
export interface MatchPredicate {
  op: ScalarOp;
  /** One value, the list of `in`, none for `null`. */
  values: (number | string)[];
  /** NOT of the predicate: rows where it is false, never rows where it is NULL. */
  negate?: boolean;
}

/** One file's column, in file order, with each position's row id. */
export type ColumnData =
  /** Non-null positions in value order (`order`) with their values (`sorted`, NaN last). */
  | { kind: 'number'; rowIds: BigInt64Array; valid: Uint8Array; order: Int32Array; sorted: Float64Array; bytes: number }
  | { kind: 'string'; rowIds: BigInt64Array; codes: Int32Array; dict: string[]; bytes: number }
  /** Row r's elements are codes[offsets[r] .. offsets[r+1]); a null list has valid[r] = 0; a null element code -1. */
  | { kind: 'list'; rowIds: BigInt64Array; offsets: Int32Array; codes: Int32Array; dict: (number | string)[]; valid: Uint8Array; bytes: number };

/** DuckDB's string order is UTF-8 byte order, which is code point order (JS `<` compares UTF-16 units). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function compare(a: number | string, b: number | string): number {
  return typeof a === 'string' ? compareText(a, b as string) : a - (b as number);
}

/** Whether a present value satisfies the (positive) comparison. */
function test(op: ScalarOp, x: number | string, values: readonly (number | string)[], set: Set<number | string> | null): boolean {
  switch (op) {
    case '=':
      return compare(x, values[0]) === 0;
    case '<':
      return compare(x, values[0]) < 0;
    case '<=':
      return compare(x, values[0]) <= 0;
    case '>':
      return compare(x, values[0]) > 0;
    case '>=':
      return compare(x, values[0]) >= 0;
    case 'in':
      return set!.has(x);
    default:
      return false;
  }
}

/**
 * Sets, in `words`, the bit `ordinals[r]` of every position r of the file whose row satisfies
 * `p` (positions whose ordinal is -1 are skipped). SQL semantics: NULL is not a match, and NOT
 * of a NULL comparison is not a match either. Numbers cost O(log n + matches) through the
 * value order; text and lists one dictionary lookup per row.
 */
export function matchInto(col: ColumnData, p: MatchPredicate, ordinals: Int32Array, words: Uint32Array): void {
  const set = (r: number) => {
    const o = ordinals[r];
    if (o >= 0) words[o >>> 5] |= 1 << (o & 31);
  };
  if (col.kind === 'number') {
    const { order, sorted } = col;
    if (p.op === 'null') {
      if (p.negate) for (let i = 0; i < order.length; i++) set(order[i]);
      else for (let r = 0; r < col.valid.length; r++) if (!col.valid[r]) set(r);
      return;
    }
    for (const [from, to] of numberRanges(sorted, p)) for (let i = from; i < to; i++) set(order[i]);
    return;
  }
  const neg = p.negate ? 1 : 0;
  const n = col.rowIds.length;
  if (p.op === 'null') {
    if (col.kind === 'string') for (let r = 0; r < n; r++) (col.codes[r] < 0 ? 1 : 0) ^ neg && set(r);
    else for (let r = 0; r < n; r++) (col.valid[r] ? 0 : 1) ^ neg && set(r);
    return;
  }
  // Dictionary columns: decide once per distinct value, then look codes up.
  const hit = new Uint8Array(col.dict.length);
  if (p.op === 'contains') col.dict.forEach((d, i) => void (hit[i] = d === p.values[0] ? 1 : 0));
  else {
    const inSet = p.op === 'in' ? new Set(p.values) : null;
    col.dict.forEach((d, i) => void (hit[i] = test(p.op, d, p.values, inSet) ? 1 : 0));
  }
  if (col.kind === 'string') {
    const { codes } = col;
    for (let r = 0; r < n; r++) if (codes[r] >= 0 && hit[codes[r]] ^ neg) set(r);
    return;
  }
  if (p.op !== 'contains') return; // comparisons of a whole list are not indexed
  const { offsets, codes, valid } = col;
  for (let r = 0; r < n; r++) {
    if (!valid[r]) continue;
    let any = 0;
    for (let e = offsets[r]; e < offsets[r + 1] && !any; e++) if (codes[e] >= 0) any = hit[codes[e]];
    if (any ^ neg) set(r);
  }
}

/** First index whose value is >= v (strict: > v). NaN sorts last and exceeds every value, as in DuckDB. */
function bound(sorted: Float64Array, v: number, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid];
    if (x < v || (strict && x === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The ranges of the value order that satisfy `p` (complemented for NOT). */
function numberRanges(sorted: Float64Array, p: MatchPredicate): [number, number][] {
  const n = sorted.length;
  const v = p.values[0] as number;
  let ranges: [number, number][];
  switch (p.op) {
    case '=':
      ranges = [[bound(sorted, v, false), bound(sorted, v, true)]];
      break;
    case '<':
      ranges = [[0, bound(sorted, v, false)]];
      break;
    case '<=':
      ranges = [[0, bound(sorted, v, true)]];
      break;
    case '>':
      ranges = [[bound(sorted, v, true), n]];
      break;
    case '>=':
      ranges = [[bound(sorted, v, false), n]];
      break;
    case 'in':
      ranges = [...new Set(p.values as number[])].sort((a, b) => a - b).map((x) => [bound(sorted, x, false), bound(sorted, x, true)] as [number, number]);
      break;
    default:
      ranges = [];
  }
  if (!p.negate) return ranges;
  const out: [number, number][] = [];
  let at = 0;
  for (const [from, to] of ranges) {
    if (from > at) out.push([at, from]);
    at = Math.max(at, to);
  }
  if (at < n) out.push([at, n]);
  return out;
}

/** A number column: the non-null positions in value order (NaN last), with their values. */
export function numberColumn(rowIds: BigInt64Array, values: Float64Array, valid: Uint8Array): ColumnData {
  const positions: number[] = [];
  for (let r = 0; r < values.length; r++) if (valid[r]) positions.push(r);
  const key = (r: number) => (Number.isNaN(values[r]) ? Infinity : values[r]);
  positions.sort((a, b) => key(a) - key(b) || (Number.isNaN(values[a]) ? 1 : 0) - (Number.isNaN(values[b]) ? 1 : 0) || a - b);
  const order = Int32Array.from(positions);
  const sorted = Float64Array.from(positions, (r) => values[r]);
  return { kind: 'number', rowIds, valid, order, sorted, bytes: rowIds.byteLength + valid.byteLength + order.byteLength + sorted.byteLength };
}

/** Dictionary-encodes values (null → -1). */
export function encode<T extends number | string>(values: readonly (T | null)[]): { codes: Int32Array; dict: T[] } {
  const codes = new Int32Array(values.length);
  const dict: T[] = [];
  const ids = new Map<T, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    let c = ids.get(v);
    if (c === undefined) {
      c = dict.length;
      dict.push(v);
      ids.set(v, c);
    }
    codes[i] = c;
  }
  return { codes, dict };
}
