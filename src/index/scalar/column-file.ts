// A scalar index's column of one immutable file, serialized (format QSCL, version 1) into the
// parts container of codec.ts: the kernel's in-memory form as typed parts, each with its own
// CRC-32, so a reader fetches the header and the parts it needs and checks each on its own.
// Invariant: decode returns exactly the ColumnData encode was given, or throws
// "index: corrupt scalar index: ..." — it checks every part's checksum and that the parts agree
// with each other and the header before any value is used.

import { QuiverError } from '../../errors.js';
import { bytesGet, encodePartsContainer, readPartsContainer, type PartsGet, type PartsHeader } from '../codec.js';
import type { ColumnData } from './column-match.js';

export const SCALAR_MAGIC = 'QSCL';
export const SCALAR_VERSION = 1;
const WHAT = 'scalar index';

/** What the header records besides the parts (checked against what the reader expects). */
export interface ScalarFileInfo {
  /** The indexed column's name. */
  column: string;
  kind: ColumnData['kind'];
  /** Positions (rows of the file). */
  rows: number;
}

const utf8 = new TextEncoder();

/** Strings as one UTF-8 blob and u32 end offsets (a string may hold any character, U+0000 too). */
function packStrings(xs: readonly string[]): { ends: Uint32Array; blob: Uint8Array } {
  const pieces = xs.map((s) => utf8.encode(s));
  const ends = new Uint32Array(xs.length);
  let at = 0;
  pieces.forEach((p, i) => void (ends[i] = at += p.length));
  const blob = new Uint8Array(at);
  at = 0;
  for (const p of pieces) {
    blob.set(p, at);
    at += p.length;
  }
  return { ends, blob };
}

function unpackStrings(ends: Uint32Array, blob: Uint8Array): string[] {
  const dec = new TextDecoder('utf-8', { fatal: true });
  const out = new Array<string>(ends.length);
  let at = 0;
  for (let i = 0; i < ends.length; i++) {
    if (ends[i] < at || ends[i] > blob.length) throw corrupt(`dictionary offset ${i} is out of order`);
    out[i] = dec.decode(blob.subarray(at, ends[i]));
    at = ends[i];
  }
  return out;
}

const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt ${WHAT}: ${why}`);

/**
 * The file's bytes, as pieces (concatenate or write them in order). `rowIds` is the last part,
 * so a reader that knows them (a dense fragment) stops before it.
 */
export function encodeScalarFile(column: string, col: ColumnData): Uint8Array[] {
  const parts: Record<string, ArrayBufferView> = {};
  let dict: Record<string, unknown> = {};
  if (col.kind === 'number') Object.assign(parts, { valid: col.valid, order: col.order, sorted: col.sorted });
  else {
    Object.assign(parts, col.kind === 'list' ? { valid: col.valid, offsets: col.offsets, codes: col.codes } : { codes: col.codes });
    const strings = col.dict.length === 0 || typeof col.dict[0] === 'string';
    if (strings) {
      const { ends, blob } = packStrings(col.dict as string[]);
      Object.assign(parts, { dictEnds: ends, dictText: blob });
    } else parts.dictNumbers = Float64Array.from(col.dict as number[]);
    dict = { dict: strings ? 'text' : 'number', dictSize: col.dict.length };
  }
  parts.rowIds = col.rowIds;
  return encodePartsContainer(SCALAR_MAGIC, SCALAR_VERSION, { kind: col.kind, column, rows: col.rowIds.length, ...dict }, parts);
}

/**
 * Reads a scalar file by range through `get` and checks it against `expect`. Without `rowIds`
 * (a fragment whose row ids are dense, so the caller knows them) that part is not fetched.
 */
export async function readScalarFile(get: PartsGet, expect: ScalarFileInfo, rowIds?: BigInt64Array): Promise<ColumnData> {
  const file = await readPartsContainer(get, SCALAR_MAGIC, [SCALAR_VERSION], WHAT, (name) => !(rowIds && name === 'rowIds'));
  return columnOf(file, file.got, expect, rowIds);
}

/** Decodes a whole scalar file held in memory (verify). */
export async function decodeScalarFile(bytes: Uint8Array, expect?: Partial<ScalarFileInfo>): Promise<ColumnData> {
  const file = await readPartsContainer(bytesGet(bytes), SCALAR_MAGIC, [SCALAR_VERSION], WHAT);
  if (file.totalBytes !== bytes.length) throw corrupt(`length ${bytes.length} differs from recorded ${file.totalBytes}`);
  return columnOf(file, file.got, expect ?? {});
}

function columnOf(file: PartsHeader, got: Map<string, Uint8Array>, expect: Partial<ScalarFileInfo>, knownRowIds?: BigInt64Array): ColumnData {
  const h = file.header as { kind: string; column: string; rows: number; dict?: string; dictSize?: number };
  for (const k of ['column', 'kind', 'rows'] as const) {
    if (expect[k] !== undefined && h[k] !== expect[k]) throw corrupt(`its ${k} is ${JSON.stringify(h[k])}, expected ${JSON.stringify(expect[k])}`);
  }
  const n = h.rows;
  if (!Number.isInteger(n) || n < 0) throw corrupt(`row count ${n}`);
  const part = (name: string, width: number, count: number): Uint8Array => {
    const b = got.get(name);
    if (!b) throw corrupt(`part "${name}" is missing`);
    if (b.byteLength !== width * count) throw corrupt(`part "${name}" holds ${b.byteLength} bytes, expected ${width * count}`);
    return b;
  };
  const rowIds = knownRowIds ?? new BigInt64Array(part('rowIds', 8, n).buffer, 0, n);
  if (rowIds.length !== n) throw corrupt(`${rowIds.length} row ids for ${n} rows`);
  if (h.kind === 'number') {
    const valid = part('valid', 1, n);
    let present = 0;
    for (let r = 0; r < n; r++) present += valid[r] ? 1 : 0;
    const order = new Int32Array(part('order', 4, present).buffer, 0, present);
    const sorted = new Float64Array(part('sorted', 8, present).buffer, 0, present);
    for (let i = 0; i < present; i++) if (order[i] < 0 || order[i] >= n || !valid[order[i]]) throw corrupt(`order entry ${i} is not a present position`);
    return { kind: 'number', rowIds, valid, order, sorted, bytes: rowIds.byteLength + valid.byteLength + order.byteLength + sorted.byteLength };
  }
  if (h.kind !== 'string' && h.kind !== 'list') throw corrupt(`unknown kind ${JSON.stringify(h.kind)}`);
  const size = h.dictSize ?? -1;
  if (!Number.isInteger(size) || size < 0) throw corrupt(`dictionary size ${size}`);
  let dict: (number | string)[];
  if (h.dict === 'number') dict = Array.from(new Float64Array(part('dictNumbers', 8, size).buffer, 0, size));
  else {
    const text = got.get('dictText');
    if (!text) throw corrupt('part "dictText" is missing');
    dict = unpackStrings(new Uint32Array(part('dictEnds', 4, size).buffer, 0, size), text);
  }
  const codesIn = (codes: Int32Array) => {
    for (let i = 0; i < codes.length; i++) if (codes[i] < -1 || codes[i] >= size) throw corrupt(`code ${codes[i]} at ${i} is outside the dictionary`);
    return codes;
  };
  const dictBytes = dict.reduce<number>((s, d) => s + (typeof d === 'string' ? 40 + d.length * 2 : 16), 0);
  if (h.kind === 'string') {
    const codes = codesIn(new Int32Array(part('codes', 4, n).buffer, 0, n));
    return { kind: 'string', rowIds, codes, dict: dict as string[], bytes: rowIds.byteLength + codes.byteLength + dictBytes };
  }
  const valid = part('valid', 1, n);
  const offsets = new Int32Array(part('offsets', 4, n + 1).buffer, 0, n + 1);
  if (offsets[0] !== 0) throw corrupt('list offsets do not start at 0');
  for (let r = 0; r < n; r++) if (offsets[r + 1] < offsets[r]) throw corrupt(`list offsets descend at ${r}`);
  const codes = codesIn(new Int32Array(part('codes', 4, offsets[n]).buffer, 0, offsets[n]));
  return { kind: 'list', rowIds, offsets, codes, dict, valid, bytes: rowIds.byteLength + valid.byteLength + offsets.byteLength + codes.byteLength + dictBytes };
}
