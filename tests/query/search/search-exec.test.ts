// Search through ds.query against the exact answer of the same SQL (wrapped so no fast path
// applies), across indexes, appends, updates, deletes, old versions and branches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import * as quiver from '../../../src/index.js';
import { prng } from '../../helpers/tmp.js';
import type { Param } from '../../../src/index.js';
import { CountingStore, MemoryStore } from '../../../src/storage/index.js';

const WORDS = ['red', 'vintage', 'car', 'blue', 'cat', 'sunset', 'city', 'forest', 'robot', 'dog', 'neon', 'river'];
const schema = { prompt: 'text', emb: 'emb-16', shots: 'list<emb-16>', rating: 'int', user_id: 'text', tags: 'list<text>' };

function records(rand: () => number, n: number) {
  const center = Array.from({ length: 4 }, () => Float32Array.from({ length: 16 }, () => rand() - 0.5));
  const vec = () => {
    const c = center[Math.floor(rand() * center.length)];
    return Float32Array.from(c, (x) => x + (rand() - 0.5) * 0.3);
  };
  return Array.from({ length: n }, () => ({
    prompt: Array.from({ length: 3 + Math.floor(rand() * 4) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' '),
    emb: vec(),
    shots: Array.from({ length: 1 + Math.floor(rand() * 3) }, vec),
    rating: 1 + Math.floor(rand() * 5),
    user_id: `u${Math.floor(rand() * 5)}`,
    tags: rand() < 0.1 ? ['unsafe'] : ['safe'],
  }));
}

/** Runs `sql` on the fast path and exactly; returns both id lists. */
async function both(ds: quiver.Dataset, sql: string, params: Param[]): Promise<[bigint[], bigint[]]> {
  const fast = await ds.query(sql, params);
  const exact = await ds.query(`select * from (${sql}) as exact_only`, params);
  return [fast.map((r) => r.row_id as bigint), exact.map((r) => r.row_id as bigint)];
}

/** Builds (or extends) an index and returns how many vectors went into its graph. */
async function graphInserts(ds: quiver.Dataset, column: string, spec: Parameters<quiver.Dataset['createIndex']>[1]): Promise<number> {
  let total = 0;
  await ds.createIndex(column, spec, { onProgress: (p) => void (p.phase === 'graph' && (total = p.total)) });
  return total;
}

const recall = (got: bigint[], want: bigint[]) => (want.length === 0 ? 1 : want.filter((x) => got.includes(x)).length / want.length);

describe('search in ds.query', () => {
  it('returns exactly the exact answer without an index, for every seed query shape', async () => {
    const rand = prng(11);
    const ds = await quiver.create(`memory://search-exact-${Math.random()}`, { schema });
    await ds.append(records(rand, 400));
    await ds.commit('data');
    const q = records(rand, 1)[0].emb;
    const [fast1, exact1] = await both(ds, `select row_id from dataset where rating >= 3 and not list_contains(tags, 'unsafe') order by cosine_similarity(emb, $1) desc limit 10`, [q]);
    assert.deepEqual(fast1, exact1);
    const [fast2, exact2] = await both(ds, `select row_id from dataset order by l2_distance(shots, $1) limit 7`, [q]);
    assert.deepEqual(fast2, exact2);
    const fast3 = await ds.query(`select row_id, bm25(prompt, 'red car') as s from dataset where match(prompt, 'red car') and user_id = 'u1' order by s desc limit 10`);
    const exact3 = await ds.query(`select * from (select row_id, bm25(prompt, 'red car') as s from dataset where match(prompt, 'red car') and user_id = 'u1' order by s desc limit 10) x`);
    assert.deepEqual(fast3.map((r) => r.s), exact3.map((r) => r.s));
    const fast4 = await ds.query(`select row_id, rrf(cosine_similarity(emb, $1), bm25(prompt, 'neon city')) as f from dataset order by f desc limit 5`, [q]);
    const exact4 = await ds.query(`select * from (select row_id, rrf(cosine_similarity(emb, $1), bm25(prompt, 'neon city')) as f from dataset) x order by f desc limit 5`, [q]);
    assert.deepEqual(fast4.map((r) => (r.f as number).toFixed(12)), exact4.map((r) => (r.f as number).toFixed(12)));
    await ds.close();
  });

  it('always returns k rows when k rows match, at every selectivity, with an index', async () => {
    const rand = prng(12);
    const ds = await quiver.create(`memory://search-k-${Math.random()}`, { schema });
    await ds.append(records(rand, 2000));
    await ds.commit('data');
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'cosine' });
    const q = records(rand, 1)[0].emb;
    for (const where of ['row_id % 1000 = 0', 'row_id % 100 = 0', 'row_id % 10 = 0', 'row_id % 2 = 0', 'true']) {
      const [fast, exact] = await both(ds, `select row_id from dataset where ${where} order by cosine_similarity(emb, $1) desc limit 10`, [q]);
      assert.equal(fast.length, exact.length, where);
      assert.ok(recall(fast, exact) >= 0.9, `${where}: recall ${recall(fast, exact)}`);
    }
    await ds.close();
  });

  it('keeps indexed answers right across appends, updates, deletes, old versions and branches (property, seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.constantFrom('append', 'update', 'delete', 'index'), { minLength: 2, maxLength: 6 }), async (seed, ops) => {
        const rand = prng(seed);
        const ds = await quiver.create(`memory://search-prop-${seed}-${Math.random()}`, { schema });
        await ds.append(records(rand, 150));
        const first = await ds.commit('first');
        await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'l2' });
        const q = records(rand, 1)[0].emb;
        const sql = `select row_id, rating from dataset where rating >= 2 order by l2_distance(emb, $1) limit 8`;
        const before = await ds.query(sql, [q]);
        for (const op of ops) {
          if (op === 'append') await ds.append(records(rand, 30));
          if (op === 'update') await ds.update({ where: 'row_id % 7 = $1', params: [Math.floor(rand() * 7)], set: { rating: 1 } });
          if (op === 'delete') await ds.delete({ where: 'row_id % 11 = $1', params: [Math.floor(rand() * 11)] });
          if (op === 'index') await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'l2' });
          else await ds.commit(op);
          const [fast, exact] = await both(ds, sql, [q]);
          assert.equal(fast.length, exact.length, `seed ${seed}`);
          assert.ok(recall(fast, exact) >= 0.75, `seed ${seed}, after ${op}: recall ${recall(fast, exact)}`);
          // A deleted or updated-away row never appears with a stale value.
          const rows = await ds.query(sql, [q]);
          assert.ok(rows.every((r) => (r.rating as number) >= 2), `seed ${seed}: stale rating after ${op}`);
        }
        const old = await quiver.open(ds.store, { version: first.id });
        assert.deepEqual((await old.query(sql, [q])).map((r) => r.row_id), before.map((r) => r.row_id), `seed ${seed}: old version changed`);
        await old.close();
        await ds.close();
      }),
      { numRuns: 6, seed: Number(process.env.QUIVER_SEED ?? 4) },
    );
  });

  it('reads only the new file of vectors after an append (cost, counted)', async () => {
    const rand = prng(15);
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    await ds.append(records(rand, 200));
    await ds.commit('a');
    const q = records(rand, 1)[0].emb;
    const sql = 'select row_id from dataset order by cosine_similarity(emb, $1) desc limit 5';
    await ds.query(sql, [q]);
    const { rowIds } = await ds.append(records(rand, 20));
    await ds.commit('b');
    store.reset();
    const top = await ds.query(sql, [Float32Array.from(records(rand, 1)[0].emb)]);
    assert.equal(top.length, 5);
    const embFiles = [...store.keysRead.keys()].filter((k) => k.endsWith('.emb.parquet'));
    assert.equal(embFiles.length, 1, `read ${embFiles.join(', ')}`);
    const exact = await ds.query(`select * from (${sql}) x`, [q]);
    const fast = await ds.query(sql, [q]);
    assert.deepEqual(fast.map((r) => r.row_id), exact.map((r) => r.row_id));
    assert.ok(rowIds.length === 20);
    await ds.close();
  });

  it('extends an index with only the rows added since it was built (incremental createIndex)', async () => {
    const rand = prng(21);
    const ds = await quiver.create(new MemoryStore(), { schema });
    await ds.append(records(rand, 300));
    await ds.commit('a');
    // One build thread: a graph built on two threads differs from run to run, and so would recall.
    const inserted = (column: string, spec: { connectivity?: number; rebuild?: boolean } = {}) => graphInserts(ds, column, { kind: 'vector', buildThreads: 1, ...spec });
    assert.equal(await inserted('emb'), 300);
    assert.equal(await inserted('shots'), (await ds.query('select sum(len(shots))::INT n from dataset'))[0].n);
    await ds.append(records(rand, 120));
    await ds.commit('b');
    await ds.delete({ where: 'rating = 2' });
    await ds.commit('c');
    // Only the 120 new rows go into the graph; the deleted rows stay in it but never come back.
    assert.equal(await inserted('emb'), 120);
    const shotsNew = (await ds.query('select sum(len(shots))::INT n from dataset where row_id >= 300 and rating <> 2'))[0].n as number;
    assert.ok((await inserted('shots')) >= shotsNew);
    const q = records(rand, 1)[0].emb;
    for (const column of ['emb', 'shots']) {
      const sql = `select row_id from dataset where rating >= 3 order by cosine_similarity(${column}, $1) desc limit 10`;
      const [fast, exact] = await both(ds, sql, [q]);
      assert.ok(recall(fast, exact) >= 0.9, column);
      assert.ok(!(await ds.explain(sql, [q])).signals![0].strategy.includes('unindexed'), column);
    }
    // Other options, or rebuild, build from scratch.
    assert.equal(await inserted('emb', { rebuild: true }), 420);
    assert.equal(await inserted('emb', { connectivity: 8 }), 420);
    await ds.close();
  });

  it('answers exactly when the index file is in an older format, and createIndex rebuilds it', async () => {
    const rand = prng(22);
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema });
    await ds.append(records(rand, 200));
    await ds.commit('a');
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1 });
    // Rewrite the index file as format 1 (still checksummed, so only the version is wrong).
    let key = '';
    for await (const o of store.list('index/')) if (o.key.endsWith('.qvix')) key = o.key;
    const bytes = (await store.get(key)).slice();
    new DataView(bytes.buffer).setUint32(4, 1, true);
    const body = bytes.subarray(0, bytes.length - 32);
    bytes.set(createHash('sha256').update(body).digest(), bytes.length - 32);
    await store.put(key, bytes);
    const old = await quiver.open(store);
    const q = records(rand, 1)[0].emb;
    const sql = `select row_id from dataset order by cosine_similarity(emb, $1) desc limit 5`;
    const [fast, exact] = await both(old, sql, [q]);
    assert.deepEqual(fast, exact);
    await old.close();
    assert.equal(await graphInserts(ds, 'emb', { kind: 'vector' }), 200);
    await ds.close();
  });

  it('ranks rows whose vector is NULL last, the same with and without an index (one- and multi-vector columns)', async () => {
    const rand = prng(17);
    const ds = await quiver.create(`memory://search-null-${Math.random()}`, { schema });
    const recs = records(rand, 600).map((r, i) => ({ ...r, emb: i % 4 === 1 ? null : r.emb, shots: i % 5 === 2 ? null : i % 5 === 3 ? [] : r.shots }));
    await ds.append(recs);
    await ds.commit('data');
    const q = records(rand, 1)[0].emb;
    const queries = [
      `select row_id from dataset order by cosine_similarity(emb, $1) desc limit 10`,
      `select row_id from dataset where rating >= 3 order by l2_distance(emb, $1) limit 10`,
      `select row_id from dataset order by inner_product(shots, $1) desc limit 10`,
      `select row_id, cosine_similarity(emb, $1) as s from dataset order by s desc limit 600`,
    ];
    for (const sql of queries.slice(0, 3)) {
      const [fast, exact] = await both(ds, sql, [q]);
      assert.deepEqual(fast, exact, sql);
    }
    // Past the rows with a vector come the others, scored NULL, in no defined order.
    const [fast, exact] = await both(ds, queries[3], [q]);
    assert.equal(fast.length, 600);
    assert.deepEqual(fast.slice(0, 450), exact.slice(0, 450));
    assert.deepEqual(new Set(fast.slice(450)), new Set(exact.slice(450)));
    const all = await ds.query(queries[3], [q]);
    assert.equal(all.filter((r) => r.s === null).length, 150, 'rows without a vector score NULL and still come back');
    const rrf = `select row_id, rrf(cosine_similarity(emb, $1), bm25(prompt, 'red car')) as f from dataset order by f desc limit 5`;
    const fastRrf = await ds.query(rrf, [q]);
    const exactRrf = await ds.query(`select * from (select row_id, rrf(cosine_similarity(emb, $1), bm25(prompt, 'red car')) as f from dataset) x order by f desc limit 5`, [q]);
    assert.deepEqual(fastRrf.map((r) => (r.f as number).toFixed(12)), exactRrf.map((r) => (r.f as number).toFixed(12)));
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'cosine' });
    await ds.createIndex('shots', { kind: 'vector', buildThreads: 1, metric: 'ip' });
    for (const sql of queries.slice(0, 3)) {
      const [fast, exact] = await both(ds, sql, [q]);
      assert.ok(recall(fast, exact) >= 0.9, `${sql}: recall ${recall(fast, exact)}`);
    }
    await ds.close();
  });

  it('explains the chosen plan', async () => {
    const rand = prng(13);
    const ds = await quiver.create(`memory://search-explain-${Math.random()}`, { schema });
    await ds.append(records(rand, 300));
    await ds.commit('data');
    const q = records(rand, 1)[0].emb;
    const e = await ds.explain(`select row_id from dataset where row_id < 3 order by cosine_similarity(emb, $1) desc limit 5`, [q]);
    assert.equal(e.shape, 'top-k');
    assert.equal(e.signals?.[0].candidates, 3);
    assert.equal(e.signals?.[0].strategy, 'exact-gather');
    assert.equal((await ds.explain('select count(*) from dataset')).shape, 'exact-sql');
    // A fresh handle's first call may be explain: match() and bm25 need the text statistics it loads.
    const fresh = await quiver.open(ds.url);
    const m = await fresh.explain(`select row_id from dataset where match(prompt, 'red') order by bm25(prompt, 'red car') desc limit 5`);
    assert.equal(m.signals?.[0].kind, 'bm25');
    assert.deepEqual(m.indexedFilters, [`match(prompt, 'red') (text index)`]);
    assert.equal(m.signals?.[0].rows, 300);
    await fresh.close();
    await ds.close();
  });

  it('finds near-duplicate rows', async () => {
    const rand = prng(14);
    const ds = await quiver.create(`memory://search-dup-${Math.random()}`, { schema });
    const recs = records(rand, 50);
    recs[40] = { ...recs[40], emb: Float32Array.from(recs[3].emb, (x) => x * 1.0001) };
    const { rowIds } = await ds.append(recs);
    await ds.commit('data');
    const pairs = await ds.nearDuplicates('emb', { threshold: 0.999 });
    assert.ok(pairs.some((p) => p.a === rowIds[3] && p.b === rowIds[40]));
    assert.ok(pairs.every((p) => p.similarity >= 0.999 && p.a < p.b));
    await ds.close();
  });
});

describe('vector indexes per metric, explained as executed', () => {
  const metrics = [
    ['cosine', 'cosine_similarity', 'desc'],
    ['l2', 'l2_distance', 'asc'],
    ['ip', 'inner_product', 'desc'],
  ] as const;

  it('names an index in explain only for a query of its metric, and execution reports the same plan', async () => {
    const rand = prng(21);
    const ds = await quiver.create(`memory://search-metric-${Math.random()}`, { schema });
    await ds.append(records(rand, 1200));
    await ds.commit('data');
    const q = records(rand, 1)[0].emb;
    for (const [built] of metrics) {
      await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: built, rebuild: true });
      for (const [metric, fn, dir] of metrics) {
        const sql = `select row_id from dataset order by ${fn}(emb, $1) ${dir} limit 10`;
        const e = (await ds.explain(sql, [q])).signals![0];
        // Only this metric's index exists (or was built last) when it is the query's metric.
        const has = ds.indexes.some((i) => i.kind === 'vector' && i.options.metric === metric);
        assert.equal(e.index.startsWith('none'), !has, `${built} index, ${metric} query: ${e.index}`);
        if (!has) assert.match(e.strategy, /^exact/, `${built} index, ${metric} query`);
        const [fast, exact] = await both(ds, sql, [q]);
        assert.ok(recall(fast, exact) >= 0.9, `${built} index, ${metric} query: recall ${recall(fast, exact)}`);
      }
    }
    await ds.close();
  });

  it('keeps one vector index per (column, metric): a second metric adds an index, the same metric replaces it', async () => {
    const rand = prng(22);
    const ds = await quiver.create(`memory://search-metric2-${Math.random()}`, { schema });
    await ds.append(records(rand, 600));
    await ds.commit('data');
    const q = records(rand, 1)[0].emb;
    const cosSql = `select row_id from dataset order by cosine_similarity(emb, $1) desc limit 5`;
    const l2Sql = `select row_id from dataset order by l2_distance(emb, $1) limit 5`;
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'cosine' });
    const cosKey = (await ds.explain(cosSql, [q])).signals![0].index;
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'l2' });
    const l2Key = (await ds.explain(l2Sql, [q])).signals![0].index;
    assert.deepEqual(ds.indexes.filter((i) => i.kind === 'vector').map((i) => i.options.metric).sort(), ['cosine', 'l2']);
    assert.equal((await ds.explain(cosSql, [q])).signals![0].index, cosKey);
    assert.notEqual(l2Key, cosKey);
    assert.ok(!l2Key.startsWith('none'));
    await ds.createIndex('emb', { kind: 'vector', buildThreads: 1, metric: 'l2', rebuild: true });
    assert.equal(ds.indexes.filter((i) => i.kind === 'vector').length, 2);
    assert.notEqual((await ds.explain(l2Sql, [q])).signals![0].index, l2Key);
    await ds.dropIndex('emb', 'vector');
    assert.equal(ds.indexes.filter((i) => i.kind === 'vector').length, 0);
    await ds.close();
  });
});

describe('bm25 in the SQL of several handles', () => {
  it("scores each handle's query with its own version's statistics, whichever handle registered the functions last", async () => {
    // DuckDB keeps one __q_bm25 per instance, and every handle's session is on the same one.
    const make = async (rows: number) => {
      const ds = await quiver.create(`memory://bm25-handles-${Math.random()}`, { schema: { prompt: 'text' } });
      await ds.append(Array.from({ length: rows }, (_, i) => ({ prompt: i % 2 ? 'red car' : 'blue boat' })));
      await ds.commit('rows');
      return ds;
    };
    const [small, large] = [await make(2), await make(5)];
    // Not a top-k shape (a second sort key): the scores come from the SQL functions.
    const sql = "select row_id, bm25(prompt, 'red car') as s from dataset order by s desc, row_id";
    const first = await small.query(sql);
    const other = await large.query(sql);
    assert.notDeepEqual(other.map((r) => r.s).slice(0, 2), first.map((r) => r.s));
    assert.deepEqual(await small.query(sql), first);
    await Promise.all([small.close(), large.close()]);
  });
});
