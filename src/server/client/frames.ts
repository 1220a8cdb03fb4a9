// Reads the stream route's npy frames (server/npy-frames.ts) back into the StreamBatch objects
// an embedded `ds.stream()` yields: tensors as typed arrays of their dtype and shape, text and
// bytes as value lists (nulls where the frame's `valid` part says so), JSON values parsed.
// Invariant: a frame's arrays are consumed exactly as its header lists them; a stream that ends
// inside a frame, or without its end frame, is `corrupt`; an error frame is the server's error.

import { QuiverError, type ErrorCode } from '../../errors.js';
import type { BatchColumn, StreamBatch, StreamCursor, TensorData, TensorDtype } from '../../stream/index.js';
import type { BatchFrameHeader } from '../npy-frames.js';

const DTYPE_OF: Record<string, { dtype: TensorDtype; make: (b: ArrayBuffer) => TensorData }> = {
  '|b1': { dtype: 'bool', make: (b) => new Uint8Array(b) },
  '|i1': { dtype: 'int8', make: (b) => new Int8Array(b) },
  '<i2': { dtype: 'int16', make: (b) => new Int16Array(b) },
  '<i4': { dtype: 'int32', make: (b) => new Int32Array(b) },
  '<i8': { dtype: 'int64', make: (b) => new BigInt64Array(b) },
  '|u1': { dtype: 'uint8', make: (b) => new Uint8Array(b) },
  '<u2': { dtype: 'uint16', make: (b) => new Uint16Array(b) },
  '<u4': { dtype: 'uint32', make: (b) => new Uint32Array(b) },
  '<u8': { dtype: 'uint64', make: (b) => new BigUint64Array(b) },
  '<f4': { dtype: 'float32', make: (b) => new Float32Array(b) },
  '<f8': { dtype: 'float64', make: (b) => new Float64Array(b) },
};

const corrupt = (why: string) => new QuiverError('corrupt', `client: stream frames: ${why}`);

/** A .npy file (format 1.0, as npyOf writes it) as its dtype, shape and a typed array of its own. */
export function parseNpy(raw: Uint8Array): { dtype: TensorDtype; shape: number[]; data: TensorData } {
  if (raw.length < 10 || raw[0] !== 0x93 || raw[1] !== 0x4e || raw[6] !== 1) throw corrupt('an array is not a .npy of format 1.0');
  const len = raw[8] | (raw[9] << 8);
  const header = new TextDecoder().decode(raw.subarray(10, 10 + len));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const t = descr ? DTYPE_OF[descr] : undefined;
  if (!t || shape === undefined || /'fortran_order':\s*True/.test(header)) throw corrupt(`unexpected .npy header ${header.trim()}`);
  // A copy: the frame's bytes are not aligned for the dtype, and the batch outlives the buffer.
  const body = raw.slice(10 + len);
  return { dtype: t.dtype, shape: shape.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number), data: t.make(body.buffer) };
}

/** Reads exact byte counts from a body's chunks. */
class Bytes {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf = new Uint8Array(0);
  constructor(body: AsyncIterable<Uint8Array>) {
    this.#it = body[Symbol.asyncIterator]();
  }
  /** The next `n` bytes, or null at a clean end (no byte of them read). */
  async take(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) {
      const next = await this.#it.next();
      if (next.done) {
        if (this.#buf.length === 0) return null;
        throw corrupt('the stream ended inside a frame');
      }
      const joined = new Uint8Array(this.#buf.length + next.value.length);
      joined.set(this.#buf);
      joined.set(next.value, this.#buf.length);
      this.#buf = joined;
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
  async exactly(n: number): Promise<Uint8Array> {
    const b = await this.take(n);
    if (b === null) throw corrupt('the stream ended inside a frame');
    return b;
  }
  cancel(): Promise<unknown> | undefined {
    return this.#it.return?.();
  }
}

/** Values of an offsets + data pair. */
function varying(offsets: BigInt64Array, data: Uint8Array, encoding: string | undefined): (string | Uint8Array | unknown)[] {
  const dec = new TextDecoder();
  const out: unknown[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const b = data.slice(Number(offsets[i]), Number(offsets[i + 1]));
    out.push(encoding === 'bytes' ? b : encoding === 'json' ? (b.length ? JSON.parse(dec.decode(b)) : null) : dec.decode(b));
  }
  return out;
}

/** The batch of one frame's header and arrays. */
function batchOf(header: BatchFrameHeader, arrays: Uint8Array[]): StreamBatch {
  let rowId: BigInt64Array | undefined;
  const columns: Record<string, BatchColumn> = {};
  const offsets = new Map<string, BigInt64Array>();
  const valids = new Map<string, Uint8Array>();
  header.arrays.forEach((a, i) => {
    const npy = parseNpy(arrays[i]);
    if (a.part === 'valid') valids.set(a.column, npy.data as Uint8Array);
    else if (a.part === 'offsets') offsets.set(a.column, npy.data as BigInt64Array);
    else if (a.part === 'data') {
      const values = varying(offsets.get(a.column) ?? new BigInt64Array([0n]), npy.data as Uint8Array, a.encoding);
      columns[a.column] = a.encoding === 'bytes' ? { kind: 'bytes', values: values as Uint8Array[] } : a.encoding === 'json' ? { kind: 'values', values } : { kind: 'text', values: values as string[] };
    } else if (a.column === 'row_id' && rowId === undefined) rowId = npy.data as BigInt64Array;
    else columns[a.column] = { kind: 'tensor', dtype: npy.dtype, shape: npy.shape, data: npy.data, valid: null };
  });
  for (const [name, valid] of valids) {
    const c = columns[name];
    if (!c) throw corrupt(`a valid part for column ${name} without its values`);
    if (c.kind === 'tensor') c.valid = valid;
    else c.values.forEach((_, i) => valid[i] === 0 && (c.values[i] = null));
  }
  if (!rowId) throw corrupt('a batch frame without row ids');
  return { index: header.index, rows: header.rows, rowId, columns, skipped: header.skipped };
}

/**
 * The batches of an npy-frames body, each with the cursor that resumes after it. An `error`
 * frame throws the server's QuiverError; a body that ends without an `end` frame is `corrupt`.
 */
export async function* readFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ batch: StreamBatch; cursor: StreamCursor }> {
  const bytes = new Bytes(body);
  try {
    for (;;) {
      const len = await bytes.take(4);
      if (len === null) throw corrupt('the stream ended without its end frame');
      const header = JSON.parse(new TextDecoder().decode(await bytes.exactly(new DataView(len.buffer, len.byteOffset, 4).getUint32(0, true)))) as { type: string } & Record<string, unknown>;
      if (header.type === 'end') return;
      if (header.type === 'error') {
        const e = header.error as { code: ErrorCode; message: string; details?: Record<string, unknown> };
        throw new QuiverError(e.code, e.message, e.details ?? {});
      }
      if (header.type !== 'batch') throw corrupt(`unknown frame type ${JSON.stringify(header.type)}`);
      const h = header as unknown as BatchFrameHeader;
      const arrays: Uint8Array[] = [];
      for (const a of h.arrays) arrays.push(await bytes.exactly(a.bytes));
      yield { batch: batchOf(h, arrays), cursor: h.cursor };
    }
  } finally {
    await bytes.cancel();
  }
}
