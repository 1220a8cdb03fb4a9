// Random Parquet columns of every leaf type, nullability and list depth the writer supports, and
// what a reader must give back for each value: shared by the local and the ranged reader tests.
import fc from 'fast-check';
import type { ParquetColumn, ParquetLeaf } from '../../../src/format/index.js';

/** What the reader gives back for a value the writer was handed. */
export function expected(leaf: ParquetLeaf, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Float32Array) return Array.from(v);
  if (Array.isArray(v)) return v.map((x) => expected(leaf, x));
  if (leaf === 'float32') return Math.fround(v as number);
  if (v instanceof Uint8Array) return Array.from(v);
  return v;
}
export const normal = (v: unknown): unknown => (v instanceof Uint8Array ? Array.from(v) : Array.isArray(v) ? v.map(normal) : v);

export const leafValue: Record<ParquetLeaf, fc.Arbitrary<unknown>> = {
  boolean: fc.boolean(),
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  int32: fc.integer(),
  uint8: fc.integer({ min: 0, max: 255 }),
  uint16: fc.integer({ min: 0, max: 65535 }),
  uint32: fc.integer({ min: 0, max: 4294967295 }),
  int64: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  uint64: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  timestamp_us: fc.bigInt({ min: -(1n << 50n), max: 1n << 50n }),
  float32: fc.float({ noNaN: true }),
  float64: fc.double({ noNaN: true }),
  utf8: fc.string({ unit: 'grapheme', maxLength: 12 }),
  json: fc.json(),
  binary: fc.uint8Array({ maxLength: 9 }),
};

export const columnArb = (rows: number, name: string): fc.Arbitrary<ParquetColumn> =>
  fc
    .record({ leaf: fc.constantFrom(...(Object.keys(leafValue) as ParquetLeaf[])), nullable: fc.boolean(), listDepth: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, elementNullable: fc.boolean() })
    .chain(({ leaf, nullable, listDepth, elementNullable }) => {
      const leafArb = leafValue[leaf];
      const el = listDepth === 1 && elementNullable ? fc.option(leafArb, { nil: null }) : leafArb;
      const one = listDepth === 0 ? leafArb : listDepth === 1 ? fc.array(el, { maxLength: 4 }) : fc.array(fc.array(leafArb, { maxLength: 3 }), { maxLength: 3 });
      const row = nullable ? fc.option(one, { nil: null }) : one;
      return fc.array(row, { minLength: rows, maxLength: rows }).map((values): ParquetColumn => ({ name, leaf, nullable, listDepth, elementNullable: listDepth === 1 && elementNullable, values }));
    });

