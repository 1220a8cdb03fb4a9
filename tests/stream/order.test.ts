// The canonical order and its split into batches (pure): a seeded block shuffle that is a
// permutation, the same for the same (version, seed, epoch), and shards that together yield
// every row once per epoch with equal batch counts, whatever the number of ranks and workers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchRowsOf, canonicalOrder, consumerBatches, planBatches } from '../../src/stream/index.js';
import { prng } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 14);

function cases(n: number) {
  const rand = prng(SEED);
  return Array.from({ length: n }, () => ({
    rows: 1 + Math.floor(rand() * 3000),
    blockRows: 1 + Math.floor(rand() * 300),
    windowBlocks: 1 + Math.floor(rand() * 10),
    seed: Math.floor(rand() * 1000),
    batchRows: 1 + Math.floor(rand() * 100),
    worldSize: 1 + Math.floor(rand() * 8),
    workers: 1 + Math.floor(rand() * 4),
  }));
}

const seedNote = `(QUIVER_SEED=${SEED})`;

describe('canonicalOrder', () => {
  it('is a permutation of the rows, and the identity without a shuffle', () => {
    for (const c of cases(40)) {
      const o = canonicalOrder(c.rows, 'v1', c, 0);
      assert.deepEqual([...o].sort((a, b) => a - b), Array.from({ length: c.rows }, (_, i) => i), seedNote);
    }
    assert.deepEqual([...canonicalOrder(5, 'v1', null, 3)], [0, 1, 2, 3, 4]);
  });

  it('is a function of version, seed and epoch, and changes with each', () => {
    const s = { seed: 7, blockRows: 16, windowBlocks: 4 };
    const base = [...canonicalOrder(1000, 'v1', s, 0)];
    assert.deepEqual([...canonicalOrder(1000, 'v1', s, 0)], base);
    assert.notDeepEqual([...canonicalOrder(1000, 'v1', s, 1)], base);
    assert.notDeepEqual([...canonicalOrder(1000, 'v1', { ...s, seed: 8 }, 0)], base);
    assert.notDeepEqual([...canonicalOrder(1000, 'v2', s, 0)], base);
  });

  it('keeps each window to whole blocks: a window of w blocks reads at most w sequential runs', () => {
    for (const c of cases(40)) {
      const o = canonicalOrder(c.rows, 'v1', c, 2);
      const size = (b: number) => Math.min(c.blockRows, c.rows - b * c.blockRows);
      // Cut the order into segments that each end when they hold whole blocks, w of them (or the rest).
      let i = 0;
      while (i < c.rows) {
        const blocks = new Set<number>();
        let need = 0;
        let got = 0;
        do {
          const b = Math.floor(o[i++] / c.blockRows);
          if (!blocks.has(b)) {
            blocks.add(b);
            need += size(b);
          }
          got++;
        } while (i < c.rows && (got < need || blocks.size < c.windowBlocks));
        assert.ok(blocks.size <= c.windowBlocks && got === need, `a window ending at ${i} spans ${blocks.size} blocks ${seedNote}`);
      }
    }
  });

  it('moves rows far from their physical place (a global shuffle, not a local one)', () => {
    const o = canonicalOrder(10_000, 'v1', { seed: 1, blockRows: 100, windowBlocks: 4 }, 0);
    // The first 1,000 rows of the epoch come from all over the version.
    const firstTenth = [...o.subarray(0, 1000)];
    assert.ok(Math.max(...firstTenth) - Math.min(...firstTenth) > 5000);
  });
});

describe('planBatches and consumerBatches', () => {
  it('give every rank the same batch count and every row once per epoch (pad: repeats only to fill the last round)', () => {
    for (const c of cases(60)) {
      const order = canonicalOrder(c.rows, 'v', c, 0);
      const plan = planBatches(c.rows, c.batchRows, c.worldSize, 'pad');
      const seen = new Map<number, number>();
      const perRank: number[] = [];
      for (let r = 0; r < c.worldSize; r++) {
        let n = 0;
        for (let w = 0; w < c.workers; w++) for (const k of consumerBatches(plan, r, c.worldSize, w, c.workers)) {
          n++;
          for (const row of batchRowsOf(order, plan, k)) seen.set(row, (seen.get(row) ?? 0) + 1);
        }
        perRank.push(n);
      }
      assert.ok(perRank.every((n) => n === perRank[0]), `ranks got ${perRank} ${seedNote}`);
      assert.equal(seen.size, c.rows, seedNote);
      const extra = plan.batches * c.batchRows - c.rows;
      assert.ok(extra >= 0 && extra < c.batchRows * c.worldSize, seedNote);
      if (extra < c.rows) assert.ok([...seen.values()].every((v) => v <= 2), seedNote);
    }
  });

  it('with drop, yield no row twice and drop less than one round', () => {
    for (const c of cases(60)) {
      const order = canonicalOrder(c.rows, 'v', c, 0);
      const plan = planBatches(c.rows, c.batchRows, c.worldSize, 'drop');
      const seen = new Set<number>();
      for (let k = 0; k < plan.batches; k++) for (const row of batchRowsOf(order, plan, k)) {
        assert.ok(!seen.has(row), seedNote);
        seen.add(row);
      }
      assert.ok(c.rows - seen.size < c.batchRows * c.worldSize, seedNote);
    }
  });

  it('split the same global sequence whatever the world size and workers', () => {
    const order = canonicalOrder(500, 'v', { seed: 3, blockRows: 10, windowBlocks: 3 }, 0);
    const sequence = (worldSize: number, workers: number) => {
      const plan = planBatches(500, 7, worldSize, 'drop');
      const byIndex = new Map<number, number[]>();
      for (let r = 0; r < worldSize; r++) for (let w = 0; w < workers; w++) for (const k of consumerBatches(plan, r, worldSize, w, workers)) byIndex.set(k, [...batchRowsOf(order, plan, k)]);
      return [...byIndex.keys()].sort((a, b) => a - b).flatMap((k) => byIndex.get(k)!);
    };
    const one = sequence(1, 1);
    for (const [ws, wk] of [[2, 1], [3, 2], [8, 4]]) {
      const s = sequence(ws, wk);
      assert.deepEqual(s, one.slice(0, s.length), `worldSize ${ws}, workers ${wk}`);
    }
  });
});
