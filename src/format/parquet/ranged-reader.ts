// Reads rows of Quiver's Parquet files through an AsyncByteSource (an object on remote storage)
// as plan, then fetch, then decode: the footer and offset indexes name the pages that hold the
// rows asked for, every page of a lookup is fetched in one batch, and the pages are decoded by
// the same code as the local reader. A file written without offset indexes costs its chunk; a
// file whose offset indexes are cut into parts (writer.ts, OFFSET_INDEX_PARTS_KEY) costs only the
// parts that locate the rows, each checked against the CRC-32 its checked footer lists.
// Invariant: only bytes of pages that hold a wanted row (or, without an index, its chunk) are
// read, and a page whose header records a CRC-32 is decoded only if its body matches it.

import { crc32 } from 'node:zlib';
import { QuiverError } from '../../errors.js';
import type { AsyncByteSource, ByteRange } from '../../storage/index.js';
import { OFFSET_INDEX_PARTS_KEY } from './writer.js';
import { decodeFooter, decodeLocated, decodeOffsetIndex, hex, pageLocation, pagesOf, readRows, type PageLocation, type ParquetFooter, type RandomAccess } from './reader.js';
import { ByteSource, ThriftDecodeError, readStruct } from './thrift-compact.js';

export type { PageLocation } from './reader.js';

/** A file opened for ranged reads: its footer and, per row group and column, its pages when indexed. */
export interface RangedFile {
  readonly source: AsyncByteSource;
  readonly footer: ParquetFooter;
  /**
   * pages[group][column], or null for a chunk written without an offset index. With `parts`,
   * only the pages of the parts read so far (readRowsRanged reads the ones a read needs).
   */
  readonly pages: (PageLocation[] | null)[][];
  /** parts[group][column]: the offset index by parts, for a file opened by its footer alone. */
  readonly parts?: IndexParts[][];
}

/** One column chunk's offset index by parts: where each part is, and the pages of those read. */
interface IndexParts {
  readonly list: readonly { firstRow: number; offset: number; length: number; crc32: number }[];
  /** Per part: its pages once read (a read under way is a promise, shared by concurrent reads). */
  readonly read: (PageLocation[] | Promise<PageLocation[]> | undefined)[];
  readonly chunk: { offset: number; size: number };
  /** Lookups that have read parts of this index so far (see INDEX_WHOLE_BYTES_MAX). */
  lookups: number;
  /** The bytes of all its parts. */
  readonly bytes: number;
  /** Parts decoded so far, and how many were when `RangedFile.pages` last listed their pages. */
  decoded: number;
  listed: number;
}

/** One column's rows to read: positions ascending within the row group. */
export interface RowRead {
  column: number;
  group: number;
  positions: readonly number[];
}

/**
 * A column chunk's offset index of at most this many bytes is read whole by the second lookup
 * that needs a part of it not held: the first lookup of a file reads only the parts that locate
 * its rows (a cold query pays ~0.7 KB a file, not ~12 KB), and a file read again is likely read
 * again after that, when a part read would be one round trip more before the pages
 * (bench/objstore.ts, warm "20 winners + images": 24 requests in two rounds a query, ~45 ms each
 * on the project's radosgw). The rest of the index costs the same one request as the part.
 */
export const INDEX_WHOLE_BYTES_MAX = 64 * 1024;

/** Bytes read from the end of a file at open; the footer and offset indexes of small files fit. */
const TAIL_GUESS = 64 * 1024;

const corrupt = (what: string) => new QuiverError('corrupt', `parquet: ${what}`);

/**
 * Opens a file: one read of its tail, and one more only if the footer or indexes lie before it.
 * With `tailFrom`, the footer and offset indexes must lie at or after that offset (a region the
 * caller has checked), or the file is corrupt; `tailBytes`, when given, are the bytes from
 * `tailFrom` to the end, already read.
 */
export async function openRanged(source: AsyncByteSource, tailFrom = 0, tailBytes?: Uint8Array): Promise<RangedFile> {
  if (source.size < 12) throw corrupt('file too short to be Parquet');
  // A caller that already read (and checked) the tail from `tailFrom` hands it over: no read at all.
  const given = tailBytes !== undefined && tailBytes.length === source.size - tailFrom && tailBytes.length >= 12;
  const tailAt = given ? tailFrom : Math.max(0, source.size - TAIL_GUESS);
  let tail = given ? tailBytes : (await source.read([{ offset: tailAt, length: source.size - tailAt }]))[0];
  let base = tailAt;
  const len = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(tail.length - 8, true);
  if (new TextDecoder().decode(tail.subarray(tail.length - 4)) !== 'PAR1') throw corrupt('no Parquet magic at the end of the file');
  if (len + 12 > source.size) throw corrupt(`footer length ${len} exceeds the file`);
  const footerAt = source.size - 8 - len;
  if (footerAt < tailFrom) throw corrupt('the footer lies outside the checksummed tail');
  if (footerAt < base) {
    [tail] = await source.read([{ offset: footerAt, length: len + 8 }]);
    base = footerAt;
  }
  const footer = decodeFooter(tail.subarray(footerAt - base, footerAt - base + len));
  const spans = footer.rowGroups.flatMap((g) => g.chunks.map((c) => c.offsetIndex)).filter((x) => x !== undefined);
  if (spans.length === 0) return { source, footer, pages: footer.rowGroups.map((g) => g.chunks.map(() => null)) };
  const lo = Math.min(...spans.map((s) => s.offset));
  const hi = Math.max(...spans.map((s) => s.offset + s.length));
  if (lo < tailFrom || hi > footerAt) throw corrupt(lo < 0 ? 'an offset index lies outside the data' : 'an offset index lies outside the checksummed tail');
  // Indexes sit just before the footer: usually already in the tail read.
  let index = tail;
  let indexBase = base;
  if (lo < base) {
    [index] = await source.read([{ offset: lo, length: hi - lo }]);
    indexBase = lo;
  }
  const pages = footer.rowGroups.map((g) => g.chunks.map((c) => (c.offsetIndex ? decodeOffsetIndex(index.subarray(c.offsetIndex.offset - indexBase, c.offsetIndex.offset - indexBase + c.offsetIndex.length), c) : null)));
  return { source, footer, pages };
}

/**
 * Opens a file by its footer alone: `footerBytes` are its last bytes (footer, length, magic),
 * already checked by the caller, and the footer lists its offset indexes' parts; no read at all.
 * Pages are located by reading parts as reads need them (readRowsRanged).
 */
export function openRangedByParts(source: AsyncByteSource, footerBytes: Uint8Array): RangedFile {
  const n = footerBytes.length;
  if (n < 12 || n > source.size) throw corrupt('footer region too short to be Parquet');
  if (new TextDecoder().decode(footerBytes.subarray(n - 4)) !== 'PAR1') throw corrupt('no Parquet magic at the end of the file');
  const len = new DataView(footerBytes.buffer, footerBytes.byteOffset, n).getUint32(n - 8, true);
  if (len + 8 !== n) throw corrupt(`footer length ${len} does not match its checksummed region of ${n} bytes`);
  const footer = decodeFooter(footerBytes.subarray(0, len));
  const footerAt = source.size - n;
  const table = partsTable(footer.metadata?.[OFFSET_INDEX_PARTS_KEY]);
  let k = 0;
  const parts = footer.rowGroups.map((g) =>
    g.chunks.map((c): IndexParts => {
      const flat = table.chunks[k++];
      const oi = c.offsetIndex;
      if (!flat || !oi || oi.offset < 0 || oi.offset + oi.length > footerAt) throw corrupt('the offset index parts do not match the column chunks');
      const list = [];
      for (let i = 0; i < flat.length; i += 4) {
        const [firstRow, offset, length, crc] = flat.slice(i, i + 4);
        const prev = list[list.length - 1];
        if (offset < oi.offset || offset + length > oi.offset + oi.length || (prev ? firstRow <= prev.firstRow || offset < prev.offset + prev.length : firstRow !== 0)) throw corrupt('an offset index part lies outside its index or out of order');
        list.push({ firstRow, offset, length, crc32: crc });
      }
      return { list, read: list.map(() => undefined), chunk: c, lookups: 0, bytes: list.reduce((n, p) => n + p.length, 0), decoded: 0, listed: 0 };
    }),
  );
  if (k !== table.chunks.length) throw corrupt('the offset index parts do not match the column chunks');
  return { source, footer, pages: footer.rowGroups.map((g) => g.chunks.map(() => [])), parts };
}

/** The footer's parts table, checked for shape (its values are checked against the chunks). */
function partsTable(json: string | undefined): { entries: number; chunks: number[][] } {
  let t: unknown;
  try {
    t = json === undefined ? undefined : JSON.parse(json);
  } catch {
    t = undefined;
  }
  const ok = (x: unknown): x is { entries: number; chunks: number[][] } => {
    const v = x as { entries?: unknown; chunks?: unknown };
    return typeof v === 'object' && v !== null && Number.isInteger(v.entries) && Array.isArray(v.chunks) && v.chunks.every((c) => Array.isArray(c) && c.length % 4 === 0 && c.every((n) => Number.isSafeInteger(n) && n >= 0));
  };
  if (!ok(t)) throw corrupt(`the footer has no valid ${OFFSET_INDEX_PARTS_KEY}`);
  return t;
}

/** Reads (in one batch) and checks the offset index parts that locate `reads`, then lists their pages. */
async function locateRows(file: RangedFile, reads: readonly RowRead[]): Promise<void> {
  const parts = file.parts!;
  // One pass groups the reads by the index that locates them (a re-rank asks for hundreds of rows
  // over a few chunks; a filter per read made this quadratic: 14 % of a warm hybrid query's samples).
  const byIndex = new Map<IndexParts, { group: number; column: number; needed: number[] }>();
  for (const r of reads) {
    const ip = parts[r.group][r.column];
    let e = byIndex.get(ip);
    if (!e) byIndex.set(ip, (e = { group: r.group, column: r.column, needed: [] }));
    for (const i of pagesOf(ip.list, r.positions)) e.needed.push(i);
  }
  const wanted: { ip: IndexParts; i: number }[] = [];
  const waits: Promise<PageLocation[]>[] = [];
  for (const [ip, { needed }] of byIndex) {
    if (!needed.some((i) => ip.read[i] === undefined)) {
      for (const i of needed) if (ip.read[i] instanceof Promise) waits.push(ip.read[i] as Promise<PageLocation[]>);
      continue;
    }
    // A second lookup that misses reads the rest of the index with the parts it needs (see INDEX_WHOLE_BYTES_MAX).
    const whole = ip.lookups++ > 0 && ip.bytes <= INDEX_WHOLE_BYTES_MAX;
    const need = new Set(needed);
    for (const i of whole ? ip.list.keys() : need) {
      const held = ip.read[i];
      if (held === undefined) wanted.push({ ip, i });
      else if (held instanceof Promise && need.has(i)) waits.push(held);
    }
  }
  if (wanted.length) {
    const fetched = file.source.read(wanted.map(({ ip, i }) => ({ offset: ip.list[i].offset, length: ip.list[i].length })));
    wanted.forEach(({ ip, i }, n) => {
      const p = fetched.then((bytes) => {
        const part = ip.list[i];
        if (crc32(bytes[n]) !== part.crc32) throw corrupt(`offset index part at ${part.offset}: its crc32 is ${hex(crc32(bytes[n]))}, the footer recorded ${hex(part.crc32)}`);
        const pages = decodePart(bytes[n], part.firstRow, ip.chunk);
        ip.read[i] = pages;
        ip.decoded++;
        return pages;
      });
      ip.read[i] = p;
      p.catch(() => {
        if (ip.read[i] === p) ip.read[i] = undefined;
      });
      waits.push(p);
    });
  }
  await Promise.all(waits);
  // The page list is rebuilt only when parts were decoded since it was last built: parts are only
  // ever added, so an unchanged count means an unchanged list (warm reads rebuild nothing).
  for (const [ip, { group, column }] of byIndex) {
    if (ip.listed === ip.decoded) continue;
    ip.listed = ip.decoded;
    file.pages[group][column] = ip.read.flatMap((x) => (Array.isArray(x) ? x : []));
  }
}

/** The page locations of one part: whole structs, one after another, the first at `firstRow`. */
function decodePart(bytes: Uint8Array, firstRow: number, chunk: { offset: number; size: number }): PageLocation[] {
  const src = new ByteSource(bytes);
  const out: PageLocation[] = [];
  try {
    while (src.pos < bytes.length) out.push(pageLocation(readStruct(src), chunk));
  } catch (e) {
    if (e instanceof ThriftDecodeError) throw corrupt(`offset index part: ${e.message}`);
    throw e;
  }
  if (out[0]?.firstRow !== firstRow) throw corrupt('an offset index part does not start at the row the footer lists');
  for (let i = 1; i < out.length; i++) if (out[i].firstRow <= out[i - 1].firstRow) throw corrupt('page first rows are not ascending');
  return out;
}

/**
 * The byte ranges a batch of reads needs (pure): for each read, the pages holding its positions,
 * or its whole chunk when the chunk has no offset index. Shared pages are listed once.
 */
export function planRowReads(file: RangedFile, reads: readonly RowRead[]): ByteRange[] {
  const seen = new Set<number>();
  const out: ByteRange[] = [];
  const add = (r: ByteRange) => {
    if (seen.has(r.offset)) return;
    seen.add(r.offset);
    out.push(r);
  };
  for (const r of reads) {
    const pages = file.pages[r.group][r.column];
    if (!pages) {
      const c = file.footer.rowGroups[r.group].chunks[r.column];
      add({ offset: c.offset, length: c.size });
    } else for (const i of pagesOf(pages, r.positions)) add({ offset: pages[i].offset, length: pages[i].size });
  }
  return out;
}

/** The values of every read, in order: one batched fetch of the planned ranges, then decoding. */
export async function readRowsRanged(opened: RangedFile, reads: readonly RowRead[]): Promise<unknown[][]> {
  if (opened.parts) await locateRows(opened, reads);
  // Concurrent reads may add parts' pages meanwhile: this read plans and decodes on one list.
  const file = opened.parts ? { ...opened, pages: opened.pages.map((g) => g.slice()) } : opened;
  const ranges = planRowReads(file, reads);
  const bytes = await file.source.read(ranges);
  const at = new Map(ranges.map((r, i) => [r.offset, bytes[i]]));
  return reads.map((r) => {
    const pages = file.pages[r.group][r.column];
    if (!pages) {
      const c = file.footer.rowGroups[r.group].chunks[r.column];
      return readRows(chunkAccess(at.get(c.offset)!, c.offset, file.source.size), file.footer, r.column, r.group, r.positions);
    }
    return decodeLocated(file.footer, r.column, r.group, r.positions, pages, (p) => at.get(p.offset)!);
  });
}

/** The local reader's view of one fetched chunk: reads outside it are a corrupt file. */
function chunkAccess(bytes: Uint8Array, base: number, size: number): RandomAccess {
  return {
    size,
    read(offset, length) {
      if (offset < base || offset + length > base + bytes.length) throw corrupt(`read of ${length} bytes at ${offset} is outside its column chunk`);
      return bytes.subarray(offset - base, offset - base + length);
    },
    close: () => undefined,
  };
}
