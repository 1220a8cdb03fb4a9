// The wire format for clients with only a standard library and numpy (Python without pyarrow):
// a sequence of frames, each `u32 little-endian header length, header (UTF-8 JSON), arrays`.
// The header lists the arrays that follow with their byte lengths; a tensor is one .npy
// (format 1.0), text and bytes are an int64 offsets .npy plus a uint8 .npy of the values.
// The last frame is `{"type":"end"}` or, when the stream fails midway, `{"type":"error"}`.
// Invariant: the header's byte lengths add up to exactly the bytes that follow it.

import type { StreamBatch, StreamCursor, TensorData, TensorDtype } from '../stream/index.js';

/** numpy's dtype strings of our tensor dtypes (little-endian). */
const DESCR: Record<TensorDtype, string> = {
  bool: '|b1',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  float32: '<f4',
  float64: '<f8',
};

/** One array of a frame: which column it belongs to and what part of it it is. */
export interface FrameArray {
  column: string;
  /** 'tensor': the values; 'valid': uint8, 0 where null (tensors, and text or bytes holding a null); 'offsets' + 'data': text or bytes (or 'json' text). */
  part: 'tensor' | 'valid' | 'offsets' | 'data';
  /** For 'offsets' + 'data': how the bytes decode. */
  encoding?: 'utf8' | 'bytes' | 'json';
  bytes: number;
}

export interface BatchFrameHeader {
  type: 'batch';
  index: number;
  rows: number;
  skipped: number;
  /** The cursor that resumes after this batch. */
  cursor: StreamCursor;
  arrays: FrameArray[];
}

/** A .npy file (format 1.0) of `data` with `shape`. */
export function npyOf(dtype: TensorDtype, shape: readonly number[], data: TensorData | Uint8Array): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic, version, header length, header: padded with spaces so the data starts at a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

function varying(values: readonly (Uint8Array | string | null)[]): { offsets: Uint8Array; data: Uint8Array } {
  const enc = new TextEncoder();
  const parts = values.map((v) => (v === null ? new Uint8Array(0) : typeof v === 'string' ? enc.encode(v) : v));
  const offsets = new BigInt64Array(values.length + 1);
  let n = 0;
  parts.forEach((p, i) => (offsets[i + 1] = BigInt((n += p.length))));
  const data = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { offsets: npyOf('int64', [values.length + 1], offsets), data: npyOf('uint8', [n], data) };
}

/** One frame: the header's length, the header, then its arrays. */
function frame(header: object, arrays: Uint8Array[]): Uint8Array[] {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, head.length, true);
  return [len, head, ...arrays];
}

/** The frame of one batch, as parts to write in order. */
export function batchFrame(b: StreamBatch, cursor: StreamCursor): Uint8Array[] {
  const arrays: FrameArray[] = [];
  const bodies: Uint8Array[] = [];
  const add = (column: string, part: FrameArray['part'], bytes: Uint8Array, encoding?: FrameArray['encoding']) => {
    arrays.push({ column, part, bytes: bytes.length, ...(encoding ? { encoding } : {}) });
    bodies.push(bytes);
  };
  add('row_id', 'tensor', npyOf('int64', [b.rows], b.rowId));
  for (const [name, c] of Object.entries(b.columns)) {
    if (c.kind === 'tensor') {
      add(name, 'tensor', npyOf(c.dtype, c.shape, c.data));
      if (c.valid) add(name, 'valid', npyOf('uint8', [b.rows], c.valid));
      continue;
    }
    const encoding = c.kind === 'text' ? 'utf8' : c.kind === 'bytes' ? 'bytes' : 'json';
    const values = c.kind === 'values' ? c.values.map((v) => (v === null ? null : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)))) : c.values;
    const { offsets, data } = varying(values);
    add(name, 'offsets', offsets, encoding);
    add(name, 'data', data, encoding);
    // A null and an empty value have the same bytes: a `valid` part (0 where null) tells them apart.
    if (values.some((v) => v === null)) add(name, 'valid', npyOf('uint8', [b.rows], Uint8Array.from(values as readonly unknown[], (v) => (v === null ? 0 : 1))));
  }
  const header: BatchFrameHeader = { type: 'batch', index: b.index, rows: b.rows, skipped: b.skipped, cursor, arrays };
  return frame(header, bodies);
}

/** The last frame of a stream that ended. */
export function endFrame(stats: object): Uint8Array[] {
  return frame({ type: 'end', stats }, []);
}

/** The last frame of a stream that failed after its first byte (the status line was already sent). */
export function errorFrame(body: object): Uint8Array[] {
  return frame({ type: 'error', ...body }, []);
}
