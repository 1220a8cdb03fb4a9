// Property tests for the stream building blocks: rebatch conserves rows and cuts exact sizes;
// parallelMap keeps order when asked and never exceeds its in-flight bound.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import { rebatch } from '../../src/pipeline/stream/rebatch.js';
import { parallelMap } from '../../src/pipeline/stream/parallel-map.js';

// A fixed default, so every run replays the same cases; QUIVER_SEED explores (the seed is in each name).
const seed = Number(process.env.QUIVER_SEED ?? 20261202);
const params = { seed, numRuns: 60 };

async function* tables(sizes: number[]): AsyncGenerator<arrow.Table> {
  let x = 0;
  for (const n of sizes) yield new arrow.Table({ x: arrow.vectorFromArray(Array.from({ length: n }, () => x++), new arrow.Int32()) });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe('rebatch', () => {
  it(`cuts any stream into batches of exactly the requested rows, in order (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 }), fc.integer({ min: 1, max: 40 }), async (sizes, rows) => {
        const out = await collect(rebatch(tables(sizes), rows));
        const total = sizes.reduce((a, b) => a + b, 0);
        assert.deepEqual(out.flatMap((t) => Array.from(t.getChild('x')!.toArray() as Int32Array)), Array.from({ length: total }, (_, i) => i));
        out.forEach((t, i) => assert.equal(t.numRows, i < out.length - 1 ? rows : total - rows * (out.length - 1)));
      }),
      params,
    );
  });
});

describe('parallelMap', () => {
  it(`keeps input order and the in-flight bound whatever the call durations (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 20 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), async (delays, bound, ordered) => {
        let inFlight = 0;
        let peak = 0;
        async function* src() {
          for (const [i, d] of delays.entries()) yield { i, d };
        }
        const out = await collect(
          parallelMap(src(), async ({ i, d }) => {
            peak = Math.max(peak, ++inFlight);
            await new Promise((r) => setTimeout(r, d));
            inFlight--;
            return i;
          }, bound, ordered),
        );
        assert.ok(peak <= bound, `peak ${peak} > bound ${bound}`);
        const expected = delays.map((_, i) => i);
        assert.deepEqual(ordered ? out : [...out].sort((a, b) => a - b), expected);
      }),
      params,
    );
  });

  it('stops pulling input when the consumer stops (backpressure)', async () => {
    let pulled = 0;
    async function* src() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i;
      }
    }
    for await (const v of parallelMap(src(), async (x) => x, 3, true)) if (v === 4) break;
    assert.ok(pulled <= 4 + 3 + 1, `pulled ${pulled}`);
  });
});
