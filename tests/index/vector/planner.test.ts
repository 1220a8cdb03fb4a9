import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planVectorSearch, rerankPool } from '../../../src/index/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20240601);
const base = { n: 100_000, k: 10, hasIndex: true, dim: 768 };

describe('planVectorSearch', () => {
  it('scans exactly when there is no index', () => {
    assert.equal(planVectorSearch({ ...base, hasIndex: false, matches: 100_000 }).strategy, 'exact-scan');
    assert.equal(planVectorSearch({ ...base, hasIndex: false, matches: 5_000 }).strategy, 'exact-gather');
  });

  it('returns the empty plan when nothing matches', () => {
    assert.equal(planVectorSearch({ ...base, matches: 0 }).strategy, 'empty');
  });

  it('gathers exactly at 0.1 % and when matches do not exceed k', () => {
    assert.equal(planVectorSearch({ ...base, matches: 100 }).strategy, 'exact-gather');
    assert.equal(planVectorSearch({ ...base, matches: 7 }).strategy, 'exact-gather');
  });

  it('scans int8 codes at 1 % and 3 %, where a graph would need thousands of results', () => {
    assert.equal(planVectorSearch({ ...base, matches: 1_000 }).strategy, 'quantized-gather');
    assert.equal(planVectorSearch({ ...base, matches: 3_000 }).strategy, 'quantized-gather');
  });

  it('searches the graph with a filter at 10 % and 50 %, asking for about wanted / selectivity', () => {
    const p10 = planVectorSearch({ ...base, matches: 10_000 });
    assert.equal(p10.strategy, 'ann-filtered');
    if (p10.strategy === 'ann-filtered') assert.equal(p10.params.count, 640);
    const p50 = planVectorSearch({ ...base, matches: 50_000 });
    assert.equal(p50.strategy, 'ann-filtered');
    if (p50.strategy === 'ann-filtered') assert.equal(p50.params.count, 128);
  });

  it('re-ranks rerankFactor picks per exactly ordered result and one per tail rank (an rrf window)', () => {
    assert.equal(rerankPool(10, 4), 40);
    assert.equal(rerankPool(100, 4, 10), 130);
    assert.equal(rerankPool(100, 4, 500), 400);
    // A window of 100 at 10 % of 1M rows asks the graph for ~130 / 0.1 results instead of ~400 / 0.1.
    const full = planVectorSearch({ ...base, n: 1_000_000, k: 100, matches: 100_000 });
    const tail = planVectorSearch({ ...base, n: 1_000_000, k: 100, matches: 100_000, exactTop: 10 });
    assert.ok(full.strategy === 'ann-filtered' && tail.strategy === 'ann-filtered');
    if (full.strategy === 'ann-filtered' && tail.strategy === 'ann-filtered') {
      assert.equal(full.params.count, 4000);
      assert.equal(tail.params.count, 1300);
    }
  });

  it('searches the graph unfiltered at 100 %', () => {
    const p = planVectorSearch({ ...base, matches: 100_000 });
    assert.deepEqual(p, { strategy: 'ann', params: { count: 64, countMax: p.strategy === 'ann' ? p.params.countMax : 0 } });
  });

  it('widens ANN by whole ×4 steps and never past a quarter of the vectors (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 2, max: 2048 }),
        fc.integer({ min: 1, max: 4 }),
        (n, frac, k, dim, vpr) => {
          const matches = Math.round(n * frac);
          const p = planVectorSearch({ n, matches, k, dim, hasIndex: true, vectorsPerRowMax: vpr });
          if (matches === 0) return assert.equal(p.strategy, 'empty');
          if (matches <= k) return assert.equal(p.strategy, 'exact-gather');
          if (p.strategy === 'ann' || p.strategy === 'ann-filtered') {
            assert.ok(p.params.count <= n * vpr * 0.25);
            assert.ok(p.params.countMax >= p.params.count);
            assert.equal(p.strategy === 'ann', matches >= n);
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });
});
