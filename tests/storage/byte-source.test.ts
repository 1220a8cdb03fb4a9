import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { byteSourceOf, CountingStore, MemoryStore, mergeRanges } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';

describe('byteSourceOf', () => {
  it('returns each range in the order asked, whatever the gaps and overlaps', async () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
    const store = new MemoryStore();
    await store.put('o', data);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(4999), fc.nat(600)), { maxLength: 10 }), fc.nat(2000), async (pairs, gap) => {
        const ranges = pairs.map(([o, l]) => ({ offset: o, length: Math.min(l, 5000 - o) }));
        const got = await byteSourceOf(store, 'o', 5000, { gapBytesMax: gap }).read(ranges);
        ranges.forEach((r, i) => assert.deepEqual(got[i], data.subarray(r.offset, r.offset + r.length)));
      }),
      { seed: 20261202, numRuns: 200 },
    );
  });

  it('makes one request per span after merging near ranges', async () => {
    const store = new CountingStore(new MemoryStore());
    await store.put('o', new Uint8Array(10_000));
    store.reset();
    await byteSourceOf(store, 'o', 10_000, { gapBytesMax: 100 }).read([{ offset: 0, length: 10 }, { offset: 50, length: 10 }, { offset: 5000, length: 10 }]);
    assert.equal(store.counts.gets, 2);
    assert.deepEqual(mergeRanges([{ offset: 50, length: 10 }, { offset: 0, length: 10 }], 40), [{ offset: 0, length: 60 }]);
  });

  it('refuses a range outside the object as corrupt', async () => {
    const store = new MemoryStore();
    await store.put('o', new Uint8Array(10));
    await assert.rejects(byteSourceOf(store, 'o', 10).read([{ offset: 5, length: 6 }]), (e) => isQuiverError(e, 'corrupt'));
  });
});
