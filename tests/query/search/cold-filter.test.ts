// A cold filtered search on a remote store runs its scalar-indexed filter in SQL (DuckDB), and
// the next query answers it from the scalar index: both must give the exact answer, NULLs and
// list predicates included, and so must a query after an append (the new file decoded alone).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';
import { prng } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261203);
const FILTER = "rating >= 2 and not list_contains(tags, 'unsafe')";

interface Row { n: number; emb: Float32Array; rating: number | null; tags: string[] }

function rowsOf(rand: () => number, n: number, from: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    n: from + i,
    emb: Float32Array.from({ length: 8 }, () => rand() - 0.5),
    rating: i % 7 === 0 ? null : Math.floor(rand() * 5),
    tags: rand() < 0.3 ? ['cat', 'unsafe'] : rand() < 0.5 ? ['dog'] : [],
  }));
}

/** `n` of the exact top k by cosine among rows passing FILTER. */
function exactTop(rows: Row[], q: Float32Array, k: number): number[] {
  const cos = (a: Float32Array) => {
    let d = 0, na = 0, nq = 0;
    for (let j = 0; j < 8; j++) (d += a[j] * q[j]), (na += a[j] * a[j]), (nq += q[j] * q[j]);
    return d / Math.sqrt(na * nq);
  };
  return rows
    .map((r, i) => ({ i, s: cos(r.emb), ok: r.rating !== null && r.rating >= 2 && !r.tags.includes('unsafe') }))
    .filter((x) => x.ok)
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((x) => rows[x.i].n);
}

describe('cold filtered search on a remote store', () => {
  it('gives the exact answer from the SQL filter, then from the scalar index, and after an append', async () => {
    const rand = prng(SEED);
    const store = new MemoryStore(`memory://cold-filter-${SEED}-${Math.random()}`);
    const ds = await quiver.create(store, { schema: { n: 'int', emb: 'emb-8', rating: 'int', tags: 'list<text>' } });
    const all: Row[] = [];
    for (let b = 0; b < 3; b++) {
      const batch = rowsOf(rand, 200, all.length);
      all.push(...batch);
      await ds.append(batch);
      await ds.commit(`batch ${b}`);
    }
    await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
    for (const c of ['rating', 'tags']) await ds.createIndex(c, { kind: 'scalar' });
    await ds.close();
    const cold = await quiver.open(store);
    try {
      const sql = `select n from dataset where ${FILTER} order by cosine_similarity(emb, $1) desc limit 10`;
      const ask = async () => {
        const q = Float32Array.from({ length: 8 }, () => rand() - 0.5);
        const got = (await cold.query(sql, [q])).map((r) => Number(r.n));
        assert.deepEqual(got, exactTop(all, q, 10), `QUIVER_SEED=${SEED}`);
      };
      await ask(); // the SQL filter
      await ask(); // the scalar index
      const more = rowsOf(rand, 50, all.length);
      all.push(...more);
      await cold.append(more);
      await cold.commit('more');
      await ask(); // the new file decoded alone
    } finally {
      await cold.close();
    }
  });
});
