import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { gaussian, queriesNear, rng, subset, vectors, type VectorKind } from '../../../bench/lib/datagen.js';
import { Bitmap, exactSearch, type Metric, VectorIndex, type VectorPlan } from '../../../src/index/index.js';
import { recall, referenceTopK } from './reference.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20240601);
const n = 20_000;
const dim = 64;
const NQ = 25;
const SELECTIVITIES = [0.001, 0.01, 0.1, 0.5, 1];

function fixture(kind: VectorKind, metric: Metric) {
  const data = vectors(kind, n, dim, 101, 16);
  const queries = queriesNear(data, dim, NQ, 102);
  const index = VectorIndex.build(data, dim, { metric, buildThreads: 1 });
  return { data, queries, index, q: (i: number) => queries.subarray(i * dim, (i + 1) * dim) };
}

/** Mean recall@10 against exact search for a plan chooser at one selectivity. */
function meanRecall(f: ReturnType<typeof fixture>, metric: Metric, frac: number, plan?: (matches: number) => VectorPlan | undefined) {
  const filter = frac === 1 ? undefined : Bitmap.fromOrdinals(n, subset(n, frac, 7));
  const matches = filter ? filter.count() : n;
  let sum = 0;
  for (let i = 0; i < NQ; i++) {
    const truth = exactSearch(f.data, dim, f.q(i), 10, { metric, candidates: filter });
    const got = f.index.search(f.q(i), 10, { filter, plan: plan?.(matches) });
    assert.equal(got.ordinals.length, Math.min(10, matches), `always min(k, matches) at ${frac}`);
    sum += recall(got.ordinals, truth.ordinals);
  }
  return sum / NQ;
}

/** The graph strategy with the planner's own count, whatever the planner would have chosen. */
const forcedAnn = (index: VectorIndex) => (matches: number): VectorPlan => {
  const wanted = Math.max(index.options.ef, 10 * index.options.rerankFactor);
  const count = Math.ceil(wanted / (Math.max(1, matches) / index.rowCount));
  return { strategy: matches >= index.rowCount ? 'ann' : 'ann-filtered', params: { count, countMax: count * 16 } };
};

describe('VectorIndex', () => {
  for (const kind of ['low-rank', 'clustered'] as VectorKind[]) {
    it(`keeps recall@10 >= 0.95 at every selectivity on ${kind} data, whatever the plan`, () => {
      const f = fixture(kind, 'cosine');
      for (const frac of SELECTIVITIES) {
        const planned = meanRecall(f, 'cosine', frac);
        const ann = meanRecall(f, 'cosine', frac, forcedAnn(f.index));
        const quant = meanRecall(f, 'cosine', frac, () => ({ strategy: 'quantized-gather', params: { fetch: 40 } }));
        assert.ok(planned >= 0.95, `${kind} ${frac}: planned recall ${planned}`);
        assert.ok(ann >= 0.95, `${kind} ${frac}: ann recall ${ann}`);
        assert.ok(quant >= 0.95, `${kind} ${frac}: quantized recall ${quant}`);
      }
    });
  }

  it('keeps recall@10 >= 0.95 on isotropic random vectors by measuring its graph and scanning when the graph is poor', () => {
    const d = 256;
    const data = vectors('isotropic', 6000, d, 103);
    // One build thread: a deterministic graph, so the test does not depend on scheduling.
    const index = VectorIndex.build(data, d, { metric: 'cosine', buildThreads: 1 });
    const queries = queriesNear(data, d, 15, 104);
    for (const frac of SELECTIVITIES) {
      const filter = frac === 1 ? undefined : Bitmap.fromOrdinals(6000, subset(6000, frac, 8));
      let sum = 0;
      for (let i = 0; i < 15; i++) {
        const q = queries.subarray(i * d, (i + 1) * d);
        const truth = exactSearch(data, d, q, 10, { metric: 'cosine', candidates: filter });
        sum += recall(index.search(q, 10, { filter }).ordinals, truth.ordinals);
      }
      assert.ok(sum / 15 >= 0.95, `isotropic ${frac}: recall ${sum / 15} (graph recall ${index.graphRecall})`);
    }
    // The measurement survives serialization, so a loaded index plans the same way.
    assert.equal(VectorIndex.deserialize(index.serialize()).graphRecall, index.graphRecall);
    // Saved without its vectors, the index needs them back and then answers identically.
    const lean = index.serialize({ vectors: false });
    assert.ok(lean.length < index.serialize().length - data.byteLength + 1024);
    assert.throws(() => VectorIndex.deserialize(lean), /saved without its vectors/);
    const q = queries.subarray(0, d);
    assert.deepEqual(VectorIndex.deserialize(lean, data.slice()).search(q, 10).ordinals, index.search(q, 10).ordinals);
  });

  for (const metric of ['l2', 'ip'] as Metric[]) {
    it(`keeps recall@10 >= 0.95 with the ${metric} metric`, () => {
      const f = fixture('low-rank', metric);
      for (const frac of [0.01, 0.5, 1]) {
        const r = meanRecall(f, metric, frac, forcedAnn(f.index));
        assert.ok(r >= 0.95, `${metric} ${frac}: recall ${r}`);
      }
    });
  }

  it('chooses the plan by selectivity', () => {
    const f = fixture('low-rank', 'cosine');
    const strategyAt = (frac: number) => f.index.search(f.q(0), 10, { filter: frac === 1 ? undefined : Bitmap.fromOrdinals(n, subset(n, frac, 9)) }).plan.strategy;
    assert.equal(strategyAt(0.001), 'exact-gather');
    // At 64 dimensions the int8 scan's fixed cost outweighs its saving on 2,000 rows.
    assert.equal(strategyAt(0.1), 'exact-gather');
    assert.equal(strategyAt(0.5), 'ann-filtered');
    assert.equal(strategyAt(1), 'ann');
  });

  it('always returns min(k, matches) rows, even when the filter keeps only rows far from the query', () => {
    const f = fixture('clustered', 'cosine');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: NQ - 1 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 50 }), (qi, m, k) => {
        // The m rows least similar to the query: an adversarial, correlated filter.
        const far = referenceTopK(f.data, dim, f.q(qi).map((x) => -x), m, 'cosine').ordinals;
        const filter = Bitmap.fromOrdinals(n, far);
        const got = f.index.search(f.q(qi), k, { filter, plan: forcedAnn(f.index)(m) });
        assert.equal(got.ordinals.length, Math.min(k, m));
        for (const o of got.ordinals) assert.ok(filter.has(o));
      }),
      { seed: SEED, numRuns: 20 },
    );
  });

  it('round-trips through serialize/deserialize with identical results', () => {
    const f = fixture('low-rank', 'cosine');
    const copy = VectorIndex.deserialize(f.index.serialize());
    const filter = Bitmap.fromOrdinals(n, subset(n, 0.3, 5));
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(copy.search(f.q(i), 10).ordinals, f.index.search(f.q(i), 10).ordinals);
      assert.deepEqual(copy.search(f.q(i), 10, { filter }).scores, f.index.search(f.q(i), 10, { filter }).scores);
    }
  });

  it('detects corruption: a flipped byte, truncation and a wrong magic', () => {
    const bytes = VectorIndex.build(vectors('isotropic', 500, 16, 3), 16).serialize();
    const flipped = bytes.slice();
    flipped[Math.floor(bytes.length / 2)] ^= 0x40;
    assert.throws(() => VectorIndex.deserialize(flipped), /index: corrupt vector index: checksum mismatch/);
    assert.throws(() => VectorIndex.deserialize(bytes.subarray(0, bytes.length - 9)), /index: corrupt vector index/);
    const magic = bytes.slice();
    magic[0] = 0x58;
    assert.throws(() => VectorIndex.deserialize(magic), /index: corrupt vector index: bad magic/);
  });

  it('grows by add() and matches exact search over random add sequences (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1e6 }), (chunks, seed) => {
        const d = 16;
        const total = chunks.reduce((a, b) => a + b, 0);
        const all = vectors('low-rank', total, d, seed, 4);
        const index = VectorIndex.build(all.subarray(0, chunks[0] * d), d, { buildThreads: 1 });
        let at = chunks[0];
        for (const c of chunks.slice(1)) {
          index.add(all.subarray(at * d, (at + c) * d));
          at += c;
        }
        assert.equal(index.vectorCount, total);
        const q = queriesNear(all, d, 3, seed + 1);
        let sum = 0;
        for (let i = 0; i < 3; i++) {
          const qi = q.subarray(i * d, (i + 1) * d);
          const truth = exactSearch(all, d, qi, 10);
          const got = index.search(qi, 10, { plan: forcedAnnFor(total) });
          assert.equal(got.ordinals.length, Math.min(10, total));
          sum += recall(got.ordinals, truth.ordinals);
        }
        assert.ok(sum / 3 >= 0.9, `recall ${sum / 3} for chunks ${chunks}`);
      }),
      { seed: SEED, numRuns: 12 },
    );
  });

  it('scores multi-vector rows by their best vector (max-sim) and returns distinct rows', () => {
    const rows = 3000;
    const r = rng(77);
    const offsets = new Uint32Array(rows + 1);
    for (let i = 0; i < rows; i++) offsets[i + 1] = offsets[i] + 1 + Math.floor(r() * 4);
    const data = vectors('low-rank', offsets[rows], 32, 78, 8);
    const index = VectorIndex.build(data, 32, { rows: { offsets } });
    const queries = queriesNear(data, 32, 10, 79);
    const filter = Bitmap.fromOrdinals(rows, subset(rows, 0.5, 80));
    let sum = 0;
    for (let i = 0; i < 10; i++) {
      const qi = queries.subarray(i * 32, (i + 1) * 32);
      for (const f of [undefined, filter]) {
        const want = referenceTopK(data, 32, qi, 10, 'cosine', f, offsets);
        const got = index.search(qi, 10, { filter: f });
        assert.equal(new Set(got.ordinals).size, got.ordinals.length);
        assert.equal(got.ordinals.length, 10);
        sum += recall(got.ordinals, want.ordinals);
      }
    }
    assert.ok(sum / 20 >= 0.95, `max-sim recall ${sum / 20}`);
    index.add(data.subarray(0, 5 * 32), Uint32Array.of(2, 3));
    assert.equal(index.rowCount, rows + 2);
  });

  it('rejects a wrong-length or NaN query and a wrongly sized filter, naming the problem', () => {
    const index = VectorIndex.build(vectors('isotropic', 200, 8, 1), 8);
    assert.throws(() => index.search(new Float32Array(7), 10), /query vector has 7 dimensions, index has 8/);
    assert.throws(() => index.search(Float32Array.of(1, 2, NaN, 4, 5, 6, 7, 8), 10), /component 2 is NaN/);
    assert.throws(() => index.search(new Float32Array(8).fill(1), 10, { filter: new Bitmap(100) }), /filter covers 100 rows, index has 200/);
    assert.throws(() => VectorIndex.build(Float32Array.of(1, NaN), 2), /non-finite value at element 1/);
  });
});

function forcedAnnFor(total: number): VectorPlan {
  return { strategy: 'ann', params: { count: 64, countMax: Math.max(64, total) } };
}

// Data sets that defeat one global int8 scale (issue 10, item 21): each is seeded.
const HARD_SETS: Record<string, (seed: number) => { data: Float32Array; rows: number; d: number }> = {
  /** 2000 points on a line far from the origin: all the spread is in a sliver of the range. */
  line: (seed) => {
    const d = 32, rows = 2000, g = gaussian(rng(seed)), t = rng(seed + 1);
    const c = Float32Array.from({ length: d }, () => 10 * g());
    const u = Float32Array.from({ length: d }, () => g());
    const data = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) {
      const x = 2 * t() - 1;
      for (let j = 0; j < d; j++) data[r * d + j] = c[j] + x * u[j] + 0.01 * g();
    }
    return { data, rows, d };
  },
  /** 600 low-rank rows and one row a thousand times larger. */
  outlier: (seed) => {
    const d = 32, rows = 600;
    const data = vectors('low-rank', rows, d, seed, 8);
    for (let j = 0; j < d; j++) data[417 * d + j] *= 1000;
    return { data, rows, d };
  },
  /** Clustered directions with norms spread over four orders of magnitude. */
  norms: (seed) => {
    const d = 32, rows = 2000, t = rng(seed + 2);
    const data = vectors('clustered', rows, d, seed);
    for (let r = 0; r < rows; r++) {
      const s = 10 ** (4 * t() - 2);
      for (let j = 0; j < d; j++) data[r * d + j] *= s;
    }
    return { data, rows, d };
  },
};

describe('VectorIndex int8 codes on hard data', () => {
  for (const [name, make] of Object.entries(HARD_SETS)) {
    for (const metric of ['l2', 'cosine', 'ip'] as Metric[]) {
      it(`keeps recall@10 >= 0.95 on the ${name} set with the ${metric} metric, at every selectivity (seeded)`, () => {
        const seed = SEED + name.length;
        const { data, rows, d } = make(seed);
        // One build thread: a multi-threaded build inserts in a racy order, so the seed would not fix the graph.
        const index = VectorIndex.build(data, d, { metric, buildThreads: 1 });
        const queries = queriesNear(data, d, NQ, seed + 3);
        for (const frac of [0.1, 0.5, 1]) {
          const filter = frac === 1 ? undefined : Bitmap.fromOrdinals(rows, subset(rows, frac, seed + 4));
          let sum = 0;
          for (let i = 0; i < NQ; i++) {
            const q = queries.subarray(i * d, (i + 1) * d);
            const truth = referenceTopK(data, d, q, 10, metric, filter ? [...filter] : undefined);
            sum += recall(index.search(q, 10, { filter }).ordinals, truth.ordinals);
          }
          assert.ok(sum / NQ >= 0.95, `${name} (${rows} rows), ${metric}, ${frac}: recall@10 ${sum / NQ} (seed ${seed}, graph recall ${index.graphRecall})`);
        }
      });
    }
  }
});

describe('VectorIndex loaded without its vectors', () => {
  it('re-ranks the candidates it names to the same answer as a search with the vectors, for every plan', () => {
    const rows = 3000;
    const d = 32;
    const data = vectors('low-rank', rows, d, 201, 8);
    const eager = VectorIndex.build(data, d, { metric: 'cosine', buildThreads: 1 });
    const lazy = VectorIndex.deserialize(eager.serialize({ vectors: false }), null);
    assert.equal(lazy.hasVectors, false);
    const queries = queriesNear(data, d, 5, 202);
    for (const frac of [0.01, 0.3, 1]) {
      const filter = frac === 1 ? undefined : Bitmap.fromOrdinals(rows, subset(rows, frac, 9));
      for (let i = 0; i < 5; i++) {
        const q = queries.subarray(i * d, (i + 1) * d).slice();
        const want = eager.search(q, 10, { filter });
        const c = lazy.candidates(q, 10, { filter });
        if (c === null) {
          assert.match(want.plan.strategy, /^exact/, `seed ${SEED}: only exact plans need every vector`);
          continue;
        }
        const gathered = new Float32Array(c.ordinals.length * d);
        c.ordinals.forEach((o, j) => gathered.set(data.subarray(o * d, (o + 1) * d), j * d));
        const got = lazy.rerank(q, 10, c.ordinals, gathered);
        assert.deepEqual(Array.from(got.ordinals), Array.from(want.ordinals), `seed ${SEED}: ${c.strategy} at ${frac}`);
      }
    }
    assert.throws(() => lazy.search(queries.subarray(0, d).slice(), 10), /loaded without its vectors/);
  });
});
