// A stream's batch: columnar, one typed array (tensor) per numeric, vector or decoded image
// column, value lists for text and bytes. `buildBatch` turns read values into it, decoding
// images and applying the undecodable policy. Invariant: every column of a batch has exactly
// `rows` entries, in the same order as `rowId`.

import { QuiverError } from '../errors.js';
import type { ColumnDef } from '../format/index.js';
import { decodeImage, dtypeBytes, imageElements, placeImage } from './decode.js';
import type { ResolvedDecode } from './options.js';
import type { RawBatch } from './read-batch.js';

export type TensorDtype = 'bool' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32' | 'float64';
export type TensorData = Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array;

/** A column of a batch. `valid[i]` is 0 where row i's value is null (tensor and its zeros). */
export type BatchColumn =
  | { kind: 'tensor'; dtype: TensorDtype; shape: number[]; data: TensorData; valid: Uint8Array | null }
  | { kind: 'text'; values: (string | null)[] }
  | { kind: 'bytes'; values: (Uint8Array | null)[] }
  | { kind: 'values'; values: unknown[] };

export interface StreamBatch {
  /** The batch's global index in the epoch (batch k of every rank's batches, in the canonical order). */
  index: number;
  rows: number;
  rowId: BigInt64Array;
  columns: Record<string, BatchColumn>;
  /** Rows dropped from this batch because an image did not decode (policy 'skip'). */
  skipped: number;
}

const TENSOR: Partial<Record<string, { dtype: TensorDtype; make: (n: number) => TensorData }>> = {
  bool: { dtype: 'bool', make: (n) => new Uint8Array(n) },
  int8: { dtype: 'int8', make: (n) => new Int8Array(n) },
  int16: { dtype: 'int16', make: (n) => new Int16Array(n) },
  int32: { dtype: 'int32', make: (n) => new Int32Array(n) },
  int64: { dtype: 'int64', make: (n) => new BigInt64Array(n) },
  timestamp: { dtype: 'int64', make: (n) => new BigInt64Array(n) },
  uint8: { dtype: 'uint8', make: (n) => new Uint8Array(n) },
  uint16: { dtype: 'uint16', make: (n) => new Uint16Array(n) },
  uint32: { dtype: 'uint32', make: (n) => new Uint32Array(n) },
  uint64: { dtype: 'uint64', make: (n) => new BigUint64Array(n) },
  float32: { dtype: 'float32', make: (n) => new Float32Array(n) },
  float64: { dtype: 'float64', make: (n) => new Float64Array(n) },
};

/** Bytes one row of `c` takes in a batch, when fixed (a tensor); null for variable-size values. */
export function fixedRowBytes(c: ColumnDef, decode: ResolvedDecode | undefined): number | null {
  if (decode) return imageElements(decode) * dtypeBytes(decode);
  if (c.type.kind === 'embedding') return c.type.dim * 4 + 1;
  const t = TENSOR[c.type.kind];
  return t ? t.make(1).BYTES_PER_ELEMENT + 1 : null;
}

/** The batch of read values `raw` for rows `rowId`, images decoded; rows whose image fails follow `policy`. */
export async function buildBatch(index: number, rowId: BigInt64Array, raw: RawBatch, columns: readonly ColumnDef[], decode: ReadonlyMap<string, ResolvedDecode>, policy: 'fail' | 'skip', stopped: () => boolean = () => false): Promise<StreamBatch> {
  const decoded = new Map<string, DecodedImages>();
  for (const [name, d] of decode) decoded.set(name, await decodeColumn(raw.get(name)!, d, stopped));
  const keep: number[] = [];
  for (let i = 0; i < rowId.length; i++) {
    const bad = [...decoded].find(([, img]) => img.bad[i] === 1);
    if (!bad) keep.push(i);
    else if (policy === 'fail') throw new QuiverError('corrupt', `stream: the image of column "${bad[0]}" does not decode, row id ${rowId[i]}`, { column: bad[0], rowId: String(rowId[i]) });
  }
  const out: Record<string, BatchColumn> = {};
  for (const c of columns) {
    const d = decode.get(c.name);
    out[c.name] = d ? imageColumn(decoded.get(c.name)!, keep, d) : column(c, raw.get(c.name)!, keep);
  }
  return { index, rows: keep.length, rowId: BigInt64Array.from(keep, (i) => rowId[i]), columns: out, skipped: rowId.length - keep.length };
}

interface DecodedImages {
  data: Uint8Array | Float32Array;
  valid: Uint8Array;
  bad: Uint8Array;
}

/**
 * Images being decoded at once per column: twice libuv's default 4 threads, so the pool never
 * idles, yet a stream that stops leaves at most this many decodes running (submitting all of a
 * batch's 256 at once kept ~0.5 s of decoding going after the consumer had left, measured as the
 * next stream's first batch taking ~1.0 s instead of ~0.5 s).
 */
export const DECODES_IN_FLIGHT_MAX = 8;

/** Decodes every image of a column straight into the batch tensor, so a decoded image's own buffer dies at once; `closed` once `stopped()`. */
async function decodeColumn(values: unknown[], d: ResolvedDecode, stopped: () => boolean): Promise<DecodedImages> {
  const n = imageElements(d);
  const data = d.dtype === 'uint8' ? new Uint8Array(values.length * n) : new Float32Array(values.length * n);
  const valid = new Uint8Array(values.length);
  const bad = new Uint8Array(values.length);
  let next = 0;
  const lane = async () => {
    while (next < values.length) {
      const i = next++;
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (stopped()) throw new QuiverError('closed', 'stream: stopped while decoding a batch');
      const px = await decodeImage(v as Uint8Array, d);
      if (!px) bad[i] = 1;
      else {
        placeImage(px, d, data, i);
        valid[i] = 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODES_IN_FLIGHT_MAX, values.length) }, lane));
  return { data, valid, bad };
}

function imageColumn(img: DecodedImages, keep: number[], d: ResolvedDecode): BatchColumn {
  const n = imageElements(d);
  let { data, valid } = img;
  if (keep.length < valid.length) {
    // Rows were skipped: the kept images move up (the rare path; a copy of the kept pixels).
    const kept = d.dtype === 'uint8' ? new Uint8Array(keep.length * n) : new Float32Array(keep.length * n);
    keep.forEach((i, j) => kept.set(data.subarray(i * n, (i + 1) * n), j * n));
    data = kept;
    valid = Uint8Array.from(keep, (i) => img.valid[i]);
  }
  const shape = d.layout === 'hwc' ? [keep.length, d.height, d.width, d.channels] : [keep.length, d.channels, d.height, d.width];
  return { kind: 'tensor', dtype: d.dtype, shape, data, valid: valid.every((v) => v === 1) ? null : valid };
}

function column(c: ColumnDef, values: unknown[], keep: number[]): BatchColumn {
  const k = c.type.kind;
  if (k === 'text' || k === 'json') return { kind: 'text', values: keep.map((i) => (values[i] ?? null) as string | null) };
  if (k === 'binary' || k === 'image') return { kind: 'bytes', values: keep.map((i) => (values[i] ?? null) as Uint8Array | null) };
  if (c.type.kind === 'embedding') return embeddingColumn(values, keep, c.type.dim);
  const t = TENSOR[k];
  if (!t) return { kind: 'values', values: keep.map((i) => values[i] ?? null) };
  const data = t.make(keep.length);
  const valid = new Uint8Array(keep.length);
  keep.forEach((i, j) => {
    const v = values[i];
    if (v === null || v === undefined) return;
    valid[j] = 1;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[j] = BigInt(v as bigint);
    else data[j] = typeof v === 'boolean' ? Number(v) : (v as number);
  });
  return { kind: 'tensor', dtype: t.dtype, shape: [keep.length], data, valid: valid.every((v) => v === 1) ? null : valid };
}

function embeddingColumn(values: unknown[], keep: number[], dim: number): BatchColumn {
  const data = new Float32Array(keep.length * dim);
  const valid = new Uint8Array(keep.length);
  keep.forEach((i, j) => {
    const v = values[i] as ArrayLike<number> | null;
    if (!v) return;
    valid[j] = 1;
    data.set(v, j * dim);
  });
  return { kind: 'tensor', dtype: 'float32', shape: [keep.length, dim], data, valid: valid.every((v) => v === 1) ? null : valid };
}
