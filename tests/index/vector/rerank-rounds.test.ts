// Two-round re-ranking by the int8 codes' scores (rerank-rounds.ts): the first round is the
// best 2k by code score; the second keeps exactly the rest whose code score plus twice the
// first round's largest code error reaches the k-th exact score; codeScores is in cosine units.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstRound, scoreOf, secondRound, VectorIndex } from '../../../src/index/index.js';

describe('rerank rounds', () => {
  it('puts the candidates with the best code scores in the first round, ties by position', () => {
    const approx = Float64Array.from([0.1, 0.9, 0.5, 0.9, 0.2, 0.7]);
    assert.deepEqual(firstRound(approx, 2), { first: [1, 3, 5, 2], rest: [4, 0] });
    assert.deepEqual(firstRound(approx, 5).rest, []);
  });

  it('keeps for the second round only the rest that the measured code error leaves able to reach the top k', () => {
    // First round: code scores 0.90, 0.80 were 0.91, 0.78 exactly: error 0.02, margin 0.04; k = 2, so the bar is 0.78.
    const approx = Float64Array.from([0.9, 0.8, 0.75, 0.739, 0.5]);
    const kept = secondRound(approx, [0, 1], Float64Array.from([0.91, 0.78]), [2, 3, 4], 2);
    assert.deepEqual(kept, [2]); // 0.75 + 0.04 ≥ 0.78; 0.739 + 0.04 < 0.78
    // Codes without error: only a tie with the bar (or better) stays.
    const tied = Float64Array.from([0.9, 0.8, 0.8, 0.7]);
    assert.deepEqual(secondRound(tied, [0, 1], Float64Array.from([0.9, 0.8]), [2, 3], 2), [2]);
  });

  it('keeps every other candidate when the first round holds fewer than k', () => {
    assert.deepEqual(secondRound(Float64Array.from([0.9, 0.1]), [0], Float64Array.from([0.9]), [1], 2), [1]);
  });

  it('scores cosine codes within a few thousandths of the float32 cosine, and gives no scores for l2 and ip', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const dim = 64;
    const n = 500;
    const data = Float32Array.from({ length: n * dim }, rand);
    const q = Float32Array.from({ length: dim }, rand);
    const ords = Uint32Array.from({ length: n }, (_, i) => i);
    const got = VectorIndex.build(data, dim, { metric: 'cosine' }).codeScores(q, ords)!;
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i] - scoreOf('cosine', q, data, i, dim)));
    assert.ok(err < 0.02, `largest code error ${err}`);
    assert.equal(VectorIndex.build(data, dim, { metric: 'l2' }).codeScores(q, ords), null);
    assert.equal(VectorIndex.build(data, dim, { metric: 'ip' }).codeScores(q, ords), null);
  });
});
