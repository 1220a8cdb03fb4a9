import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bitmap } from '../../src/index/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20240601);

describe('Bitmap', () => {
  it('sets, clears and counts ordinals', () => {
    const b = new Bitmap(100);
    b.set(3);
    b.set(3);
    b.set(99);
    assert.equal(b.count(), 2);
    assert.equal(b.has(3), true);
    assert.equal(b.has(4), false);
    b.clear(3);
    assert.equal(b.count(), 1);
    assert.deepEqual([...b], [99]);
  });

  it('rejects ordinals outside its size, naming the value', () => {
    const b = new Bitmap(10);
    assert.throws(() => b.set(10), /ordinal out of range \[0, 10\), got 10/);
    assert.equal(b.has(10), false);
  });

  it('full() sets exactly size bits, with no stray bits past the end', () => {
    const b = Bitmap.full(33);
    assert.equal(b.count(), 33);
    assert.equal(b.words[1], 1);
    assert.equal(b.andNot(Bitmap.fromOrdinals(33, [0, 32])).count(), 31);
  });

  it('and / or / andNot / toOrdinals agree with sets (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.array(fc.nat(Math.max(0, n - 1))), fc.array(fc.nat(Math.max(0, n - 1)))),
        ),
        ([n, xs, ys]) => {
          if (n === 0) return;
          const a = Bitmap.fromOrdinals(n, xs);
          const b = Bitmap.fromOrdinals(n, ys);
          const A = new Set(xs);
          const B = new Set(ys);
          const sorted = (s: Iterable<number>) => [...s].sort((p, q) => p - q);
          assert.deepEqual([...a.toOrdinals()], sorted(A));
          assert.deepEqual([...a.and(b)], sorted([...A].filter((x) => B.has(x))));
          assert.deepEqual([...a.or(b)], sorted(new Set([...A, ...B])));
          assert.deepEqual([...a.andNot(b)], sorted([...A].filter((x) => !B.has(x))));
          assert.equal(a.and(b).count(), [...A].filter((x) => B.has(x)).length);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});
