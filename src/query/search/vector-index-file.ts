// A persisted vector index: the kernel's own bytes plus which row ids it holds and which
// large-column files they were read from. A later version uses the index for rows whose file is
// still current and live; everything else (new appends, rewritten files) is searched exactly.

import { QuiverError } from '../../errors.js';
import { sha256Hex } from '../../format/index.js';
import { VectorIndex } from '../../index/index.js';

export interface IndexedFile {
  key: string;
  /** Index rows [start, start + rows) came from this file. */
  start: number;
  rows: number;
}

export interface VectorIndexFile {
  index: VectorIndex;
  /** Row id of each index row (ordinal), in file order. */
  rowIds: BigInt64Array;
  files: IndexedFile[];
}

const MAGIC = 'QVIX';
const VERSION = 1;

/** Layout: magic, version, header length, header JSON, row ids, kernel bytes; then a SHA-256 of all before it. */
export function encodeVectorIndexFile(f: VectorIndexFile): Uint8Array[] {
  const header = new TextEncoder().encode(JSON.stringify({ files: f.files, rows: f.rowIds.length }));
  const kernel = f.index.serialize();
  const head = new Uint8Array(12);
  head.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(head.buffer);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, header.length, true);
  const pad = new Uint8Array((8 - ((12 + header.length) % 8)) % 8);
  const ids = new Uint8Array(f.rowIds.buffer, f.rowIds.byteOffset, f.rowIds.byteLength);
  const parts = [head, header, pad, ids, kernel];
  const hash = new Uint8Array(Buffer.from(sha256Hex(Buffer.concat(parts)), 'hex'));
  return [...parts, hash];
}

export function decodeVectorIndexFile(bytes: Uint8Array, key: string): VectorIndexFile {
  const corrupt = (why: string) => new QuiverError('corrupt', `index: ${key} is corrupt: ${why}`, { key });
  if (bytes.length < 44 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw corrupt('bad magic');
  const body = bytes.subarray(0, bytes.length - 32);
  if (sha256Hex(body) !== Buffer.from(bytes.subarray(bytes.length - 32)).toString('hex')) throw corrupt('checksum mismatch');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(4, true) !== VERSION) throw new QuiverError('unsupported', `index: ${key} has index format ${dv.getUint32(4, true)}`);
  const hlen = dv.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen))) as { files: IndexedFile[]; rows: number };
  let o = 12 + hlen;
  o += (8 - (o % 8)) % 8;
  const idBytes = bytes.slice(o, o + header.rows * 8);
  const rowIds = new BigInt64Array(idBytes.buffer, 0, header.rows);
  o += header.rows * 8;
  const index = VectorIndex.deserialize(body.slice(o));
  return { index, rowIds, files: header.files };
}
