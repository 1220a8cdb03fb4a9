// The ranged reader gives the same rows as the local one, and its cost is the pages that hold
// the rows asked for: counted by a CountingStore under the byte source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { openRanged, openRangedByParts, planRowReads, readRowsRanged, writeParquet, type ParquetColumn } from '../../../src/format/index.js';
import { byteSourceOf, concatParts, CountingStore, MemoryStore, type AsyncByteSource } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { columnArb, expected, normal } from './columns.arb.js';

async function stored(cols: ParquetColumn[], rowGroupRowsMax: number, pageBytesMax: number, offsetIndex = true, offsetIndexPartEntries?: number) {
  const store = new CountingStore(new MemoryStore());
  const { parts, size, tail } = writeParquet(cols, { rowGroupRowsMax, pageBytesMax, offsetIndex, offsetIndexPartEntries });
  await store.put('f.parquet', parts);
  return { store, size, tail, source: byteSourceOf(store, 'f.parquet', size, { gapBytesMax: 0 }) };
}

/** Opens a layout-2 file by its footer alone, as LargeValues does: the footer's CRC-32 checked first. */
async function openByFooter(source: AsyncByteSource, footer: { bytes: number; crc32: number }) {
  const [bytes] = await source.read([{ offset: source.size - footer.bytes, length: footer.bytes }]);
  assert.equal(crc32(bytes), footer.crc32, 'the footer CRC-32 the writer reports matches its bytes');
  return openRangedByParts(source, bytes);
}

const ids = (rows: number): ParquetColumn => ({ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => BigInt(i)) });

describe('ranged parquet reader', () => {
  it('reads any rows back as the writer was given them: without offset indexes, with them, and with them by parts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.nat(), { maxLength: 3 }).chain((s) => fc.tuple(...s.map((_, i) => columnArb(rows, `c${i}`)))), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 200 }), fc.array(fc.nat(rows - 1), { minLength: 1, maxLength: 8 }), fc.constantFrom('none', 'whole', 'parts'), fc.integer({ min: 1, max: 5 }))),
        async ([rows, extra, groupRows, pageBytes, picks, mode, partEntries]) => {
          const cols = [ids(rows), ...extra];
          const indexed = mode !== 'none';
          const { source, tail } = await stored(cols, groupRows, pageBytes, indexed, mode === 'parts' ? partEntries : undefined);
          assert.equal(tail.footer !== undefined, mode === 'parts', 'a footer checksum exactly when the index has parts');
          const file = mode === 'parts' ? await openByFooter(source, tail.footer!) : await openRanged(source);
          assert.equal(file.footer.rows, rows);
          const wanted = [...new Set(picks)].sort((a, b) => a - b);
          const reads = file.footer.rowGroups.flatMap((rg, g) => {
            const here = wanted.filter((p) => p >= rg.first && p < rg.first + rg.rows).map((p) => p - rg.first);
            return here.length ? cols.map((_, c) => ({ column: c, group: g, positions: here, first: rg.first })) : [];
          });
          const got = await readRowsRanged(file, reads);
          reads.forEach((r, i) => {
            const c = cols[r.column];
            assert.deepEqual(got[i].map(normal), r.positions.map((p) => expected(c.leaf, c.values[r.first + p])), `column ${c.name} (${c.leaf}, depth ${c.listDepth}), offset index ${mode} (${partEntries} a part)`);
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

  it('opened by its footer, reads only the offset index parts that locate the rows asked for, then their pages', async () => {
    const rows = 400;
    const blobs: ParquetColumn = { name: 'image', leaf: 'binary', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => new Uint8Array(1000).fill(i % 251)) };
    const { store, source, tail } = await stored([ids(rows), blobs], 10_000, 1000, true, 64); // one blob a page
    const whole = await openRanged(source);
    const index = whole.footer.rowGroups[0].chunks[1].offsetIndex!;
    store.reset();
    const file = await openByFooter(source, tail.footer!);
    assert.equal(store.counts.gets, 1, 'open reads the footer once');
    assert.ok(store.counts.getBytes < index.length / 2, `the footer (${store.counts.getBytes} bytes) is smaller than the image column's offset index (${index.length})`);
    store.reset();
    const positions = [3, 77, 78, 390];
    const [images] = await readRowsRanged(file, [{ column: 1, group: 0, positions }]);
    assert.deepEqual(images.map((b) => (b as Uint8Array)[0]), positions.map((p) => p % 251));
    // Parts 0 and 1 (rows 0-127) are adjacent, part 6 (rows 384-399) is not: 2 requests; then 3 of pages.
    assert.equal(store.counts.gets, 5);
    const pageBytes = positions.length * 1000;
    assert.ok(store.counts.getBytes - pageBytes < (3 / 7) * index.length, `${store.counts.getBytes} bytes for ${pageBytes} bytes of values, beside a ${index.length}-byte offset index`);
    store.reset();
    const [again] = await readRowsRanged(file, [{ column: 1, group: 0, positions: [5, 391] }]);
    assert.deepEqual(again.map((b) => (b as Uint8Array)[0]), [5, 391 % 251]);
    assert.equal(store.counts.gets, 2, 'parts read once are kept: only the two pages');
  });

  it('reads the rest of a small offset index with the part a second lookup misses, so later lookups read pages only', async () => {
    const rows = 400;
    const blobs: ParquetColumn = { name: 'image', leaf: 'binary', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => new Uint8Array(1000).fill(i % 251)) };
    const { store, source, tail } = await stored([ids(rows), blobs], 10_000, 1000, true, 64); // 7 parts of up to 64 pages
    const index = (await openRanged(source)).footer.rowGroups[0].chunks[1].offsetIndex!;
    const file = await openByFooter(source, tail.footer!);
    store.reset();
    await readRowsRanged(file, [{ column: 1, group: 0, positions: [3] }]);
    assert.equal(store.counts.gets, 2, 'the first lookup reads one part, then one page');
    assert.ok(store.counts.getBytes - 1000 < index.length / 4, `the first lookup read ${store.counts.getBytes - 1000} bytes of a ${index.length}-byte index`);
    store.reset();
    const [second] = await readRowsRanged(file, [{ column: 1, group: 0, positions: [200] }]);
    assert.equal((second[0] as Uint8Array)[0], 200);
    // Parts 1-6 lie end to end after part 0: one request for them, one for the page.
    assert.equal(store.counts.gets, 2, 'the second lookup reads the rest of the index in one request, then its page');
    assert.ok(store.counts.getBytes - 1000 <= index.length, `${store.counts.getBytes - 1000} bytes of index read, at most the ${index.length} it has`);
    store.reset();
    const positions = [70, 140, 330, 399];
    const [third] = await readRowsRanged(file, [{ column: 1, group: 0, positions }]);
    assert.deepEqual(third.map((b) => (b as Uint8Array)[0]), positions.map((p) => p % 251));
    assert.equal(store.counts.gets, positions.length, 'later lookups read their pages only');
    assert.ok(store.counts.getBytes < positions.length * 1100, `${store.counts.getBytes} bytes for ${positions.length} pages of 1,000-byte values and their headers`);
  });

  it('reports a garbled offset index part as corrupt, and reads it afresh next time', async () => {
    const rows = 200;
    const blobs: ParquetColumn = { name: 'image', leaf: 'binary', nullable: false, listDepth: 0, values: Array.from({ length: rows }, (_, i) => new Uint8Array(500).fill(i)) };
    const { parts, size, tail } = writeParquet([ids(rows), blobs], { pageBytesMax: 500, offsetIndexPartEntries: 16 });
    const bytes = concatParts(parts);
    const store = new MemoryStore();
    await store.put('f', bytes);
    const file = await openByFooter(byteSourceOf(store, 'f', size), tail.footer!);
    const part = JSON.parse(file.footer.metadata!['quiver.offset_index_parts']).chunks[1].slice(4 * 3, 4 * 4) as number[];
    const g = bytes.slice();
    g[part[1] + 2] ^= 0x40;
    await store.put('f', g);
    await assert.rejects(readRowsRanged(file, [{ column: 1, group: 0, positions: [50] }]), (e) => isQuiverError(e, 'corrupt') && /offset index part at \d+: its crc32/.test((e as Error).message));
    await store.put('f', bytes);
    const [got] = await readRowsRanged(file, [{ column: 1, group: 0, positions: [50] }]);
    assert.equal((got[0] as Uint8Array)[0], 50);
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
