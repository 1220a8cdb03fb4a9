// The row reader is checked against the writer's input (a property over random columns, page
// and row-group sizes) and refuses what it does not read: compressed or dictionary-encoded
// files written by DuckDB, and cut or garbled bytes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { openFile, readFooter, readInt64Column, readRows, readVectorColumn, writeParquet, type ParquetColumn, type ParquetLeaf } from '../../../src/format/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { Engine } from '../../../src/query/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { columnArb, expected, normal } from './columns.arb.js';

const dir = tempDir();
let n = 0;

function write(cols: ParquetColumn[], rowGroupRowsMax: number, pageBytesMax: number): string {
  const path = join(dir, `r${n++}.parquet`);
  writeFileSync(path, Buffer.concat(writeParquet(cols, { rowGroupRowsMax, pageBytesMax }).parts));
  return path;
}

describe('parquet reader', () => {
  it('reads any rows back as the writer was given them, across pages and row groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.integer({ min: 0, max: 1e9 }), { maxLength: 3 }).chain((seeds) => fc.tuple(...seeds.map((_, i) => columnArb(rows, `c${i}`)))), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 200 }), fc.array(fc.nat(rows - 1), { minLength: 1, maxLength: 8 }))),
        async ([rows, extra, groupRows, pageBytes, picks]) => {
          const ids: ParquetColumn = { name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => BigInt(i * 3)) };
          const cols = [ids, ...extra];
          const path = write(cols, groupRows, pageBytes);
          const f = openFile(path);
          try {
            const footer = readFooter(f);
            assert.equal(footer.rows, rows);
            assert.deepEqual(footer.columns.map((c) => [c.name, c.leaf, c.listDepth, c.nullable]), cols.map((c) => [c.name, c.leaf, c.listDepth, c.nullable]));
            const wanted = [...new Set(picks)].sort((a, b) => a - b);
            for (let g = 0; g < footer.rowGroups.length; g++) {
              const rg = footer.rowGroups[g];
              const ids = readInt64Column(f, footer, 0, g);
              assert.deepEqual(Array.from(ids), Array.from({ length: rg.rows }, (_, i) => BigInt((rg.first + i) * 3)));
              assert.equal(rg.chunks[0].min, ids[0]);
              assert.equal(rg.chunks[0].max, ids[ids.length - 1]);
              const here = wanted.filter((p) => p >= rg.first && p < rg.first + rg.rows).map((p) => p - rg.first);
              if (here.length === 0) continue;
              for (let c = 0; c < cols.length; c++) {
                const got = readRows(f, footer, c, g, here);
                assert.deepEqual(got.map(normal), here.map((p) => expected(cols[c].leaf, cols[c].values[rg.first + p])), `column ${cols[c].name} (${cols[c].leaf}, depth ${cols[c].listDepth})`);
              }
            }
          } finally {
            f.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads rows of fixed-width lists whose pages hold only present values (vectors) as it reads any other list page', async () => {
    // Such pages take a path of their own (decodeDenseLists); a row that is NULL, empty or holds a
    // NULL element sends its page down the general one, so both run, side by side in one file.
    const leaves = ['int32', 'uint32', 'int64', 'uint64', 'float32', 'float64'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...leaves),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.nat(59), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 1e9 }),
        async (leaf, dim, rows, holes, groupRows, pageBytes, picks, seed) => {
          const values = Array.from({ length: rows }, (_, i) => {
            const r = (seed + i * 7919) % 13;
            if (holes && r === 0) return null;
            if (holes && r === 1) return [];
            const list = Array.from({ length: dim }, (_, k) => {
              const x = ((seed + i * 31 + k * 17) % 2000) - 1000;
              if (holes && r === 2 && k === 0) return null;
              return leaf === 'int64' ? BigInt(x) : leaf === 'uint64' ? BigInt(x + 1000) : leaf.startsWith('uint') ? x + 1000 : leaf.startsWith('float') ? x / 8 : x;
            });
            return leaf === 'float32' && !list.includes(null) ? Float32Array.from(list as number[]) : list;
          });
          const col: ParquetColumn = { name: 'v', leaf: leaf as ParquetLeaf, nullable: holes, listDepth: 1, elementNullable: holes, values };
          const path = write([{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: values.map((_, i) => BigInt(i)) }, col], groupRows, pageBytes);
          const f = openFile(path);
          try {
            const footer = readFooter(f);
            const wanted = [...new Set(picks.filter((p) => p < rows))].sort((a, b) => a - b);
            for (let g = 0; g < footer.rowGroups.length; g++) {
              const rg = footer.rowGroups[g];
              const here = wanted.filter((p) => p >= rg.first && p < rg.first + rg.rows).map((p) => p - rg.first);
              if (here.length) assert.deepEqual(readRows(f, footer, 1, g, here).map(normal), here.map((p) => expected(col.leaf, values[rg.first + p])), `${leaf} × ${dim}, holes ${holes}`);
            }
          } finally {
            f.close();
          }
        },
      ),
      { numRuns: 150, seed: 20261204 },
    );
  });

  it('reads embedding and list-of-embedding columns as per-row vector counts and their values in order', async () => {
    const dim = 3;
    const vec = fc.array(fc.float({ noNaN: true }), { minLength: dim, maxLength: dim }).map((a) => Float32Array.from(a));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 2), fc.array(fc.option(fc.array(vec, { maxLength: 3 }), { nil: null }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 100 }), async (depth, rows, groupRows, pageBytes) => {
        // depth 1 holds one vector per row (or NULL); depth 2 a list of them (or NULL, or empty)
        const values = rows.map((r) => (r === null ? null : depth === 1 ? (r[0] ?? null) : r));
        const path = write([{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: values.map((_, i) => BigInt(i)) }, { name: 'v', leaf: 'float32', nullable: true, listDepth: depth as 1 | 2, values }], groupRows, pageBytes);
        const f = openFile(path);
        try {
          const footer = readFooter(f);
          const counts: number[] = [];
          const data: number[] = [];
          for (let g = 0; g < footer.rowGroups.length; g++) {
            // Half the groups into a buffer that is too small, so the growth path runs too.
            const r = g % 2 ? readVectorColumn(f, footer, 1, g, dim, new Float32Array(2), 1) : readVectorColumn(f, footer, 1, g, dim);
            counts.push(...r.counts);
            data.push(...r.data.subarray(g % 2, r.end));
          }
          const want = values.map((v) => (v === null ? [] : v instanceof Float32Array ? [v] : (v as Float32Array[])));
          assert.deepEqual(counts, want.map((v) => v.length));
          assert.deepEqual(data, want.flatMap((v) => v.flatMap((x) => Array.from(x))));
          const g0 = values.slice(0, footer.rowGroups[0].rows);
          if (g0.some((v) => v !== null && (v instanceof Float32Array || (v as Float32Array[]).length > 0))) assert.throws(() => readVectorColumn(f, footer, 1, 0, dim + 1), (e) => isQuiverError(e, 'corrupt'));
        } finally {
          f.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('names what it cannot read: DuckDB-written (compressed, dictionary) files are unsupported, cut files corrupt', async () => {
    const engine = await Engine.create({ threads: 1 });
    const s = await engine.session();
    after(() => {
      s.close();
      engine.close();
    });
    const duck = join(dir, 'duck.parquet');
    await s.run(`COPY (SELECT i AS row_id, 'v' || (i % 3) AS s FROM range(1000) t(i)) TO '${duck}' (FORMAT parquet, COMPRESSION zstd)`);
    const f = openFile(duck);
    const footer = readFooter(f);
    assert.throws(() => readRows(f, footer, 1, 0, [5]), (e) => isQuiverError(e, 'unsupported'));
    f.close();

    const ours = write([{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: [1n, 2n, 3n] }], 10, 100);
    const bytes = (await import('node:fs')).readFileSync(ours);
    const cut = join(dir, 'cut.parquet');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 3));
    const c = openFile(cut);
    assert.throws(() => readFooter(c), (e) => isQuiverError(e, 'corrupt'));
    c.close();
    const garbled = join(dir, 'garbled.parquet');
    const g = Buffer.from(bytes);
    g.fill(0xff, g.length - 8 - 20, g.length - 8);
    writeFileSync(garbled, g);
    const gf = openFile(garbled);
    assert.throws(() => readFooter(gf), (e) => isQuiverError(e, 'corrupt') || isQuiverError(e, 'unsupported'));
    gf.close();
  });
});
