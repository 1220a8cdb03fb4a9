import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queriesNear, subset, vectors } from '../../../bench/lib/datagen.js';
import { Bitmap, exactSearch, type Metric } from '../../../src/index/index.js';
import { referenceTopK } from './reference.js';

const dim = 32;
const n = 3000;
const data = vectors('low-rank', n, dim, 11, 8);
const queries = queriesNear(data, dim, 10, 12);
const q = (i: number) => queries.subarray(i * dim, (i + 1) * dim);

describe('exactSearch', () => {
  for (const metric of ['cosine', 'l2', 'ip'] as Metric[]) {
    it(`equals the naive float64 reference for ${metric}, unfiltered and filtered`, () => {
      const filter = Bitmap.fromOrdinals(n, subset(n, 0.05, 3));
      for (let i = 0; i < 10; i++) {
        for (const candidates of [undefined, filter, filter.toOrdinals()]) {
          const got = exactSearch(data, dim, q(i), 10, { metric, candidates });
          const want = referenceTopK(data, dim, q(i), 10, metric, candidates);
          assert.deepEqual([...got.ordinals], want.ordinals);
          got.scores.forEach((s, j) => assert.ok(Math.abs(s - want.scores[j]) <= 1e-5 * Math.max(1, Math.abs(want.scores[j]))));
        }
      }
    });
  }

  it('orders best first: cosine and ip descending, l2 ascending', () => {
    const c = exactSearch(data, dim, q(0), 5, { metric: 'cosine' }).scores;
    const l = exactSearch(data, dim, q(0), 5, { metric: 'l2' }).scores;
    for (let j = 1; j < 5; j++) {
      assert.ok(c[j - 1] >= c[j]);
      assert.ok(l[j - 1] <= l[j]);
    }
    assert.ok(c[0] <= 1 + 1e-6 && c[0] > 0.5);
  });

  it('returns min(k, matches) rows and none for an empty candidate set', () => {
    assert.equal(exactSearch(data, dim, q(0), 10, { candidates: Uint32Array.of(5, 9, 700) }).ordinals.length, 3);
    assert.equal(exactSearch(data, dim, q(0), 10, { candidates: new Bitmap(n) }).ordinals.length, 0);
  });

  it('scans in bounded chunks and still finds the exact answer', () => {
    const got = exactSearch(data, dim, q(1), 10, { scratchBytesMax: 100 * dim * 4 });
    assert.deepEqual([...got.ordinals], referenceTopK(data, dim, q(1), 10, 'cosine').ordinals);
  });

  it('is not fooled by a query that is a view into a larger array', () => {
    const got = exactSearch(data, dim, q(3), 10);
    const copy = exactSearch(data, dim, q(3).slice(), 10);
    assert.deepEqual([...got.ordinals], [...copy.ordinals]);
  });

  it('scores multi-vector rows by their best vector and returns distinct rows', () => {
    // Rows own 1–4 consecutive vectors (and row 2 none).
    const counts = [1, 3, 0, 4, 2];
    const offsets = new Uint32Array(1001);
    for (let r = 0; r < 1000; r++) offsets[r + 1] = offsets[r] + counts[r % counts.length];
    const vecs = data.subarray(0, offsets[1000] * dim);
    for (const metric of ['cosine', 'l2'] as Metric[]) {
      const got = exactSearch(vecs, dim, q(2), 10, { metric, rows: { offsets } });
      const want = referenceTopK(vecs, dim, q(2), 10, metric, undefined, offsets);
      assert.deepEqual([...got.ordinals], want.ordinals);
      assert.equal(new Set(got.ordinals).size, 10);
    }
  });

  it('rejects a query of the wrong length or with NaN, naming the problem', () => {
    assert.throws(() => exactSearch(data, dim, new Float32Array(dim - 1), 10), /query vector has 31 dimensions, index has 32/);
    const bad = q(0).slice();
    bad[7] = NaN;
    assert.throws(() => exactSearch(data, dim, bad, 10), /component 7 is NaN/);
    assert.throws(() => exactSearch(data, dim, q(0), 0), /k must be a positive integer/);
  });
});
