// Reads single rows back out of Quiver's own Parquet files (writer.ts: PLAIN values, RLE levels,
// data page v1, no compression). A search's last step wants 10–20 rows out of millions; a
// general reader decodes whole row groups for that, this one reads one page per column per row
// and decodes it only up to the rows asked for. Anything outside what the writer produces (a
// dictionary page, a codec, a nesting the writer has no shape for) is an 'unsupported' error,
// and the caller reads through DuckDB instead. Corrupt bytes are a 'corrupt' error.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { QuiverError } from '../../errors.js';
import { ByteSource, ThriftDecodeError, readStruct, type ThriftFields, type ThriftRead } from './thrift-compact.js';
import type { ParquetLeaf } from './writer.js';

/**
 * Positional reads of one file. A read returns a view of a buffer shared by every file, valid
 * until the next read: each function here decodes what it needs from a read before the next,
 * and returns values it owns.
 */
export interface RandomAccess {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}
/** One top-level column: its leaf type and the nesting the writer gives it. */
export interface FooterColumn {
  name: string;
  leaf: ParquetLeaf;
  physical: number;
  nullable: boolean;
  listDepth: 0 | 1 | 2;
  elementNullable: boolean;
  maxDef: number;
  maxRep: number;
}

export interface FooterChunk {
  /** Byte offset of the chunk's first page, and the chunk's size. */
  offset: number;
  size: number;
  codec: number;
  /** min/max statistics of a plain integer column, when written. */
  min?: bigint;
  max?: bigint;
  /** Where the chunk's offset index (its pages' places and first rows) is, when written. */
  offsetIndex?: { offset: number; length: number };
}

export interface FooterRowGroup {
  rows: number;
  /** Position of the group's first row in the file. */
  first: number;
  chunks: FooterChunk[];
}

export interface ParquetFooter {
  rows: number;
  columns: FooterColumn[];
  rowGroups: FooterRowGroup[];
  /** The footer's key/value metadata (a value written without one reads as ""). */
  metadata?: Record<string, string>;
}

const PT = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const REPEATED = 2;
const OPTIONAL = 1;
const CT_LIST = 3;
const PAGE_DATA = 0;
const ENC_PLAIN = 0;
const ENC_RLE = 3;
const ENC_BIT_PACKED = 4;
/** A first read at a page's offset; page headers are a few dozen bytes. */
const HEADER_GUESS = 256;

const corrupt = (what: string, path?: string) => new QuiverError('corrupt', `parquet: ${what}`, path ? { path } : {});
const unsupported = (what: string) => new QuiverError('unsupported', `parquet: ${what}`);

/** The scratch buffer reads land in; reused so a read does not fault in fresh pages (~0.2 ms for 1 MiB). */
let scratch = new Uint8Array(1 << 20);
const SCRATCH_MAX = 64 << 20;

/**
 * The positional reader of a local file. Reads are synchronous: a lookup reads a few pages of
 * files that are local and nearly always in the page cache, where a synchronous read costs
 * microseconds and a thread-pool round trip 50–100 µs (measured: 10 winners, 10 ms → ~1 ms).
 */
export function openFile(path: string): RandomAccess {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return {
    size,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size) throw corrupt(`read of ${length} bytes at ${offset} is outside the file (${size} bytes)`, path);
      if (length > scratch.length) {
        const grown = new Uint8Array(Math.max(length, Math.min(SCRATCH_MAX, scratch.length * 2)));
        if (grown.length <= SCRATCH_MAX) scratch = grown;
        else return readFully(fd, grown, offset, length, path);
      }
      return readFully(fd, scratch, offset, length, path);
    },
    close: () => closeSync(fd),
  };
}

function readFully(fd: number, buf: Uint8Array, offset: number, length: number, path: string): Uint8Array {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw corrupt('file shorter than its footer says', path);
    done += n;
  }
  return buf.subarray(0, length);
}

const num = (v: ThriftRead | undefined, what: string): number => {
  if (typeof v === 'number') return v;
  throw corrupt(`footer field ${what} is missing or out of range`);
};
const fields = (v: ThriftRead | undefined, what: string): ThriftFields => {
  if (v instanceof Map) return v as ThriftFields;
  throw corrupt(`footer field ${what} is missing`);
};
const list = (v: ThriftRead | undefined): ThriftRead[] => (Array.isArray(v) ? v : []);
const text = (v: ThriftRead | undefined): string => (v instanceof Uint8Array ? new TextDecoder().decode(v) : '');

function leafOf(physical: number, converted: number | undefined): ParquetLeaf {
  switch (physical) {
    case PT.BOOLEAN:
      return 'boolean';
    case PT.INT32:
      return ({ 15: 'int8', 16: 'int16', 11: 'uint8', 12: 'uint16', 13: 'uint32' } as Record<number, ParquetLeaf>)[converted ?? -1] ?? 'int32';
    case PT.INT64:
      return converted === 10 ? 'timestamp_us' : converted === 14 ? 'uint64' : 'int64';
    case PT.FLOAT:
      return 'float32';
    case PT.DOUBLE:
      return 'float64';
    case PT.BYTE_ARRAY:
      return converted === 0 ? 'utf8' : converted === 19 ? 'json' : 'binary';
    default:
      throw unsupported(`physical type ${physical}`);
  }
}

/** Decodes a FileMetaData struct (the bytes between the data and the footer length). */
export function decodeFooter(bytes: Uint8Array): ParquetFooter {
  let meta: ThriftFields;
  try {
    meta = readStruct(new ByteSource(bytes));
  } catch (e) {
    if (e instanceof ThriftDecodeError) throw corrupt(`footer: ${e.message}`);
    throw e;
  }
  const schema = list(meta.get(2)).map((e) => fields(e, 'schema element'));
  const columns: FooterColumn[] = [];
  let i = 1;
  const top = num(schema[0]?.get(5), 'root children');
  for (let c = 0; c < top; c++) {
    const el = schema[i];
    if (!el) throw corrupt('schema ends early');
    const name = text(el.get(4));
    const nullable = el.get(3) === OPTIONAL;
    const children = el.get(5);
    if (children === undefined) {
      const physical = num(el.get(1), 'type');
      columns.push({ name, physical, leaf: leafOf(physical, el.get(6) as number | undefined), nullable, listDepth: 0, elementNullable: false, maxDef: nullable ? 1 : 0, maxRep: 0 });
      i += 1;
      continue;
    }
    // list<leaf>: LIST group > repeated group > leaf; list<list<leaf>>: one more LIST group > repeated group.
    const isList = (k: number) => schema[k]?.get(6) === CT_LIST && schema[k]?.get(5) === 1 && schema[k + 1]?.get(3) === REPEATED && schema[k + 1]?.get(5) === 1;
    if (!isList(i)) throw unsupported(`column "${name}" has a nesting the writer does not produce`);
    const inner = schema[i + 2];
    if (inner?.get(5) === undefined) {
      const physical = num(inner?.get(1), 'type');
      const elementNullable = inner.get(3) === OPTIONAL;
      columns.push({ name, physical, leaf: leafOf(physical, inner.get(6) as number | undefined), nullable, listDepth: 1, elementNullable, maxDef: (nullable ? 1 : 0) + 1 + (elementNullable ? 1 : 0), maxRep: 1 });
      i += 3;
    } else if (isList(i + 2) && schema[i + 4]?.get(5) === undefined && schema[i + 4]?.get(3) !== OPTIONAL && inner.get(3) !== OPTIONAL) {
      const physical = num(schema[i + 4].get(1), 'type');
      columns.push({ name, physical, leaf: leafOf(physical, schema[i + 4].get(6) as number | undefined), nullable, listDepth: 2, elementNullable: false, maxDef: (nullable ? 1 : 0) + 2, maxRep: 2 });
      i += 5;
    } else throw unsupported(`column "${name}" has a nesting the writer does not produce`);
  }
  let first = 0;
  const rowGroups = list(meta.get(4)).map((g): FooterRowGroup => {
    const rg = fields(g, 'row group');
    const rows = num(rg.get(3), 'row group rows');
    const chunks = list(rg.get(1)).map((ch): FooterChunk => {
      const cc = fields(ch, 'column chunk');
      const md = fields(cc.get(3), 'column metadata');
      const oiAt = cc.get(4);
      const oiLen = cc.get(5);
      const offsetIndex = typeof oiAt === 'number' && typeof oiLen === 'number' ? { offsetIndex: { offset: oiAt, length: oiLen } } : {};
      const dict = md.get(11);
      const stats = md.get(12) instanceof Map ? (md.get(12) as ThriftFields) : undefined;
      const stat = (v: ThriftRead | undefined) => (v instanceof Uint8Array && v.length === 8 ? new DataView(v.buffer, v.byteOffset, 8).getBigInt64(0, true) : undefined);
      const min = stat(stats?.get(6) ?? stats?.get(2));
      const max = stat(stats?.get(5) ?? stats?.get(1));
      return { offset: typeof dict === 'number' ? dict : num(md.get(9), 'data page offset'), size: num(md.get(7), 'chunk size'), codec: num(md.get(4), 'codec'), ...offsetIndex, ...(min !== undefined && max !== undefined ? { min, max } : {}) };
    });
    if (chunks.length !== columns.length) throw corrupt(`a row group has ${chunks.length} column chunks for ${columns.length} columns`);
    const out = { rows, first, chunks };
    first += rows;
    return out;
  });
  const metadata: Record<string, string> = {};
  for (const e of list(meta.get(5))) {
    const kv = fields(e, 'key/value metadata');
    const v = kv.get(2);
    metadata[text(kv.get(1))] = v === undefined ? '' : text(v);
  }
  return { rows: num(meta.get(3), 'rows'), columns, rowGroups, metadata };
}

/** Reads and decodes a file's footer. */
export function readFooter(file: RandomAccess): ParquetFooter {
  if (file.size < 12) throw corrupt('file too short to be Parquet');
  const tailLen = Math.min(file.size, 64 * 1024);
  let tail = file.read(file.size - tailLen, tailLen);
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const len = dv.getUint32(tail.length - 8, true);
  if (String.fromCharCode(...tail.subarray(tail.length - 4)) !== 'PAR1') throw corrupt('no Parquet magic at the end of the file');
  if (len + 12 > file.size) throw corrupt(`footer length ${len} exceeds the file`);
  if (len + 8 > tail.length) tail = file.read(file.size - 8 - len, len + 8);
  return decodeFooter(tail.subarray(tail.length - 8 - len, tail.length - 8));
}

interface LevelRuns {
  values: Uint8Array;
  counts: Uint32Array;
  length: number;
}

/** `n` levels in the RLE / bit-packed hybrid encoding, as runs of one value: an RLE run is one, a bit-packed value one each. */
function decodeRuns(src: ByteSource, n: number, bitWidth: number): LevelRuns {
  let values = new Uint8Array(64);
  let counts = new Uint32Array(64);
  let length = 0;
  const push = (v: number, c: number) => {
    if (length > 0 && values[length - 1] === v) {
      counts[length - 1] += c;
      return;
    }
    if (length === values.length) {
      const v2 = new Uint8Array(length * 2);
      v2.set(values);
      values = v2;
      const c2 = new Uint32Array(length * 2);
      c2.set(counts);
      counts = c2;
    }
    values[length] = v;
    counts[length++] = c;
  };
  const bytes = (bitWidth + 7) >> 3;
  let k = 0;
  while (k < n) {
    const h = src.uvarint();
    if ((h & 1) === 0) {
      let v = 0;
      for (let b = 0; b < bytes; b++) v |= src.byte() << (8 * b);
      const c = Math.min(n - k, h >>> 1);
      if (c > 0) push(v, c);
      k += c;
    } else {
      const count = (h >>> 1) * 8;
      const packed = src.take((count * bitWidth) >> 3);
      for (let j = 0; j < count && k < n; j++, k++) {
        let v = 0;
        for (let b = 0; b < bitWidth; b++) {
          const bit = j * bitWidth + b;
          v |= ((packed[bit >> 3] >> (bit & 7)) & 1) << b;
        }
        push(v, 1);
      }
    }
  }
  return { values, counts, length };
}

/** Runs as one level per entry. */
function expand(runs: LevelRuns, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < runs.length; k += runs.counts[i++]) out.fill(runs.values[i], k, k + runs.counts[i]);
  return out;
}

/** The level section at `src.pos` of a data page v1 body (a 4-byte length, then `n` levels), as runs; leaves `src` after it. */
function levelSection(body: Uint8Array, src: ByteSource, n: number, max: number): LevelRuns {
  const len = new DataView(body.buffer, body.byteOffset + src.pos, 4).getUint32(0, true);
  src.pos += 4;
  const start = src.pos;
  const runs = decodeRuns(src, n, bitWidth(max));
  src.pos = start + len;
  return runs;
}

const bitWidth = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));

export interface PageHeader {
  /** Bytes of the header itself. */
  headerBytes: number;
  bodyBytes: number;
  values: number;
  /** The CRC-32 of the body as an int32, when the writer recorded one (ours do). */
  crc?: number;
}

export function decodePageHeader(bytes: Uint8Array): PageHeader {
  const src = new ByteSource(bytes);
  const h = readStruct(src);
  const type = h.get(1);
  if (type !== PAGE_DATA) throw unsupported(`page type ${String(type)} (only data pages v1 are read)`);
  const dph = fields(h.get(5), 'data page header');
  if (dph.get(2) !== ENC_PLAIN) throw unsupported(`value encoding ${String(dph.get(2))}`);
  for (const f of [3, 4]) if (dph.get(f) !== ENC_RLE && dph.get(f) !== ENC_BIT_PACKED) throw unsupported(`level encoding ${String(dph.get(f))}`);
  const crc = h.get(4);
  return { headerBytes: src.pos, bodyBytes: num(h.get(3), 'page size'), values: num(dph.get(1), 'page values'), ...(typeof crc === 'number' ? { crc } : {}) };
}

/** Reads the header of the page at `offset` (a second, larger read if the first was short). */
function pageHeaderAt(file: RandomAccess, offset: number, end: number): PageHeader {
  for (const guess of [HEADER_GUESS, 64 * 1024]) {
    const len = Math.min(guess, end - offset);
    try {
      return decodePageHeader(file.read(offset, len));
    } catch (e) {
      if (!(e instanceof ThriftDecodeError)) throw e;
      if (len === end - offset) break;
    }
  }
  throw corrupt(`page header at ${offset} does not decode`);
}

const textDecoder = new TextDecoder();
/** Bytes of a PLAIN value by physical type (byte arrays carry their own length). */
const width: Record<number, number> = { [PT.INT32]: 4, [PT.INT64]: 8, [PT.FLOAT]: 4, [PT.DOUBLE]: 8 };

/** One value at byte `at` of a PLAIN body; returns it and its byte length. */
function plainValue(col: FooterColumn, body: Uint8Array, dv: DataView, at: number, bit: number): [unknown, number] {
  switch (col.physical) {
    case PT.BOOLEAN:
      return [((body[at + (bit >> 3)] >> (bit & 7)) & 1) === 1, 0];
    case PT.INT32:
    case PT.INT64:
    case PT.FLOAT:
    case PT.DOUBLE:
      return [fixedValue(col, dv, at), width[col.physical]];
    default: {
      const len = dv.getUint32(at, true);
      if (at + 4 + len > body.length) throw corrupt('a byte array runs past its page');
      const b = body.subarray(at + 4, at + 4 + len);
      return [col.leaf === 'binary' ? b.slice() : textDecoder.decode(b), 4 + len];
    }
  }
}

/** One PLAIN value of a fixed-width physical type (INT32, INT64, FLOAT, DOUBLE) at byte `at`. */
function fixedValue(col: FooterColumn, dv: DataView, at: number): number | bigint {
  switch (col.physical) {
    case PT.INT32: {
      const v = dv.getInt32(at, true);
      return col.leaf === 'uint32' ? v >>> 0 : v;
    }
    case PT.INT64: {
      const v = dv.getBigInt64(at, true);
      return col.leaf === 'uint64' ? BigInt.asUintN(64, v) : v;
    }
    case PT.FLOAT:
      return dv.getFloat32(at, true);
    default:
      return dv.getFloat64(at, true);
  }
}

/** One page: its byte span (header included) and its first row within the row group. */
export interface PageLocation {
  offset: number;
  size: number;
  firstRow: number;
}

export function pageLocation(f: ThriftFields, chunk: { offset: number; size: number }): PageLocation {
  const [offset, size, firstRow] = [f.get(1), f.get(2), f.get(3)];
  if (typeof offset !== 'number' || typeof size !== 'number' || typeof firstRow !== 'number') throw corrupt('a page location is incomplete');
  if (offset < chunk.offset || offset + size > chunk.offset + chunk.size) throw corrupt(`a page at ${offset} lies outside its column chunk`);
  return { offset, size, firstRow };
}

export function decodeOffsetIndex(bytes: Uint8Array, chunk: { offset: number; size: number }): PageLocation[] {
  let s: ThriftFields;
  try {
    s = readStruct(new ByteSource(bytes));
  } catch (e) {
    if (e instanceof ThriftDecodeError) throw corrupt(`offset index: ${e.message}`);
    throw e;
  }
  const list = s.get(1);
  if (!Array.isArray(list)) throw corrupt('offset index has no page locations');
  const out = list.map((p) => pageLocation(p as ThriftFields, chunk));
  for (let i = 1; i < out.length; i++) if (out[i].firstRow <= out[i - 1].firstRow) throw corrupt('page first rows are not ascending');
  return out;
}

/** Indexes of the pages (or index parts) holding `positions` (ascending), found by binary search on first rows. */
export function pagesOf(pages: readonly { firstRow: number }[], positions: readonly number[]): number[] {
  const out: number[] = [];
  for (const p of positions) {
    let lo = 0;
    let hi = pages.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pages[mid].firstRow <= p) lo = mid;
      else hi = mid - 1;
    }
    if (out[out.length - 1] !== lo) out.push(lo);
  }
  return out;
}

/**
 * The values of rows `positions` (ascending) of one column chunk whose pages are located (its
 * offset index): only the pages holding them are decoded, each given by `pageAt` (header and
 * body) and checked against the CRC-32 its header records. Shared by the local reader and the
 * ranged one, which reads pages without the rest of the file (so no file checksum covers them).
 */
export function decodeLocated(footer: ParquetFooter, column: number, group: number, positions: readonly number[], pages: readonly PageLocation[], pageAt: (p: PageLocation) => Uint8Array): unknown[] {
  const col = footer.columns[column];
  const chunk = footer.rowGroups[group].chunks[column];
  if (chunk.codec !== 0) throw unsupported(`codec ${chunk.codec}`);
  const out = new Array<unknown>(positions.length).fill(null);
  const rows = footer.rowGroups[group].rows;
  let from = 0;
  for (const i of pagesOf(pages, positions)) {
    const page = pageAt(pages[i]);
    const head = headerOf(page, pages[i].offset);
    const body = page.subarray(head.headerBytes, head.headerBytes + head.bodyBytes);
    if (body.length !== head.bodyBytes) throw corrupt(`page at ${pages[i].offset} is shorter than its header says`);
    if (head.crc !== undefined && (crc32(body) | 0) !== head.crc) {
      throw corrupt(`page at ${pages[i].offset}: its crc32 is ${hex(crc32(body))}, the page header recorded ${hex(head.crc)}`);
    }
    decodePage(col, body, head.values, pages[i].firstRow, positions, from, out);
    const end = i + 1 < pages.length ? pages[i + 1].firstRow : rows;
    while (from < positions.length && positions[from] < end) from++;
  }
  if (from < positions.length) throw corrupt(`row ${positions[from]} is past the end of column "${col.name}" in row group ${group}`);
  return out;
}

export const hex = (crc: number) => (crc >>> 0).toString(16).padStart(8, '0');

function headerOf(page: Uint8Array, offset: number): PageHeader {
  try {
    return decodePageHeader(page);
  } catch (e) {
    if (e instanceof ThriftDecodeError) throw corrupt(`page header at ${offset} does not decode`);
    throw e;
  }
}

/** Page locations of chunks read so far, by footer chunk (a caller that keeps a file's footer keeps them). */
const locatedChunks = new WeakMap<FooterChunk, PageLocation[]>();

/** The pages of a chunk written with an offset index, read and decoded once per footer. */
function locatedPages(file: RandomAccess, chunk: FooterChunk): PageLocation[] {
  let pages = locatedChunks.get(chunk);
  if (!pages) {
    const oi = chunk.offsetIndex!;
    pages = decodeOffsetIndex(file.read(oi.offset, oi.length), chunk);
    locatedChunks.set(chunk, pages);
  }
  return pages;
}

/**
 * The values of rows `positions` (ascending, within row group `group`) of column `column`:
 * scalars as numbers, bigints (64-bit), booleans, strings or bytes; lists as arrays; nulls as null.
 */
export function readRows(file: RandomAccess, footer: ParquetFooter, column: number, group: number, positions: readonly number[]): unknown[] {
  const col = footer.columns[column];
  const chunk = footer.rowGroups[group].chunks[column];
  if (chunk.codec !== 0) throw unsupported(`codec ${chunk.codec}`);
  // With an offset index only the pages holding the rows are read: walking the chunk read each
  // page's header up to the row, and a search's 20 winners read their text pages whole (9.2 MB
  // a query in bench/hybrid's vector + filter, ~2.7 of its 12 ms).
  if (chunk.offsetIndex) return decodeLocated(footer, column, group, positions, locatedPages(file, chunk), (p) => file.read(p.offset, p.size));
  const out = new Array<unknown>(positions.length).fill(null);
  const end = chunk.offset + chunk.size;
  let offset = chunk.offset;
  let row = 0; // the group's row the page starts at
  let next = 0; // index into positions
  while (next < positions.length && offset < end) {
    const head = pageHeaderAt(file, offset, end);
    const bodyAt = offset + head.headerBytes;
    let rows = head.values;
    if (bodyAt + head.bodyBytes >= end) rows = footer.rowGroups[group].rows - row; // the last page holds the rest
    else if (col.maxRep > 0) {
      // Rows start where the repetition level is 0; the levels come first in the body.
      const lenBytes = file.read(bodyAt, 4);
      const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 4).getUint32(0, true);
      const reps = decodeRuns(new ByteSource(file.read(bodyAt + 4, len)), head.values, bitWidth(col.maxRep));
      rows = 0;
      for (let i = 0; i < reps.length; i++) if (reps.values[i] === 0) rows += reps.counts[i];
    }
    if (positions[next] < row + rows) {
      const body = file.read(bodyAt, head.bodyBytes);
      decodePage(col, body, head.values, row, positions, next, out);
      while (next < positions.length && positions[next] < row + rows) next++;
    }
    row += rows;
    offset = bodyAt + head.bodyBytes;
  }
  if (next < positions.length) throw corrupt(`row ${positions[next]} is past the end of column "${col.name}" in row group ${group}`);
  return out;
}

/** Fills `out[i]` for each positions[i] (from index `from`) that falls in this page, which starts at row `first`. */
export function decodePage(col: FooterColumn, body: Uint8Array, n: number, first: number, positions: readonly number[], from: number, out: unknown[]): void {
  const src = new ByteSource(body);
  const repRuns = col.maxRep ? levelSection(body, src, n, col.maxRep) : null;
  const defRuns = col.maxDef ? levelSection(body, src, n, col.maxDef) : null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (!repRuns) return decodeScalars(col, body, dv, defRuns && expand(defRuns, n), src.pos, n, first, positions, from, out);
  if (decodeDenseLists(col, dv, repRuns, defRuns, src.pos, n, first, positions, from, out)) return;
  const reps = expand(repRuns, n);
  const defs = defRuns && expand(defRuns, n);
  const top = col.nullable ? 1 : 0;
  let at = src.pos; // next value's byte offset
  let bit = 0; // next boolean's bit, booleans being bit-packed
  let row = first - 1;
  let want = from;
  let cur: unknown[] | null = null; // the list being built for a wanted row
  for (let e = 0; e < n; e++) {
    const rep = reps[e];
    const def = defs ? defs[e] : 0;
    if (rep === 0) {
      row++;
      while (want < positions.length && positions[want] < row) want++;
      if (want >= positions.length) return;
    }
    const wanted = positions[want] === row;
    let value: unknown = null;
    if (def === col.maxDef) {
      if (col.physical === PT.BOOLEAN) {
        if (wanted) value = plainValue(col, body, dv, at, bit)[0];
        bit++;
      } else if (wanted) {
        const [v, len] = plainValue(col, body, dv, at, bit);
        value = v;
        at += len;
      } else at += width[col.physical] ?? 4 + dv.getUint32(at, true);
    }
    if (!wanted) continue;
    if (col.listDepth === 0) {
      out[want] = value;
      continue;
    }
    if (rep === 0) {
      if (def < top) {
        out[want] = null;
        continue;
      }
      cur = [];
      out[want] = cur;
      if (def === top) continue; // an empty list
    }
    if (col.listDepth === 1) cur!.push(def === col.maxDef ? value : null);
    else if (rep < 2) cur!.push(def === top + 1 ? [] : [value]);
    else (cur![cur!.length - 1] as unknown[]).push(value);
  }
}

/**
 * decodePage for a page of a one-level list column whose every entry is a present value of a
 * fixed width (a vector column: no null list, no empty list, no null element). A row's values
 * are found from the repetition runs alone and read straight from the body: no level is expanded
 * and no value is boxed (a re-rank reads a few 768-d rows from each 8 KiB page; expanding and
 * walking every entry, a tuple per value, was ~10 % of a warm hybrid query's CPU samples).
 * Returns false, having written nothing, when the page has another shape.
 */
function decodeDenseLists(col: FooterColumn, dv: DataView, reps: LevelRuns, defs: LevelRuns | null, valuesAt: number, n: number, first: number, positions: readonly number[], from: number, out: unknown[]): boolean {
  const w = width[col.physical];
  if (col.listDepth !== 1 || w === undefined || n === 0) return false;
  if (defs && (defs.length !== 1 || defs.values[0] !== col.maxDef)) return false;
  // The entry each of the page's rows starts at: a repetition level of 0 starts a row.
  const starts: number[] = [];
  for (let i = 0, e = 0; i < reps.length; e += reps.counts[i++]) {
    if (reps.values[i] === 0) for (let k = 0; k < reps.counts[i]; k++) starts.push(e + k);
  }
  if (starts[0] !== 0) throw corrupt(`a page of column "${col.name}" starts inside a list`);
  if (valuesAt + n * w > dv.byteLength) throw corrupt(`a page of column "${col.name}" is shorter than its ${n} values`);
  starts.push(n);
  for (let i = from; i < positions.length; i++) {
    const local = positions[i] - first;
    if (local >= starts.length - 1) break;
    const s = starts[local];
    const v = new Array<number | bigint>(starts[local + 1] - s);
    for (let k = 0, at = valuesAt + s * w; k < v.length; k++, at += w) v[k] = fixedValue(col, dv, at);
    out[i] = v;
  }
  return true;
}

/**
 * decodePage for a column without lists (an entry is a row): fixed-width values are found by
 * counting present entries, byte arrays by walking their lengths, each in a tight loop.
 */
function decodeScalars(col: FooterColumn, body: Uint8Array, dv: DataView, defs: Uint8Array | null, valuesAt: number, n: number, first: number, positions: readonly number[], from: number, out: unknown[]): void {
  const w = width[col.physical];
  const bytes = col.physical === PT.BYTE_ARRAY;
  let e = 0; // entries before `e` are accounted for in `vi` and `at`
  let vi = 0;
  let at = valuesAt;
  for (let i = from; i < positions.length; i++) {
    const local = positions[i] - first;
    if (local >= n) return;
    if (defs) {
      for (; e < local; e++) {
        if (defs[e] !== col.maxDef) continue;
        vi++;
        if (bytes) at += 4 + dv.getUint32(at, true);
      }
    } else if (bytes) for (; e < local; e++) at += 4 + dv.getUint32(at, true);
    else {
      vi += local - e;
      e = local;
    }
    if (defs && defs[local] !== col.maxDef) {
      out[i] = null;
      continue;
    }
    out[i] = plainValue(col, body, dv, bytes ? at : valuesAt + vi * (w ?? 0), vi)[0];
  }
}

/** FNV-1a of `len` bytes at body[at] (seeded with the length): how byte-array values are matched undecoded. */
export function bytesHash(body: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5 ^ len;
  for (let i = at; i < at + len; i++) h = Math.imul(h ^ body[i], 0x01000193);
  return h >>> 0;
}

/**
 * Calls `visit(row, body, at, len, hash)` for each non-null value of a non-list byte-array column
 * in row group `group` whose bytesHash (`hash`) is in `hashes`, with the value's bytes at body[at, at + len),
 * without decoding any value: a key lookup tests 100k stored strings against 5k keys by hash
 * (decoding each to test it was most of the lookup).
 */
export function visitByteArrays(file: RandomAccess, footer: ParquetFooter, column: number, group: number, hashes: { has(hash: number): boolean }, visit: (row: number, body: Uint8Array, at: number, len: number, hash: number) => void): void {
  const col = footer.columns[column];
  const chunk = footer.rowGroups[group].chunks[column];
  if (chunk.codec !== 0) throw unsupported(`codec ${chunk.codec}`);
  if (col.physical !== PT.BYTE_ARRAY || col.maxRep > 0) throw unsupported(`column "${col.name}" is not a byte-array scalar`);
  const end = chunk.offset + chunk.size;
  let offset = chunk.offset;
  let row = 0;
  while (offset < end) {
    const head = pageHeaderAt(file, offset, end);
    const bodyAt = offset + head.headerBytes;
    const body = file.read(bodyAt, head.bodyBytes);
    const src = new ByteSource(body);
    const n = head.values;
    const defs = col.maxDef ? expand(levelSection(body, src, n, col.maxDef), n) : new Uint8Array(n);
    const top = col.maxDef;
    const size = body.length;
    let at = src.pos;
    for (let e = 0; e < n; e++) {
      if (defs[e] !== top) continue;
      const len = body[at] | (body[at + 1] << 8) | (body[at + 2] << 16) | (body[at + 3] << 24);
      const from = at + 4;
      at = from + len;
      if (len < 0 || at > size) throw corrupt('a byte array runs past its page');
      const h = bytesHash(body, from, len);
      if (hashes.has(h)) visit(row + e, body, from, len, h);
    }
    row += n;
    offset = bodyAt + head.bodyBytes;
  }
}

/** All values of a required, non-list INT64 column in one row group (row ids). */
export function readInt64Column(file: RandomAccess, footer: ParquetFooter, column: number, group: number): BigInt64Array {
  const col = footer.columns[column];
  if (col.physical !== PT.INT64 || col.listDepth !== 0 || col.nullable) throw unsupported(`column "${col.name}" is not a required INT64 column`);
  const chunk = footer.rowGroups[group].chunks[column];
  if (chunk.codec !== 0) throw unsupported(`codec ${chunk.codec}`);
  const out = new BigInt64Array(footer.rowGroups[group].rows);
  const end = chunk.offset + chunk.size;
  let offset = chunk.offset;
  let k = 0;
  while (k < out.length && offset < end) {
    const head = pageHeaderAt(file, offset, end);
    if (k + head.values > out.length || head.values * 8 > head.bodyBytes) throw corrupt(`column "${col.name}" holds more values than its row group`);
    const body = file.read(offset + head.headerBytes + head.bodyBytes - head.values * 8, head.values * 8);
    out.set(new BigInt64Array(body.slice().buffer), k); // a copy: the view may be unaligned and is reused
    k += head.values;
    offset += head.headerBytes + head.bodyBytes;
  }
  if (k !== out.length) throw corrupt(`column "${col.name}" holds ${k} of ${out.length} values`);
  return out;
}

/**
 * The vectors of a float list column (an embedding: list<float>; a list of embeddings:
 * list<list<float>>) in one row group: how many vectors each row holds (a NULL or empty list
 * none) and their values in order, written into `into` from `at` (a larger copy when it has no
 * room; the buffer written is returned with the end of its values). Every vector must have
 * `dim` values.
 */
export function readVectorColumn(file: RandomAccess, footer: ParquetFooter, column: number, group: number, dim: number, into?: Float32Array, at = 0): { counts: Uint32Array; data: Float32Array; end: number } {
  const col = footer.columns[column];
  if (col.physical !== PT.FLOAT || col.listDepth === 0 || col.elementNullable) throw unsupported(`column "${col.name}" is not a list of required floats`);
  const chunk = footer.rowGroups[group].chunks[column];
  if (chunk.codec !== 0) throw unsupported(`codec ${chunk.codec}`);
  const rows = footer.rowGroups[group].rows;
  const counts = new Uint32Array(rows);
  let data = into ?? new Float32Array(rows * dim);
  let filled = at; // the end of the values in data
  const top = col.nullable ? 1 : 0;
  const end = chunk.offset + chunk.size;
  let offset = chunk.offset;
  let row = -1;
  let len = -1; // floats in the vector being read; -1: none open
  const close = () => {
    if (len >= 0 && len !== dim) throw corrupt(`column "${col.name}" has a vector of ${len} values, expected ${dim}`);
    len = -1;
  };
  while (offset < end) {
    const head = pageHeaderAt(file, offset, end);
    const body = file.read(offset + head.headerBytes, head.bodyBytes);
    const src = new ByteSource(body);
    const reps = levelSection(body, src, head.values, col.maxRep);
    const defs = levelSection(body, src, head.values, col.maxDef);
    let present = 0;
    for (let i = 0; i < defs.length; i++) if (defs.values[i] === col.maxDef) present += defs.counts[i];
    if (src.pos + present * 4 > body.length) throw corrupt(`column "${col.name}" has fewer values than its levels say`);
    if (filled + present > data.length) {
      const grown = new Float32Array(Math.max(filled + present, data.length * 2));
      grown.set(data.subarray(0, filled));
      data = grown;
    }
    // The values are every vector's floats in order: one byte copy (the page's values need not be 4-byte aligned).
    new Uint8Array(data.buffer, data.byteOffset + filled * 4, present * 4).set(body.subarray(src.pos, src.pos + present * 4));
    filled += present;
    // Walk both level run lists together, a stretch of entries with one (rep, def) at a time:
    // a vector's 768 entries are two stretches, not 768 steps.
    let ri = 0;
    let di = 0;
    let rLeft = reps.counts[0] ?? 0;
    let dLeft = defs.counts[0] ?? 0;
    for (let e = 0; e < head.values; ) {
      const rep = reps.values[ri];
      const def = defs.values[di];
      const c = Math.min(rLeft, dLeft);
      if (c <= 0) throw corrupt(`column "${col.name}" has fewer levels than values`);
      if (rep === 0 || (col.listDepth === 2 && rep === 1)) {
        // Each entry starts a row (rep 0) or an inner list (rep 1 of a list of lists).
        for (let j = 0; j < c; j++) {
          close();
          if (rep === 0 && ++row >= rows) throw corrupt(`column "${col.name}" holds more rows than its row group`);
          if (def < top + 1) continue; // a NULL row or an empty list
          counts[row]++;
          len = def === col.maxDef ? 1 : 0; // 0: an empty inner list, which fails the length check
        }
      } else if (def === col.maxDef) len += c;
      e += c;
      if ((rLeft -= c) === 0 && ++ri < reps.length) rLeft = reps.counts[ri];
      if ((dLeft -= c) === 0 && ++di < defs.length) dLeft = defs.counts[di];
    }
    offset += head.headerBytes + head.bodyBytes;
  }
  close();
  if (row + 1 !== rows) throw corrupt(`column "${col.name}" holds ${row + 1} of ${rows} rows`);
  return { counts, data, end: filled };
}
