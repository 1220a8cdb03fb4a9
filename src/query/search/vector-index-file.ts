// A persisted vector index: the kernel's bytes (graph and int8 codes, without the float32
// vectors, which the column's own files hold), which row ids it holds and which large-column
// files they were read from. A later version uses the index for rows whose file is still
// current and live; everything else (new appends, rewritten files) is searched exactly.

import { createHash } from 'node:crypto';
import { QuiverError } from '../../errors.js';
import { VectorIndex } from '../../index/index.js';

export interface IndexedFile {
  key: string;
  /** Index rows [start, start + rows) came from this file, in the file's order. */
  start: number;
  rows: number;
}

export interface VectorIndexFile {
  /** The kernel's serialization, without its float32 vectors. */
  kernel: Uint8Array;
  /** Row id of each index row (ordinal), in file order. */
  rowIds: BigInt64Array;
  files: IndexedFile[];
}

const MAGIC = 'QVIX';
// 3: the kernel bytes hold a vector index of format 2 (centred int8 codes); older files are rebuilt.
const VERSION = 3;

/**
 * Layout: magic, u32 version, u32 header length, header JSON, padding to 8 bytes, row ids
 * (int64 LE), kernel bytes; then a SHA-256 of everything before it. Returned as parts so no
 * single buffer holds the file.
 */
export function encodeVectorIndexFile(index: VectorIndex, rowIds: BigInt64Array, files: IndexedFile[]): Uint8Array[] {
  const header = new TextEncoder().encode(JSON.stringify({ files, rows: rowIds.length }));
  const kernel = index.serialize({ vectors: false });
  const head = new Uint8Array(12);
  head.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(head.buffer);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, header.length, true);
  const pad = new Uint8Array((8 - ((12 + header.length) % 8)) % 8);
  const ids = new Uint8Array(rowIds.buffer, rowIds.byteOffset, rowIds.byteLength);
  const parts = [head, header, pad, ids, kernel];
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return [...parts, new Uint8Array(hash.digest())];
}

export function decodeVectorIndexFile(bytes: Uint8Array, key: string): VectorIndexFile {
  const corrupt = (why: string) => new QuiverError('corrupt', `index: ${key} is corrupt: ${why}`, { key });
  if (bytes.length < 44 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw corrupt('bad magic');
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) throw corrupt('checksum mismatch');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(4, true) !== VERSION) throw new QuiverError('unsupported', `index: ${key} has index format ${dv.getUint32(4, true)}; rebuild it with createIndex`);
  const hlen = dv.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen))) as { files: IndexedFile[]; rows: number };
  let o = 12 + hlen;
  o += (8 - (o % 8)) % 8;
  const rowIds = new BigInt64Array(bytes.slice(o, o + header.rows * 8).buffer, 0, header.rows);
  o += header.rows * 8;
  return { kernel: body.subarray(o), rowIds, files: header.files };
}

/**
 * The index, given its float32 vectors in index order (each file's vectors in the file's order),
 * or null to leave them in their files (the caller re-ranks candidates it reads by range).
 */
export function loadVectorIndex(f: VectorIndexFile, vectors: Float32Array | null): VectorIndex {
  return VectorIndex.deserialize(f.kernel, vectors);
}
