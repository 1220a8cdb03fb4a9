// The ranged reader gives the same rows as the local one, and its cost is the pages that hold
// the rows asked for: counted by a CountingStore under the byte source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openRanged, planRowReads, readRowsRanged, writeParquet, type ParquetColumn } from '../../../src/format/index.js';
import { byteSourceOf, concatParts, CountingStore, MemoryStore } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { columnArb, expected, normal } from './columns.arb.js';

async function stored(cols: ParquetColumn[], rowGroupRowsMax: number, pageBytesMax: number, offsetIndex = true) {
  const store = new CountingStore(new MemoryStore());
  const { parts, size } = writeParquet(cols, { rowGroupRowsMax, pageBytesMax, offsetIndex });
  await store.put('f.parquet', parts);
  return { store, size, source: byteSourceOf(store, 'f.parquet', size, { gapBytesMax: 0 }) };
}

const ids = (rows: number): ParquetColumn => ({ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => BigInt(i)) });

describe('ranged parquet reader', () => {
  it('reads any rows back as the writer was given them, with and without offset indexes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.nat(), { maxLength: 3 }).chain((s) => fc.tuple(...s.map((_, i) => columnArb(rows, `c${i}`)))), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 200 }), fc.array(fc.nat(rows - 1), { minLength: 1, maxLength: 8 }), fc.boolean())),
        async ([rows, extra, groupRows, pageBytes, picks, indexed]) => {
          const cols = [ids(rows), ...extra];
          const { source } = await stored(cols, groupRows, pageBytes, indexed);
          const file = await openRanged(source);
          assert.equal(file.footer.rows, rows);
          const wanted = [...new Set(picks)].sort((a, b) => a - b);
          const reads = file.footer.rowGroups.flatMap((rg, g) => {
            const here = wanted.filter((p) => p >= rg.first && p < rg.first + rg.rows).map((p) => p - rg.first);
            return here.length ? cols.map((_, c) => ({ column: c, group: g, positions: here, first: rg.first })) : [];
          });
          const got = await readRowsRanged(file, reads);
          reads.forEach((r, i) => {
            const c = cols[r.column];
            assert.deepEqual(got[i].map(normal), r.positions.map((p) => expected(c.leaf, c.values[r.first + p])), `column ${c.name} (${c.leaf}, depth ${c.listDepth}), indexed ${indexed}`);
          });
        },
      ),
      { numRuns: 150, seed: 20261202 },
    );
  });

  it('reads only the pages that hold the rows asked for, in one request per run of adjacent pages, and opens a small file in one read', async () => {
    const rows = 400;
    const blobs: ParquetColumn = { name: 'image', leaf: 'binary', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => new Uint8Array(1000).fill(i % 251)) };
    const { store, source } = await stored([ids(rows), blobs], 10_000, 1000); // one blob a page
    store.reset();
    const file = await openRanged(source);
    assert.equal(store.counts.gets, 1, 'open reads the tail once');
    store.reset();
    const positions = [3, 77, 78, 390];
    const [images] = await readRowsRanged(file, [{ column: 1, group: 0, positions }]);
    assert.deepEqual(images.map((b) => (b as Uint8Array)[0]), positions.map((p) => p % 251));
    assert.equal(store.counts.gets, 3, 'pages 77 and 78 are adjacent: one request');
    assert.ok(store.counts.getBytes < positions.length * 1100, `${store.counts.getBytes} bytes for ${positions.length} images of 1000 bytes`);
  });

  it('ends a page before the value that would take it past the page bound, so one value costs one page', async () => {
    const rows = 12;
    const blobs: ParquetColumn = { name: 'image', leaf: 'binary', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => new Uint8Array(50_000).fill(i)) };
    const { store, source } = await stored([ids(rows), blobs], 10_000, 64 * 1024);
    const file = await openRanged(source);
    assert.equal(file.pages[0][1]!.length, rows, 'one 50 KB value per 64 KiB page');
    store.reset();
    const [got] = await readRowsRanged(file, [{ column: 1, group: 0, positions: [5] }]);
    assert.equal((got[0] as Uint8Array)[0], 5);
    assert.ok(store.counts.getBytes < 51_000, `read ${store.counts.getBytes} bytes for one 50,000-byte value`);
  });

  it('plans a chunk read for a file without offset indexes', async () => {
    const { source, size } = await stored([ids(50)], 100, 40, false);
    const file = await openRanged(source);
    const plan = planRowReads(file, [{ column: 0, group: 0, positions: [7] }]);
    const c = file.footer.rowGroups[0].chunks[0];
    assert.deepEqual(plan, [{ offset: c.offset, length: c.size }]);
    assert.ok(c.offset + c.size < size);
  });

  it('reports a cut file and a garbled offset index as corrupt', async () => {
    const cols = [ids(30)];
    const { parts } = writeParquet(cols, { pageBytesMax: 16 });
    const bytes = concatParts(parts);
    const store = new MemoryStore();
    await store.put('cut', bytes.subarray(0, bytes.length - 5));
    await assert.rejects(openRanged(byteSourceOf(store, 'cut', bytes.length - 5)), (e) => isQuiverError(e, 'corrupt'));
    const { source } = await stored(cols, 100, 16);
    const file = await openRanged(source);
    const oi = file.footer.rowGroups[0].chunks[0].offsetIndex!;
    const g = bytes.slice();
    g.fill(0xff, oi.offset, oi.offset + oi.length);
    await store.put('garbled', g);
    await assert.rejects(openRanged(byteSourceOf(store, 'garbled', g.length)), (e) => isQuiverError(e, 'corrupt'));
  });
});
