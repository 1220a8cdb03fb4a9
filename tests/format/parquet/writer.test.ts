// The Parquet writer is checked against a real reader: DuckDB must read back exactly what was written.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { writeParquet, type ParquetColumn } from '../../../src/format/index.js';
import { Engine, type Session } from '../../../src/query/index.js';
import { tempDir } from '../../helpers/tmp.js';

const dir = tempDir();
let n = 0;
let engine: Engine;
let session: Session;

async function roundTrip(cols: ParquetColumn[], sql = 'select * from f'): Promise<Record<string, unknown>[]> {
  engine ??= await Engine.create({ threads: 1 });
  session ??= await engine.session();
  const path = join(dir, `f${n++}.parquet`);
  const { parts } = writeParquet(cols, { pageBytesMax: 64, rowGroupRowsMax: 7 });
  writeFileSync(path, Buffer.concat(parts));
  return (await session.all(sql.replace('from f', `from read_parquet('${path}')`))).rows;
}

after(() => {
  session?.close();
  engine?.close();
});

describe('writeParquet', () => {
  it('round-trips scalars, nulls, lists and nested float lists through DuckDB across pages and row groups', async () => {
    const N = 25;
    const rows = await roundTrip([
      { name: 'id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from({ length: N }, (_, i) => BigInt(i)) },
      { name: 's', leaf: 'utf8', nullable: true, listDepth: 0, values: Array.from({ length: N }, (_, i) => (i % 4 === 0 ? null : `s${i}`)) },
      { name: 'b', leaf: 'boolean', nullable: true, listDepth: 0, values: Array.from({ length: N }, (_, i) => (i % 5 === 0 ? null : i % 2 === 0)) },
      { name: 'f', leaf: 'float64', nullable: true, listDepth: 0, values: Array.from({ length: N }, (_, i) => i / 3) },
      { name: 'l', leaf: 'utf8', nullable: true, listDepth: 1, elementNullable: true, values: Array.from({ length: N }, (_, i) => (i % 3 === 0 ? null : i % 3 === 1 ? [] : ['a', null, `x${i}`])) },
      { name: 'v', leaf: 'float32', nullable: true, listDepth: 1, values: Array.from({ length: N }, (_, i) => (i === 7 ? null : new Float32Array([i, i + 0.5]))) },
      { name: 'vv', leaf: 'float32', nullable: true, listDepth: 2, values: Array.from({ length: N }, (_, i) => (i % 6 === 0 ? null : [new Float32Array([i]), new Float32Array([1, 2, 3])])) },
      { name: 'blob', leaf: 'binary', nullable: true, listDepth: 0, values: Array.from({ length: N }, (_, i) => (i === 3 ? null : new Uint8Array(i * 400).fill(i))) },
    ], 'select * from f order by id');
    assert.equal(rows.length, N);
    for (let i = 0; i < N; i++) {
      const r = rows[i];
      assert.equal(r.id, BigInt(i));
      assert.equal(r.s, i % 4 === 0 ? null : `s${i}`);
      assert.equal(r.b, i % 5 === 0 ? null : i % 2 === 0);
      assert.equal(r.f, i / 3);
      assert.deepEqual(r.l, i % 3 === 0 ? null : i % 3 === 1 ? [] : ['a', null, `x${i}`]);
      assert.deepEqual(r.v, i === 7 ? null : new Float32Array([i, i + 0.5]));
      assert.deepEqual(r.vv, i % 6 === 0 ? null : [new Float32Array([i]), new Float32Array([1, 2, 3])]);
      assert.deepEqual(r.blob === null ? null : [...(r.blob as Uint8Array)], i === 3 ? null : [...new Uint8Array(i * 400).fill(i)]);
    }
  });

  it('writes min/max statistics that let DuckDB prune row groups', async () => {
    const rows = await roundTrip(
      [{ name: 'id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from({ length: 100 }, (_, i) => BigInt(i)) }],
      'select count(*) as c from f where id between 10 and 19',
    );
    assert.equal(rows[0].c, 10n);
  });

  it('round-trips random integer and text columns (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ i: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), s: fc.option(fc.string()), l: fc.option(fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 5 })) }), { minLength: 1, maxLength: 40 }),
        async (recs) => {
          const rows = await roundTrip([
            { name: 'k', leaf: 'int32', nullable: false, listDepth: 0, values: recs.map((_, i) => i) },
            { name: 'i', leaf: 'int32', nullable: true, listDepth: 0, values: recs.map((r) => r.i) },
            { name: 's', leaf: 'utf8', nullable: true, listDepth: 0, values: recs.map((r) => r.s) },
            { name: 'l', leaf: 'int32', nullable: true, listDepth: 1, values: recs.map((r) => r.l) },
          ], 'select * from f order by k');
          assert.deepEqual(rows.map((r) => ({ i: r.i, s: r.s, l: r.l })), recs.map((r) => ({ i: r.i, s: r.s, l: r.l })));
        },
      ),
      { numRuns: 30, seed: 42 },
    );
  });

  it('writes required int64 bigints (the typed-array path) byte for byte as the per-value path does', () => {
    // Numbers take the per-value path; bigints of the same values the page-at-a-time one.
    const ids = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1009);
    for (const options of [{}, { pageBytesMax: 64, rowGroupRowsMax: 7 }, { pageBytesMax: 100, rowGroupRowsMax: 300 }]) {
      const col = (values: unknown[]): ParquetColumn[] => [{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values }];
      const slow = writeParquet(col(ids), options);
      const fast = writeParquet(col(ids.map(BigInt)), options);
      assert.deepEqual(Buffer.concat(fast.parts), Buffer.concat(slow.parts));
    }
  });

  it('refuses columns of unequal length and nulls in required columns', () => {
    assert.throws(() => writeParquet([
      { name: 'a', leaf: 'int32', nullable: false, listDepth: 0, values: [1, 2] },
      { name: 'b', leaf: 'int32', nullable: false, listDepth: 0, values: [1] },
    ]), /has 1 rows, expected 2/);
    assert.throws(() => writeParquet([{ name: 'a', leaf: 'int32', nullable: false, listDepth: 0, values: [null] }]), /required/);
  });
});
