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

  it('merges across a gap only while the gaps stay within the wasted fraction of the bytes asked for', async () => {
    await fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(100_000), fc.integer({ min: 1, max: 5000 })), { maxLength: 30 }), fc.constantFrom(0, 0.1, 0.25, 1), (pairs, f) => {
        const ranges = pairs.map(([offset, length]) => ({ offset, length }));
        const spans = mergeRanges(ranges, 64 * 1024, f);
        const wanted = mergeRanges(ranges, 0, 0);
        for (const s of spans) {
          const asked = wanted.filter((w) => w.offset >= s.offset && w.offset + w.length <= s.offset + s.length).reduce((n, w) => n + w.length, 0);
          assert.ok(s.length - asked <= f * asked + 1e-9, `a span of ${s.length} bytes for ${asked} asked (fraction ${f})`);
        }
        for (const r of ranges) assert.ok(spans.some((s) => r.offset >= s.offset && r.offset + r.length <= s.offset + s.length), 'every range is covered');
      }),
      { seed: 20261203, numRuns: 300 },
    );
    // 770-byte parts 770 bytes apart: a 4 KiB gap alone merges all three, a 25 % bound none.
    const parts = [0, 1540, 3080].map((offset) => ({ offset, length: 770 }));
    assert.equal(mergeRanges(parts, 4096).length, 1);
    assert.equal(mergeRanges(parts, 4096, 0.25).length, 3);
    // 8 KiB pages 1 KiB apart: merged, 12.5 % more bytes.
    assert.deepEqual(mergeRanges([{ offset: 0, length: 8192 }, { offset: 9216, length: 8192 }], 128 * 1024, 0.25), [{ offset: 0, length: 17_408 }]);
  });

  it('refuses a range outside the object as corrupt', async () => {
    const store = new MemoryStore();
    await store.put('o', new Uint8Array(10));
    await assert.rejects(byteSourceOf(store, 'o', 10).read([{ offset: 5, length: 6 }]), (e) => isQuiverError(e, 'corrupt'));
  });
});
