// Dense row ids from a manifest entry: the word-writing fast path gives exactly the ids the
// BigInt loop gives, at the 2^32 and 2^53 edges and past them, at any offset, touching nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { denseRowIds, fillDenseIds } from '../../src/format/index.js';

describe('dense row ids', () => {
  for (const [min, count] of [[0n, 5], [4_294_967_290n, 12], [2n ** 53n - 3n, 2], [2n ** 53n - 1n, 3], [2n ** 62n, 2], [7n, 0]] as const) {
    it(`fills ${count} ids from ${min} exactly, between untouched neighbours`, () => {
      const out = new BigInt64Array(count + 3).fill(-9n);
      fillDenseIds(out, 2, min, count);
      assert.deepEqual([...out.subarray(0, 2)], [-9n, -9n]);
      assert.deepEqual([...out.subarray(2, 2 + count)], Array.from({ length: count }, (_, i) => min + BigInt(i)));
      assert.equal(out[2 + count], -9n);
    });
  }

  it('gives a dense fragment\'s ids and none for one with gaps', () => {
    assert.deepEqual([...denseRowIds({ rowIdsDense: true, rowIdMin: '4294967295', rowIdMax: '4294967297', rows: 3 })!], [4294967295n, 4294967296n, 4294967297n]);
    assert.equal(denseRowIds({ rowIdsDense: true, rowIdMin: '0', rowIdMax: '5', rows: 3 }), undefined);
  });
});
