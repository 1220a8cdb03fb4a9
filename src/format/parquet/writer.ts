// A Parquet writer for Quiver's own data files: PLAIN encoding, data page v1, no compression.
// Media and vectors are already dense, so PLAIN lets blobs and float lists be written with
// little more than a copy (blobs are not even copied: pages reference the caller's buffers).
// Invariant: every page holds whole rows, so readers that split by page never see half a record.

import { crc32 } from 'node:zlib';
import { QuiverError } from '../../errors.js';
import { ByteSink, bin, i32, i64, struct, writeStruct, type ThriftStruct } from './thrift-compact.js';

/** Bytes a data page may hold: its size is a Parquet int32. */
export const PAGE_BYTES_MAX = 2 ** 31 - 1;

/** Leaf value types Quiver writes. */
export type ParquetLeaf =
  | 'boolean'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'utf8'
  | 'json'
  | 'binary'
  | 'timestamp_us';

/** One column to write: a leaf type, optional list nesting (0, 1 or 2 levels), and its values per row. */
export interface ParquetColumn {
  name: string;
  leaf: ParquetLeaf;
  /** The row's value may be null. */
  nullable: boolean;
  /** 0: a scalar; 1: list<leaf>; 2: list<list<leaf>> (inner lists and their leaves are required). */
  listDepth: 0 | 1 | 2;
  /** With listDepth 1: elements may be null. */
  elementNullable?: boolean;
  /** One value per row: a scalar, an array (or Float32Array for float32 lists) or an array of arrays. */
  values: readonly unknown[];
}

export interface ParquetWriteOptions {
  /** Cut a row group after this many rows. Default 65,536. */
  rowGroupRowsMax?: number;
  /** Cut a row group once its columns hold about this many bytes. Default 128 MiB. */
  rowGroupBytesMax?: number;
  /** Cut a data page once it holds about this many value bytes. Default 1 MiB. */
  pageBytesMax?: number;
  /** Extra key/value metadata stored in the footer. */
  metadata?: Record<string, string>;
  /**
   * Write an offset index (each page's place and first row) per column chunk, so a ranged reader
   * finds the page holding a row without reading the pages before it. Default true.
   */
  offsetIndex?: boolean;
  /**
   * Cut each offset index into parts of this many page locations, each with its own CRC-32, listed
   * in the footer's key/value metadata under {@link OFFSET_INDEX_PARTS_KEY}, so a ranged reader of
   * a few rows reads the footer and the parts that locate them, not every page's location.
   * Default: not cut (no parts table).
   */
  offsetIndexPartEntries?: number;
}

/**
 * The footer key listing offset index parts: JSON `{entries, chunks}`, where `chunks` has one
 * flat list per column chunk (row groups in order, columns in order) of [first row within the
 * row group, file offset, bytes, CRC-32] per part of `entries` page locations.
 */
export const OFFSET_INDEX_PARTS_KEY = 'quiver.offset_index_parts';

const PT = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const CT = { UTF8: 0, LIST: 3, TIMESTAMP_MICROS: 10, UINT_8: 11, UINT_16: 12, UINT_32: 13, UINT_64: 14, INT_8: 15, INT_16: 16, JSON: 19 } as const;
const REQUIRED = 0;
const OPTIONAL = 1;
const REPEATED = 2;
const ENC_PLAIN = 0;
const ENC_RLE = 3;

function physical(leaf: ParquetLeaf): { type: number; converted?: number; width: number } {
  switch (leaf) {
    case 'boolean':
      return { type: PT.BOOLEAN, width: 0 };
    case 'int8':
      return { type: PT.INT32, converted: CT.INT_8, width: 4 };
    case 'int16':
      return { type: PT.INT32, converted: CT.INT_16, width: 4 };
    case 'int32':
      return { type: PT.INT32, width: 4 };
    case 'uint8':
      return { type: PT.INT32, converted: CT.UINT_8, width: 4 };
    case 'uint16':
      return { type: PT.INT32, converted: CT.UINT_16, width: 4 };
    case 'uint32':
      return { type: PT.INT32, converted: CT.UINT_32, width: 4 };
    case 'int64':
      return { type: PT.INT64, width: 8 };
    case 'uint64':
      return { type: PT.INT64, converted: CT.UINT_64, width: 8 };
    case 'timestamp_us':
      return { type: PT.INT64, converted: CT.TIMESTAMP_MICROS, width: 8 };
    case 'float32':
      return { type: PT.FLOAT, width: 4 };
    case 'float64':
      return { type: PT.DOUBLE, width: 8 };
    case 'utf8':
      return { type: PT.BYTE_ARRAY, converted: CT.UTF8, width: -1 };
    case 'json':
      return { type: PT.BYTE_ARRAY, converted: CT.JSON, width: -1 };
    case 'binary':
      return { type: PT.BYTE_ARRAY, width: -1 };
  }
}

function schemaElements(c: ParquetColumn): ThriftStruct[] {
  const p = physical(c.leaf);
  const leaf = (name: string, rep: number): ThriftStruct => [
    [1, i32(p.type)],
    [3, i32(rep)],
    [4, bin(name)],
    [6, p.converted === undefined ? undefined : i32(p.converted)],
  ];
  const group = (name: string, rep: number, children: number, list: boolean): ThriftStruct => [
    [3, i32(rep)],
    [4, bin(name)],
    [5, i32(children)],
    [6, list ? i32(CT.LIST) : undefined],
  ];
  const top = c.nullable ? OPTIONAL : REQUIRED;
  if (c.listDepth === 0) return [leaf(c.name, top)];
  if (c.listDepth === 1) {
    return [group(c.name, top, 1, true), group('list', REPEATED, 1, false), leaf('element', c.elementNullable ? OPTIONAL : REQUIRED)];
  }
  return [
    group(c.name, top, 1, true),
    group('list', REPEATED, 1, false),
    group('element', REQUIRED, 1, true),
    group('list', REPEATED, 1, false),
    leaf('element', REQUIRED),
  ];
}

function path(c: ParquetColumn): string[] {
  if (c.listDepth === 0) return [c.name];
  if (c.listDepth === 1) return [c.name, 'list', 'element'];
  return [c.name, 'list', 'element', 'list', 'element'];
}

function maxLevels(c: ParquetColumn): { def: number; rep: number } {
  const top = c.nullable ? 1 : 0;
  if (c.listDepth === 0) return { def: top, rep: 0 };
  if (c.listDepth === 1) return { def: top + 1 + (c.elementNullable ? 1 : 0), rep: 1 };
  return { def: top + 2, rep: 2 };
}

/** Run-length encoder for definition/repetition levels (the RLE half of the hybrid encoding). */
class LevelRuns {
  private out = new ByteSink(64);
  private value = -1;
  private count = 0;
  constructor(private readonly byteWidth: number) {}
  push(v: number, times = 1): void {
    if (v === this.value) {
      this.count += times;
      return;
    }
    this.flush();
    this.value = v;
    this.count = times;
  }
  private flush(): void {
    if (this.count === 0) return;
    this.out.uvarint(this.count * 2); // low bit 0: an RLE run
    for (let b = 0; b < this.byteWidth; b++) this.out.byte((this.value >> (8 * b)) & 255);
    this.count = 0;
  }
  /** The levels prefixed by their 4-byte length, as data page v1 stores them. */
  finish(): Uint8Array {
    this.flush();
    const body = this.out.result();
    const framed = new Uint8Array(4 + body.length);
    new DataView(framed.buffer).setUint32(0, body.length, true);
    framed.set(body, 4);
    return framed;
  }
}

/** Accumulates one page's levels and PLAIN values. */
class PageBuilder {
  readonly defs: LevelRuns | null;
  readonly reps: LevelRuns | null;
  parts: Uint8Array[] = [];
  private scratch = new ByteSink(1024);
  valueBytes = 0;
  numValues = 0; // level entries, nulls included
  numNulls = 0;
  private bits = 0;
  private bitCount = 0;
  min: number | bigint | undefined;
  max: number | bigint | undefined;

  constructor(
    private readonly leaf: ParquetLeaf,
    max: { def: number; rep: number },
    private readonly stats: boolean,
  ) {
    this.defs = max.def > 0 ? new LevelRuns(1) : null;
    this.reps = max.rep > 0 ? new LevelRuns(1) : null;
  }

  level(rep: number, def: number, times = 1): void {
    this.reps?.push(rep, times);
    this.defs?.push(def, times);
    this.numValues += times;
  }

  private sealScratch(): void {
    if (this.scratch.len > 0) {
      this.parts.push(this.scratch.result().slice());
      this.scratch = new ByteSink(1024);
    }
  }

  value(v: unknown): void {
    const s = this.scratch;
    switch (this.leaf) {
      case 'boolean':
        if (v) this.bits |= 1 << this.bitCount;
        if (++this.bitCount === 8) {
          s.byte(this.bits);
          this.bits = 0;
          this.bitCount = 0;
        }
        this.valueBytes += 1 / 8;
        return;
      case 'utf8':
      case 'json':
      case 'binary': {
        const b = typeof v === 'string' ? textEncoder.encode(v) : (v as Uint8Array);
        s.u32le(b.length);
        if (b.length >= 4096) {
          // Large blobs are referenced, not copied.
          this.sealScratch();
          this.parts.push(b);
        } else s.bytes(b);
        this.valueBytes += 4 + b.length;
        return;
      }
      case 'int64':
      case 'uint64':
      case 'timestamp_us': {
        const big = typeof v === 'bigint' ? v : BigInt(Math.trunc(v as number));
        s.ensure(8);
        new DataView(s.buf.buffer, s.buf.byteOffset).setBigInt64(s.len, BigInt.asIntN(64, big), true);
        s.len += 8;
        this.valueBytes += 8;
        if (this.stats) this.track(big);
        return;
      }
      case 'float32':
        s.ensure(4);
        new DataView(s.buf.buffer, s.buf.byteOffset).setFloat32(s.len, v as number, true);
        s.len += 4;
        this.valueBytes += 4;
        return;
      case 'float64':
        s.ensure(8);
        new DataView(s.buf.buffer, s.buf.byteOffset).setFloat64(s.len, v as number, true);
        s.len += 8;
        this.valueBytes += 8;
        if (this.stats) this.track(v as number);
        return;
      default: {
        // 32-bit integers
        s.ensure(4);
        new DataView(s.buf.buffer, s.buf.byteOffset).setInt32(s.len, (v as number) | 0, true);
        s.len += 4;
        this.valueBytes += 4;
        if (this.stats && this.leaf !== 'uint32') this.track(v as number);
      }
    }
  }

  /**
   * Required flat int64 values `values[from..to)` at once: one typed-array copy instead of a
   * DataView and a shred per value (a 15,000-id deletes file: see writeParquet).
   */
  int64s(values: readonly unknown[], from: number, to: number): void {
    this.sealScratch();
    const out = new BigInt64Array(to - from);
    let min = values[from] as bigint;
    let max = min;
    for (let i = from; i < to; i++) {
      const v = values[i] as bigint;
      out[i - from] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.parts.push(new Uint8Array(out.buffer));
    this.valueBytes += out.byteLength;
    this.numValues += to - from;
    if (this.stats) {
      this.track(min);
      this.track(max);
    }
  }

  /** A whole Float32Array of required leaf values at once (the embedding fast path). */
  floats(f: Float32Array): void {
    this.sealScratch();
    this.parts.push(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    this.valueBytes += f.byteLength;
  }

  private track(v: number | bigint): void {
    if (this.min === undefined || v < this.min) this.min = v;
    if (this.max === undefined || v > this.max) this.max = v;
  }

  finish(): { header: Uint8Array; body: Uint8Array[]; size: number } {
    if (this.bitCount > 0) this.scratch.byte(this.bits);
    this.sealScratch();
    const body: Uint8Array[] = [];
    if (this.reps) body.push(this.reps.finish());
    if (this.defs) body.push(this.defs.finish());
    body.push(...this.parts);
    let size = 0;
    for (const b of body) size += b.length;
    // The page size is an int32: a larger page would be written with a wrapped size that no
    // reader can read back. Appends bound values well below this (VALUE_BYTES_MAX).
    if (size > PAGE_BYTES_MAX) throw new QuiverError('invalid_input', `parquet: a page would hold ${size} bytes, above the format's ${PAGE_BYTES_MAX}`, { bytes: size });
    const header = new ByteSink(64);
    let crc = 0;
    for (const b of body) crc = crc32(b, crc);
    writeStruct(header, [
      [1, i32(0)], // DATA_PAGE
      [2, i32(size)],
      [3, i32(size)],
      // The page's CRC-32 (Parquet's optional field, an int32): a reader of single pages by
      // range cannot check the whole file's checksum, so it checks each page it reads.
      [4, i32(crc | 0)],
      [5, struct([[1, i32(this.numValues)], [2, i32(ENC_PLAIN)], [3, i32(ENC_RLE)], [4, i32(ENC_RLE)]])],
    ]);
    return { header: header.result().slice(), body, size };
  }
}

const textEncoder = new TextEncoder();

function statBytes(leaf: ParquetLeaf, v: number | bigint): Uint8Array {
  const p = physical(leaf);
  const out = new Uint8Array(p.width);
  const dv = new DataView(out.buffer);
  if (p.type === PT.INT64) dv.setBigInt64(0, BigInt.asIntN(64, BigInt(v)), true);
  else if (p.type === PT.DOUBLE) dv.setFloat64(0, Number(v), true);
  else dv.setInt32(0, Number(v) | 0, true);
  return out;
}

/** Writes the levels and values of one row into the page (Dremel shredding for up to two list levels). */
function shredRow(c: ParquetColumn, page: PageBuilder, v: unknown): void {
  const top = c.nullable ? 1 : 0;
  if (v === null || v === undefined) {
    if (!c.nullable) throw new Error(`parquet: column "${c.name}" is required but a row is null`);
    page.level(0, 0);
    page.numNulls++;
    return;
  }
  if (c.listDepth === 0) {
    page.level(0, top);
    page.value(v);
    return;
  }
  const list = v as ArrayLike<unknown>;
  if (list.length === 0) {
    page.level(0, top);
    return;
  }
  if (c.listDepth === 1) {
    const full = top + 1 + (c.elementNullable ? 1 : 0);
    if (list instanceof Float32Array && c.leaf === 'float32') {
      page.level(0, full);
      if (list.length > 1) page.level(1, full, list.length - 1);
      page.floats(list);
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e === null || e === undefined) {
        if (!c.elementNullable) throw new Error(`parquet: column "${c.name}" has a null element`);
        page.level(i === 0 ? 0 : 1, full - 1);
        page.numNulls++;
      } else {
        page.level(i === 0 ? 0 : 1, full);
        page.value(e);
      }
    }
    return;
  }
  // listDepth 2: list<list<leaf>>, inner lists required.
  for (let i = 0; i < list.length; i++) {
    const inner = list[i] as ArrayLike<unknown>;
    const rep = i === 0 ? 0 : 1;
    if (inner.length === 0) {
      page.level(rep, top + 1);
      continue;
    }
    if (inner instanceof Float32Array && c.leaf === 'float32') {
      page.level(rep, top + 2);
      if (inner.length > 1) page.level(2, top + 2, inner.length - 1);
      page.floats(inner);
      continue;
    }
    for (let j = 0; j < inner.length; j++) {
      page.level(j === 0 ? rep : 2, top + 2);
      page.value(inner[j]);
    }
  }
}

function allBigInts(values: readonly unknown[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (typeof values[i] !== 'bigint') return false;
  return true;
}

function approxRowBytes(c: ParquetColumn, v: unknown): number {
  if (v === null || v === undefined) return 1;
  if (typeof v === 'string') return v.length + 4;
  if (v instanceof Uint8Array || v instanceof Float32Array) return v.byteLength + 4;
  if (Array.isArray(v)) {
    let n = 4;
    for (const e of v) n += approxRowBytes(c, e);
    return n;
  }
  return 8;
}

/**
 * Appends one OffsetIndex per column chunk after the data (where readers find them through the
 * chunk's offset_index_offset/length fields, 4 and 5) and returns the new end offset.
 */
function writeOffsetIndexes(located: { chunk: ThriftStruct; pages: [number, number, number][] }[], parts: Uint8Array[], offset: number, partEntries: number | undefined): { offset: number; parts: number[][] } {
  const table: number[][] = [];
  for (const { chunk, pages } of located) {
    const sink = new ByteSink(16 + pages.length * 12);
    const locations = pages.map(([o, size, first]): ThriftStruct => [[1, i64(o)], [2, i32(size)], [3, i64(first)]]);
    writeStruct(sink, [[1, { t: 'list', elem: 'struct', v: locations }]]);
    const bytes = sink.result();
    chunk.push([4, i64(offset)], [5, i32(bytes.length)]);
    if (partEntries !== undefined) table.push(offsetIndexParts(bytes, offset, locations, pages, partEntries));
    parts.push(bytes);
    offset += bytes.length;
  }
  return { offset, parts: table };
}

/**
 * The parts of one encoded offset index, each `partEntries` page locations long, as a flat list
 * of [first row, file offset, bytes, CRC-32] per part. A page location is a struct of its own in
 * the compact protocol (its field ids start afresh), so a part decodes without the bytes before
 * it: the list's header comes first and its stop byte last, neither in any part.
 */
function offsetIndexParts(bytes: Uint8Array, at: number, locations: readonly ThriftStruct[], pages: readonly [number, number, number][], partEntries: number): number[] {
  const sizes = locations.map((l) => {
    const one = new ByteSink(32);
    writeStruct(one, l);
    return one.len;
  });
  let pos = bytes.length - 1 - sizes.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let i = 0; i < pages.length; i += partEntries) {
    let len = 0;
    for (let k = i; k < Math.min(pages.length, i + partEntries); k++) len += sizes[k];
    out.push(pages[i][2], at + pos, len, crc32(bytes.subarray(pos, pos + len)));
    pos += len;
  }
  return out;
}

export interface WrittenParquet {
  parts: Uint8Array[];
  size: number;
  /**
   * The file's last `bytes` (offset indexes, footer, length, magic) and their CRC-32; with
   * offset index parts, `footer` is the CRC-32 of the last `footer.bytes` (footer, length,
   * magic) alone: see GroupFileMeta.tail.
   */
  tail: { bytes: number; crc32: number; footer?: { bytes: number; crc32: number } };
}

/**
 * Encodes columns (all of equal length) as one Parquet file, returned as a list of byte parts
 * to be written in order (large blobs are referenced, not copied).
 */
export function writeParquet(columns: readonly ParquetColumn[], options: ParquetWriteOptions = {}): WrittenParquet {
  const rowGroupRowsMax = options.rowGroupRowsMax ?? 65_536;
  const rowGroupBytesMax = options.rowGroupBytesMax ?? 128 * 1024 * 1024;
  const pageBytesMax = options.pageBytesMax ?? 1024 * 1024;
  const n = columns.length === 0 ? 0 : columns[0].values.length;
  for (const c of columns) {
    if (c.values.length !== n) throw new Error(`parquet: column "${c.name}" has ${c.values.length} rows, expected ${n}`);
  }

  // Plan row groups by rows and approximate bytes.
  const cuts: number[] = [0];
  let bytes = 0;
  for (let r = 0; r < n; r++) {
    for (const c of columns) bytes += approxRowBytes(c, c.values[r]);
    const rows = r + 1 - cuts[cuts.length - 1];
    if (rows >= rowGroupRowsMax || bytes >= rowGroupBytesMax) {
      cuts.push(r + 1);
      bytes = 0;
    }
  }
  if (cuts[cuts.length - 1] !== n || n === 0) cuts.push(n);

  const parts: Uint8Array[] = [textEncoder.encode('PAR1')];
  let offset = 4;
  const rowGroups: ThriftStruct[] = [];
  /** Per column chunk written: its struct (to get the index fields) and its pages [offset, bytes, first row]. */
  const located: { chunk: ThriftStruct; pages: [number, number, number][] }[] = [];
  for (let g = 0; g + 1 < cuts.length; g++) {
    const start = cuts[g];
    const end = cuts[g + 1];
    if (end === start && n > 0) continue;
    const chunks: ThriftStruct[] = [];
    let groupBytes = 0;
    for (const c of columns) {
      const max = maxLevels(c);
      const stats = c.listDepth === 0 && c.leaf !== 'boolean' && physical(c.leaf).width > 0;
      const chunkStart = offset;
      let numValues = 0;
      let chunkSize = 0;
      let nulls = 0;
      let min: number | bigint | undefined;
      let maxV: number | bigint | undefined;
      let page = new PageBuilder(c.leaf, max, stats);
      let pageFirst = 0;
      const pages: [number, number, number][] = [];
      const flush = () => {
        const { header, body, size } = page.finish();
        pages.push([offset, header.length + size, pageFirst]);
        parts.push(header, ...body);
        offset += header.length + size;
        chunkSize += header.length + size;
        numValues += page.numValues;
        nulls += page.numNulls;
        if (page.min !== undefined && (min === undefined || page.min < min)) min = page.min;
        if (page.max !== undefined && (maxV === undefined || page.max > maxV)) maxV = page.max;
      };
      // Required flat int64 columns of bigints (row ids, deletes files) go a page at a time:
      // 15,000 ids took 7–10 ms (median; p90 27 ms with the garbage of a DataView per value).
      const flat = c.leaf === 'int64' && !c.nullable && c.listDepth === 0 && allBigInts(c.values, start, end);
      const perPage = Math.max(1, Math.floor(pageBytesMax / 8));
      for (let r = start; flat && r < end; r += perPage) {
        if (r > start) {
          flush();
          page = new PageBuilder(c.leaf, max, stats);
          pageFirst = r - start;
        }
        page.int64s(c.values, r, Math.min(end, r + perPage));
      }
      for (let r = flat ? end : start; r < end; r++) {
        // A page ends before the value that would take it past pageBytesMax, so a ranged read
        // of one 50 KB image in 64 KiB pages costs that image, not two (a value larger than a
        // page gets a page of its own).
        if (r > start + pageFirst && page.valueBytes + approxRowBytes(c, c.values[r]) > pageBytesMax) {
          flush();
          page = new PageBuilder(c.leaf, max, stats);
          pageFirst = r - start;
        }
        shredRow(c, page, c.values[r]);
      }
      flush();
      groupBytes += chunkSize;
      const statistics: ThriftStruct | undefined =
        stats && min !== undefined && maxV !== undefined
          ? [
              [3, i64(nulls)],
              [5, bin(statBytes(c.leaf, maxV))],
              [6, bin(statBytes(c.leaf, min))],
            ]
          : undefined;
      const chunk: ThriftStruct = [
        [2, i64(chunkStart)],
        [
          3,
          struct([
            [1, i32(physical(c.leaf).type)],
            [2, { t: 'list', elem: 'i32', v: [ENC_PLAIN, ENC_RLE] }],
            [3, { t: 'list', elem: 'bin', v: path(c) }],
            [4, i32(0)],
            [5, i64(numValues)],
            [6, i64(chunkSize)],
            [7, i64(chunkSize)],
            [9, i64(chunkStart)],
            [12, statistics ? struct(statistics) : undefined],
          ]),
        ],
      ];
      chunks.push(chunk);
      located.push({ chunk, pages });
    }
    rowGroups.push([
      [1, { t: 'list', elem: 'struct', v: chunks }],
      [2, i64(groupBytes)],
      [3, i64(end - start)],
    ]);
  }

  const tailAt = offset;
  const tailPart = parts.length;
  const partEntries = options.offsetIndexPartEntries;
  if (partEntries !== undefined && (!Number.isInteger(partEntries) || partEntries < 1)) throw new Error(`parquet: offsetIndexPartEntries must be a positive integer, got ${partEntries}`);
  const indexed = (options.offsetIndex ?? true) ? writeOffsetIndexes(located, parts, offset, partEntries) : { offset, parts: [] };
  offset = indexed.offset;
  const metadata = { ...options.metadata, ...(partEntries !== undefined && indexed.parts.length ? { [OFFSET_INDEX_PARTS_KEY]: JSON.stringify({ entries: partEntries, chunks: indexed.parts }) } : {}) };

  const schema: ThriftStruct[] = [[[4, bin('schema')], [5, i32(columns.length)]]];
  for (const c of columns) schema.push(...schemaElements(c));
  const kv = Object.entries(metadata).map(([k, v]): ThriftStruct => [[1, bin(k)], [2, bin(v)]]);
  const footer = new ByteSink(1024);
  writeStruct(footer, [
    [1, i32(1)],
    [2, { t: 'list', elem: 'struct', v: schema }],
    [3, i64(n)],
    [4, { t: 'list', elem: 'struct', v: rowGroups }],
    [5, kv.length ? { t: 'list', elem: 'struct', v: kv } : undefined],
    [6, bin('quiver')],
  ]);
  const f = footer.result();
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, f.length, true);
  tail.set(textEncoder.encode('PAR1'), 4);
  parts.push(f, tail);
  offset += f.length + 8;
  let crc = 0;
  for (let i = tailPart; i < parts.length; i++) crc = crc32(parts[i], crc);
  const footerCrc = crc32(tail, crc32(f));
  const footerPart = metadata[OFFSET_INDEX_PARTS_KEY] ? { footer: { bytes: f.length + 8, crc32: footerCrc } } : {};
  return { parts, size: offset, tail: { bytes: offset - tailAt, crc32: crc, ...footerPart } };
}
