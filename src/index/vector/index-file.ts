// A persisted vector index: the kernel's parts (graph and int8 codes, without the float32
// vectors, which the column's own files hold), which row ids it holds and which large-column
// files they were read from. A later version uses the index for rows whose file is still
// current and live; everything else (new appends, rewritten files) is searched exactly.
// Format 5 is the parts container every index kind uses (../codec.ts: a checked header, a
// CRC-32 per part), so a remote reader fetches the header, row ids and codes by range and the
// graph only when a plan walks it. Invariant: no part is used unchecked. Files written by
// earlier versions are still read: format 4 (the same parts, each with a SHA-256) and format 3
// (one SHA-256 over the whole file, read whole).

import { createHash } from 'node:crypto';
import { QuiverError } from '../../errors.js';
import { mergeRanges, type ByteRange } from '../../storage/index.js';
import { checkedPart, decodePartsHeader, encodePartsContainer, type PartEntry as CrcPart } from '../codec.js';
import { VectorIndex, type IndexParts } from './hnsw-index.js';

export interface IndexedFile {
  key: string;
  /** Index rows [start, start + rows) came from this file, in the file's order. */
  start: number;
  rows: number;
}

export interface VectorIndexFile {
  /** The kernel's parts, without its float32 vectors; `graph` absent when read without it. */
  kernel: IndexParts;
  /** Row id of each index row (ordinal), in file order. */
  rowIds: BigInt64Array;
  files: IndexedFile[];
  /** Where the graph section lies, for {@link readGraphPart} (format 4 read without it). */
  graphPart?: PartEntry;
  /** The graph section's first bytes, when the ranged open's reads ran into it (see eagerBytesGuess). */
  graphHead?: Uint8Array;
  /** Copies of the indexed files' tails (see IndexedTail), when the file holds them. */
  tails?: IndexedTail[];
}

/**
 * A copy of the tail of one indexed vector file (its footer and page index: the bytes from
 * `GroupFileMeta.tail` to the file's end, checked by the reader against the manifest's CRC-32).
 * A re-rank reads its candidates' vectors by range and first needs each file's tail: read from
 * object storage that was one request per file, 20 of them queued beside the index in a cold
 * vector + filter (bench/objstore.ts). Carried here they come with the index's own read.
 */
export interface IndexedTail {
  key: string;
  bytes: Uint8Array;
}

/** One part of a format-4 file: its bytes at `offset`, and their SHA-256 (hex). */
interface Sha256Part {
  name: string;
  offset: number;
  bytes: number;
  sha256: string;
}

/** A part of an index file: format 5's (CRC-32) or format 4's (SHA-256). */
export type PartEntry = CrcPart | Sha256Part;

/** The checked header of a format-4 or -5 file. */
interface PartsFileHeader {
  files: IndexedFile[];
  rows: number;
  kernel: Record<string, unknown>;
  parts: PartEntry[];
  /** Bytes of the whole file (format 5 records it; a whole read of another length is truncated). */
  totalBytes?: number;
  /** The files whose tails the `tails` part holds, one after another (format 5, optional). */
  tails?: { key: string; bytes: number }[];
}

const MAGIC = 'QVIX';
// 5: the shared parts container (CRC-32 per part). 4: parts, each with its own SHA-256 in a
// SHA-256-checked header. 3: one SHA-256 over the file (read whole).
const VERSION = 5;
const VERSION_SHA_PARTS = 4;
const VERSION_WHOLE = 3;
/** Bytes after the header of each format: format 5's CRC-32 and 4 zero bytes, format 4's SHA-256. */
const HEADER_CHECK_BYTES: Record<number, number> = { [VERSION]: 8, [VERSION_SHA_PARTS]: 32 };
const PREFIX_BYTES = 12;
/** Bytes read first by a ranged open: the header of an index over ~500 files fits (≈ 120 bytes per file). */
export const INDEX_HEAD_GUESS_BYTES = 64 * 1024;
/**
 * A ranged read of an index longer than this is sent as pieces of this size at once, assembled
 * in one buffer: one 5.2 MB GET took 70–90 ms on radosgw (bench/objstore.ts index file, load
 * 4–5) where LanceDB reads its 8.6 MB index as 35 requests.
 */
export const INDEX_READ_PIECE_BYTES = 1024 * 1024;
/** The parts a ranged open reads; `graph` only when a plan walks it. */
const EAGER_PARTS = new Set(['rowIds', 'tails', 'codes', 'rowOffsets']);

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const corruptOf = (key: string) => (why: string) => new QuiverError('corrupt', `index: ${key} is corrupt: ${why}`, { key });
const align8 = (x: number) => (x + 7) & ~7;

/**
 * Format 5: the parts container (codec.ts) with the header `{ files, rows, kernel }` and the
 * parts row ids (int64 LE), the kernel's sections (codes, row offsets), and the graph last, so
 * a ranged open reads one span from the header to the codes' end. Returned as pieces so no
 * single buffer holds the file.
 */
export function encodeVectorIndexFile(index: VectorIndex, rowIds: BigInt64Array, files: IndexedFile[], tails: readonly IndexedTail[] = []): Uint8Array[] {
  const { header: kernel, sections } = index.serializeParts({ vectors: false });
  const parts: Record<string, Uint8Array> = { rowIds: new Uint8Array(rowIds.buffer, rowIds.byteOffset, rowIds.byteLength) };
  // The tails sit between the row ids and the codes, inside the span a ranged open reads first.
  if (tails.length) parts.tails = Buffer.concat(tails.map((t) => t.bytes));
  for (const [name, b] of Object.entries(sections).sort(([x], [y]) => (x === 'graph' ? 1 : y === 'graph' ? -1 : 0))) parts[name] = b;
  const listed = tails.length ? { tails: tails.map((t) => ({ key: t.key, bytes: t.bytes.length })) } : {};
  return encodePartsContainer(MAGIC, VERSION, { files, rows: rowIds.length, kernel, ...listed }, parts);
}

/** Decodes a whole index file (either format), every part checked. */
export function decodeVectorIndexFile(bytes: Uint8Array, key: string): VectorIndexFile {
  const corrupt = corruptOf(key);
  const version = versionOf(bytes, key);
  if (version === VERSION_WHOLE) return decodeWhole(bytes, key);
  const header = headerOf(bytes, key);
  if (header.totalBytes !== undefined && bytes.length !== header.totalBytes) throw corrupt(`length ${bytes.length} differs from the recorded ${header.totalBytes}`);
  const at = (r: ByteRange) => {
    if (r.offset + r.length > bytes.length) throw corrupt(`a part runs past the end (${r.offset + r.length} > ${bytes.length})`);
    return bytes.subarray(r.offset, r.offset + r.length);
  };
  return fromParts(header, new Map(header.parts.map((p) => [p.name, at({ offset: p.offset, length: p.bytes })])), key);
}

/**
 * Reads an index file by range through `get` (a range past the end returns what exists): the
 * header, then its row ids, codes and row offsets in one batch — not its graph, which
 * {@link readGraphPart} fetches when a plan walks it. A format-3 file is read whole.
 * `local`: `get` reads a local disk and returns fresh buffers, so a span is one read (a pread is
 * not a round trip) and the checked parts are views of it, not copies (bench/hybrid.ts at 100k,
 * cold vector + filter: reading the whole file, graph included, then copying its parts twice
 * and loading the graph was ~500 of 850 ms, for a plan that scans codes and never walks it).
 */
export async function readVectorIndexFile(get: (range?: ByteRange) => Promise<Uint8Array>, key: string, eagerBytesGuess = 0, local = false): Promise<VectorIndexFile> {
  const piece = local ? Number.POSITIVE_INFINITY : INDEX_READ_PIECE_BYTES;
  // Buffers assembled here from pieces are this read's own: a part that is most of one is used in
  // place rather than copied (a cold 5.3 MB read copied its codes once more, ~3 ms and 5 MB of
  // garbage in a query whose collector then took ~13 ms: bench/objstore.ts profile).
  const own = new WeakSet<ArrayBufferLike>();
  const assembled = async (r: ByteRange) => {
    const b = await readPieces(get, r, piece);
    if (r.length > piece) own.add(b.buffer);
    return b;
  };
  let head = await assembled({ offset: 0, length: Math.max(INDEX_HEAD_GUESS_BYTES, eagerBytesGuess) });
  const version = versionOf(head, key);
  if (version === VERSION_WHOLE) return decodeWhole(await get(), key);
  const need = PREFIX_BYTES + new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(8, true) + HEADER_CHECK_BYTES[version];
  if (need > head.length) head = await get({ offset: 0, length: need });
  const header = headerOf(head, key);
  const wanted = header.parts.filter((p) => EAGER_PARTS.has(p.name));
  const spans = mergeRanges(wanted.map((p) => ({ offset: p.offset, length: p.bytes })), 64 * 1024);
  // The header's read may already hold the start of the parts (all of them, for a small index).
  const have = head;
  const fetched = await Promise.all(
    spans.map(async (s) => {
      const end = s.offset + s.length;
      if (end <= have.length) return have.subarray(s.offset, end);
      if (s.offset >= have.length) return assembled(s);
      const rest = await readPieces(get, { offset: have.length, length: end - have.length }, piece);
      const out = new Uint8Array(s.length);
      own.add(out.buffer);
      out.set(have.subarray(s.offset), 0);
      out.set(rest, have.length - s.offset);
      return out;
    }),
  );
  const parts = new Map<string, Uint8Array>();
  for (const p of wanted) {
    const i = spans.findIndex((s) => p.offset >= s.offset && p.offset + p.bytes <= s.offset + s.length);
    const from = p.offset - spans[i].offset;
    parts.set(p.name, fetched[i].subarray(from, from + p.bytes));
  }
  const graphPart = header.parts.find((p) => p.name === 'graph');
  const graphHead = graphPart && have.length > graphPart.offset ? have.slice(graphPart.offset, Math.min(have.length, graphPart.offset + graphPart.bytes)) : undefined;
  const copy = local ? () => false : (b: Uint8Array) => !(own.has(b.buffer) && b.byteLength * 2 >= b.buffer.byteLength);
  return { ...fromParts(header, parts, key, copy), graphPart, ...(graphHead ? { graphHead } : {}) };
}

/** Bytes {@link eagerBytesGuess} allows per vector component, and in all, for the kernel's part of the header (its quantizer's centre: one JSON number a component). */
export const KERNEL_HEADER_BYTES_PER_DIM = 24;
export const KERNEL_HEADER_BYTES = 4096;

/**
 * The bytes of the header and the eager parts (row ids, int8 codes of `codeDim` bytes each) of
 * an index over `files` (`rows` vectors of `dim` floats), from the manifest: the header's file
 * list as it is written, its kernel part at most KERNEL_HEADER_BYTES + dim ×
 * KERNEL_HEADER_BYTES_PER_DIM. A caller that passes it to {@link readVectorIndexFile} reads them
 * in the first round trip, at most that allowance of the graph after them: read after the
 * header, their request queued behind the query's other reads (bench/objstore.ts, cold vector +
 * filter: the 5.2 MB began after 20 tails; a lower bound left a few KB whose request ended 60
 * ms after the rest had come in).
 */
export function eagerBytesGuess(files: readonly IndexedFile[], dim: number, codeDim: number, tailBytes = 0): number {
  const rows = files.reduce((n, f) => n + f.rows, 0);
  const listed = Buffer.byteLength(JSON.stringify(files));
  // With tails: their part, and their listing in the header (the key and a length, ~100 bytes a file).
  const tails = tailBytes > 0 ? align8(tailBytes) + listed : 0;
  return align8(PREFIX_BYTES + listed + KERNEL_HEADER_BYTES + dim * KERNEL_HEADER_BYTES_PER_DIM + 32) + align8(rows * 8) + tails + rows * codeDim;
}

/** The bytes of `r`, read as pieces of at most `piece` bytes at once (a short file returns what exists). */
async function readPieces(get: (range: ByteRange) => Promise<Uint8Array>, r: ByteRange, piece: number): Promise<Uint8Array> {
  if (r.length <= piece) return get(r);
  const pieces: ByteRange[] = [];
  for (let at = 0; at < r.length; at += piece) pieces.push({ offset: r.offset + at, length: Math.min(piece, r.length - at) });
  const got = await Promise.all(pieces.map((p) => get(p)));
  const n = got.reduce((x, b) => x + b.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const [i, b] of got.entries()) {
    out.set(b, at);
    at += b.length;
    // A piece shorter than asked is the end of the file: later pieces hold nothing.
    if (b.length < pieces[i].length) return out.subarray(0, at);
  }
  return out;
}

/** The graph section of a file read by {@link readVectorIndexFile}, checked; `head`: its first bytes, already read. */
export async function readGraphPart(get: (range: ByteRange) => Promise<Uint8Array>, part: PartEntry, key: string, head?: Uint8Array): Promise<Uint8Array> {
  if (!head?.length) return checked(await get({ offset: part.offset, length: part.bytes }), part, key);
  const rest = head.length < part.bytes ? await get({ offset: part.offset + head.length, length: part.bytes - head.length }) : new Uint8Array(0);
  const all = new Uint8Array(head.length + rest.length);
  all.set(head);
  all.set(rest, head.length);
  return checked(all, part, key);
}

function versionOf(bytes: Uint8Array, key: string): number {
  const corrupt = corruptOf(key);
  if (bytes.length < PREFIX_BYTES + 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw corrupt('bad magic');
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (version !== VERSION && version !== VERSION_SHA_PARTS && version !== VERSION_WHOLE) throw new QuiverError('unsupported', `index: ${key} has index format ${version}; rebuild it with createIndex`);
  return version;
}

/** The header of a format-5 or -4 file at the start of `bytes`, checked (CRC-32 or SHA-256). */
function headerOf(bytes: Uint8Array, key: string): PartsFileHeader {
  const corrupt = corruptOf(key);
  const version = versionOf(bytes, key);
  if (version === VERSION) {
    try {
      const h = decodePartsHeader(bytes, MAGIC, [VERSION], key);
      return { ...(h.header as Omit<PartsFileHeader, 'parts' | 'totalBytes'>), parts: h.parts, totalBytes: h.totalBytes };
    } catch (e) {
      throw corrupt((e as Error).message.replace(/^index: corrupt [^:]*: /, ''));
    }
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const end = PREFIX_BYTES + hlen;
  if (end + 32 > bytes.length) throw corrupt('the header runs past the end');
  if (!createHash('sha256').update(bytes.subarray(0, end)).digest().equals(bytes.subarray(end, end + 32))) throw corrupt('header checksum mismatch');
  return JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX_BYTES, end))) as PartsFileHeader;
}

/** `bytes` as `part`, checked against its length and checksum; in its own aligned buffer (typed-array views need 8-byte alignment) unless `copy` is false (see checkedPart). */
function checked(bytes: Uint8Array, part: PartEntry, key: string, copy = true): Uint8Array {
  if (bytes.length !== part.bytes) throw corruptOf(key)(`part "${part.name}" is ${bytes.length} bytes, its header says ${part.bytes}`);
  if ('crc32' in part) {
    try {
      return checkedPart(bytes, part, key, copy);
    } catch (e) {
      throw corruptOf(key)((e as Error).message.replace(/^index: corrupt [^:]*: /, ''));
    }
  }
  if (sha256(bytes) !== part.sha256) throw corruptOf(key)(`part "${part.name}" checksum mismatch`);
  return bytes.slice();
}

/** A VectorIndexFile from a format-5 or -4 header and the parts read (each checked here). */
/**
 * The file from its checked parts. `copy` says, per part's bytes, whether they must be copied
 * (see checkedPart): not when they are the caller's own and most of their buffer.
 */
function fromParts(header: PartsFileHeader, got: Map<string, Uint8Array>, key: string, copy: (bytes: Uint8Array) => boolean = () => true): VectorIndexFile {
  const sections: Record<string, Uint8Array> = {};
  let rowIds: BigInt64Array | undefined;
  for (const p of header.parts) {
    const b = got.get(p.name);
    if (!b) continue;
    const own = checked(b, p, key, copy(b));
    if (p.name === 'rowIds') {
      if (own.byteLength !== header.rows * 8) throw corruptOf(key)(`row ids are ${own.byteLength} bytes for ${header.rows} rows`);
      rowIds = new BigInt64Array(own.buffer, own.byteOffset, header.rows);
    } else sections[p.name] = own;
  }
  if (!rowIds || rowIds.length !== header.rows) throw corruptOf(key)('row ids missing');
  const tails = tailsOf(header, sections.tails, key);
  delete sections.tails;
  return { kernel: { header: header.kernel, sections }, rowIds, files: header.files, ...(tails ? { tails } : {}) };
}

/** The tails part split as the header lists it (checked: the lengths add up to the part's). */
function tailsOf(header: PartsFileHeader, part: Uint8Array | undefined, key: string): IndexedTail[] | undefined {
  if (!part || !header.tails) return undefined;
  const listed = header.tails;
  const ok = Array.isArray(listed) && listed.every((t) => typeof t?.key === 'string' && Number.isSafeInteger(t.bytes) && t.bytes >= 0);
  if (!ok || listed.reduce((n, t) => n + t.bytes, 0) !== part.byteLength) throw corruptOf(key)('the tails part does not match the tails its header lists');
  let at = 0;
  return listed.map((t) => ({ key: t.key, bytes: part.subarray(at, (at += t.bytes)) }));
}

/** Format 3: magic, version, header length, header JSON, padding, row ids, kernel container, SHA-256 of all before it. */
function decodeWhole(bytes: Uint8Array, key: string): VectorIndexFile {
  const corrupt = corruptOf(key);
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) throw corrupt('checksum mismatch');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen))) as { files: IndexedFile[]; rows: number };
  let o = 12 + hlen;
  o += (8 - (o % 8)) % 8;
  const rowIds = new BigInt64Array(bytes.slice(o, o + header.rows * 8).buffer, 0, header.rows);
  o += header.rows * 8;
  return { kernel: VectorIndex.partsOf(body.subarray(o)), rowIds, files: header.files };
}

/**
 * The index, given its float32 vectors in index order (each file's vectors in the file's order),
 * or null to leave them in their files (the caller re-ranks candidates it reads by range).
 */
export function loadVectorIndex(f: VectorIndexFile, vectors: Float32Array | null): VectorIndex {
  return VectorIndex.fromParts(f.kernel, vectors);
}
