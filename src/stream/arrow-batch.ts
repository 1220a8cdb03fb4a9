// A stream batch as an Arrow record batch, built from its typed arrays without a copy per
// value: tensors become primitive vectors (a row of an image or vector tensor is one
// FixedSizeList entry), text and bytes become Utf8 and Binary. Invariant: the Arrow schema
// depends only on the stream's columns and options, so every batch of a stream shares it.

import * as arrow from 'apache-arrow';
import type { BatchColumn, StreamBatch, TensorData, TensorDtype } from './batch.js';

const ARROW: Record<TensorDtype, () => arrow.DataType> = {
  bool: () => new arrow.Uint8(),
  int8: () => new arrow.Int8(),
  int16: () => new arrow.Int16(),
  int32: () => new arrow.Int32(),
  int64: () => new arrow.Int64(),
  uint8: () => new arrow.Uint8(),
  uint16: () => new arrow.Uint16(),
  uint32: () => new arrow.Uint32(),
  uint64: () => new arrow.Uint64(),
  float32: () => new arrow.Float32(),
  float64: () => new arrow.Float64(),
};

/** The batch as one Arrow record batch: `row_id`, then the columns in the stream's order. */
export function batchToArrow(b: StreamBatch): arrow.RecordBatch {
  const fields: arrow.Field[] = [new arrow.Field('row_id', new arrow.Int64(), false)];
  const children: arrow.Data[] = [arrow.makeData({ type: new arrow.Int64(), length: b.rows, data: b.rowId })];
  for (const [name, c] of Object.entries(b.columns)) {
    const data = columnData(c, b.rows);
    // A tensor row's shape (an image's height, width, channels) rides in the field's metadata.
    const meta = c.kind === 'tensor' && c.shape.length > 1 ? new Map([['quiver:shape', JSON.stringify(c.shape.slice(1))]]) : undefined;
    fields.push(new arrow.Field(name, data.type, true, meta));
    children.push(data);
  }
  const struct = new arrow.Struct(fields);
  return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: struct, length: b.rows, children }));
}

function columnData(c: BatchColumn, rows: number): arrow.Data {
  switch (c.kind) {
    case 'tensor':
      return tensorData(c.dtype, c.shape, c.data, c.valid, rows);
    case 'text':
      return arrow.vectorFromArray(c.values, new arrow.Utf8()).data[0];
    case 'bytes':
      return arrow.vectorFromArray(c.values, new arrow.Binary()).data[0];
    case 'values':
      return arrow.vectorFromArray(c.values.map((v) => (v === null ? null : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)))), new arrow.Utf8()).data[0];
  }
}

function tensorData(dtype: TensorDtype, shape: number[], data: TensorData, valid: Uint8Array | null, rows: number): arrow.Data {
  const type = ARROW[dtype]();
  const nullBitmap = valid ? packBits(valid) : undefined;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape.length === 1) return arrow.makeData({ type: type as arrow.Int32, length: rows, data: data as never, nullBitmap });
  const child = arrow.makeData({ type: type as arrow.Int32, length: rows * per, data: data as never });
  return arrow.makeData({ type: new arrow.FixedSizeList(per, new arrow.Field('item', type, false)), length: rows, child, nullBitmap });
}

function packBits(valid: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) out[i >> 3] |= 1 << (i & 7);
  });
  return out;
}
