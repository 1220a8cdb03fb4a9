// LargeValues reads a few rows' large values by range. Files whose row ids are dense
// (rowIdsDense in the manifest) are located without their row-id pages; files written before
// that flag, or with gaps, are located by their row ids. Both give the same values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupFileMeta, writeFragment, type GroupFileMeta, type Manifest, type ParquetColumn } from '../../src/format/index.js';
import { LargeValues } from '../../src/query/index.js';
import { CountingStore, MemoryStore, ObjectCache } from '../../src/storage/index.js';
import { prng } from '../helpers/tmp.js';
import { isQuiverError, type QuiverError } from '../../src/errors.js';

const SEED = Number(process.env.QUIVER_SEED ?? 7);
const ROWS = 300;

function blobs(rand: () => number): Uint8Array[] {
  return Array.from({ length: ROWS }, () => Uint8Array.from({ length: 3000 + Math.floor(rand() * 3000) }, () => Math.floor(rand() * 256)));
}

/** One fragment of rows `first`.. with an image-like binary column, written as appends write it. */
async function written(store: CountingStore, first: bigint, values: Uint8Array[]): Promise<GroupFileMeta> {
  const ids = values.map((_, i) => first + BigInt(i));
  const rowId: ParquetColumn = { name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: ids };
  const blob: ParquetColumn = { name: 'blob', leaf: 'binary', nullable: true, listDepth: 0, values };
  const w = await writeFragment(store, { rows: ids.length, scalar: [rowId], large: new Map([['blob', [rowId, blob]]]), bytes: 0 });
  return w.groups.blob;
}

const manifestOf = (g: GroupFileMeta) => ({ groups: { blob: [g] } }) as unknown as Manifest;
const noPaths = async (): Promise<string[]> => assert.fail('a file with a tail checksum is never copied whole');

describe('LargeValues', () => {
  it('locates rows of a dense file without its row ids, reading little more than the values', async () => {
    const rand = prng(SEED);
    const store = new CountingStore(new MemoryStore(`memory://large-values-${Math.random()}`));
    const values = blobs(rand);
    const g = await written(store, 1000n, values);
    assert.equal(g.rowIdsDense, true);
    const want = [1003n, 1150n, 1299n];
    store.reset();
    const got = await new LargeValues(store, new ObjectCache(), noPaths).read(manifestOf(g), 'blob', want);
    const valueBytes = want.reduce((n, id) => n + values[Number(id - 1000n)].length, 0);
    assert.deepEqual(want.map((id) => got.get(id)), want.map((id) => values[Number(id - 1000n)]));
    const tail = g.tail!.bytes;
    // The footer, the offset index parts that locate the rows and the three pages: less than the
    // whole tail (footer and every page's location) beside them; a row-id page would add ROWS × 8 bytes.
    assert.ok(g.tail!.footer && g.tail!.footer.bytes < tail, 'layout 2: the footer has a checksum of its own');
    assert.ok(store.counts.getBytes - valueBytes < tail, `seed ${SEED}: read ${store.counts.getBytes} bytes, tail ${tail} + values ${valueBytes}`);
  });

  it('reads a layout-1 file (recorded without a footer checksum) by its whole tail, to the same values', async () => {
    const rand = prng(SEED + 2);
    const store = new CountingStore(new MemoryStore(`memory://large-values-layout1-${Math.random()}`));
    const values = blobs(rand);
    const g = await written(store, 500n, values);
    const { footer: _, ...tail } = g.tail!;
    const old = { ...g, tail };
    const want = [500n, 650n, 799n];
    store.reset();
    const got = await new LargeValues(store, new ObjectCache(), noPaths).read(manifestOf(old), 'blob', want);
    assert.deepEqual(want.map((id) => got.get(id)), want.map((id) => values[Number(id - 500n)]));
    const valueBytes = want.reduce((n, id) => n + values[Number(id - 500n)].length, 0);
    assert.ok(store.counts.getBytes >= tail.bytes + valueBytes, `read ${store.counts.getBytes} bytes: the whole ${tail.bytes}-byte tail and the values`);
  });

  it('refuses a file whose footer does not match the checksum its manifest recorded', async () => {
    const store = new CountingStore(new MemoryStore(`memory://large-values-footer-${Math.random()}`));
    const g = await written(store, 0n, blobs(prng(SEED + 3)));
    const bad = { ...g, tail: { ...g.tail!, footer: { ...g.tail!.footer!, crc32: (g.tail!.footer!.crc32 + 1) >>> 0 } } };
    await assert.rejects(new LargeValues(store, new ObjectCache(), noPaths).read(manifestOf(bad), 'blob', [3n]), (e) => isQuiverError(e, 'corrupt') && (e as QuiverError).details.key === g.key);
  });

  it('reads a file recorded without rowIdsDense (written before it) by its row ids, to the same values', async () => {
    const rand = prng(SEED + 1);
    const store = new CountingStore(new MemoryStore(`memory://large-values-old-${Math.random()}`));
    const values = blobs(rand);
    const { rowIdsDense: _, ...old } = await written(store, 0n, values);
    const want = [0n, 42n, 299n, 300n];
    const got = await new LargeValues(store, new ObjectCache(), noPaths).read(manifestOf(old), 'blob', want);
    assert.deepEqual([0n, 42n, 299n].map((id) => got.get(id)), [values[0], values[42], values[299]]);
    assert.equal(got.has(300n), false);
  });
});

describe('groupFileMeta', () => {
  const file = { parts: [new Uint8Array(4)], size: 4, tail: { bytes: 4, crc32: 0 } };
  it('marks ids that run from min to max ascending as dense', () => {
    assert.equal(groupFileMeta('k', [5n, 6n, 7n], file).rowIdsDense, true);
  });
  it('leaves ids with a gap or out of order unmarked', () => {
    assert.equal(groupFileMeta('k', [5n, 7n, 8n], file).rowIdsDense, undefined);
    assert.equal(groupFileMeta('k', [6n, 5n, 7n], file).rowIdsDense, undefined);
  });
});
