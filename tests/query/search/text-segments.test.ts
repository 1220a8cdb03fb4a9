// BM25 through ds.query from persisted per-fragment segments: the same ranking and scores as
// SQLite FTS5 over the version's live rows across appends, deletes, updates, compaction,
// branches and old versions; what a new version costs; and a damaged segment falling back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fts5, quoted } from '../../helpers/fts5.js';
import * as quiver from '../../../src/index.js';
import { CORRUPT_SEGMENT_WARNING } from '../../../src/query/index.js';
import { CountingStore, MemoryStore } from '../../../src/storage/index.js';
import { prng } from '../../helpers/tmp.js';

const WORDS = ['red', 'vintage', 'car', 'blue', 'cat', 'sunset', 'city', 'forest', 'robot', 'dog', 'neon', 'river', 'old', 'tree', 'sky', 'rain'];
const QUERIES = ['red car', 'neon city', 'dog', 'old tree rain', 'sky sky blue', 'robot cat river'];
const schema = { prompt: 'text', rating: 'int' };

function rows(rand: () => number, n: number) {
  // Zipf-ish word choice and varied lengths, so idf, length norms and ties all matter.
  const word = () => WORDS[Math.floor(WORDS.length * rand() * rand())];
  return Array.from({ length: n }, () => ({ prompt: rand() < 0.03 ? null : Array.from({ length: 1 + Math.floor(rand() * 9) }, word).join(' '), rating: Math.floor(rand() * 5) }));
}


/** FTS5 over the handle's live rows (rowid = row id): top 10 for OR and AND, best first, ties by row id. */
async function fts5Top(ds: quiver.Dataset, q: string): Promise<{ or: [bigint, number][]; and: bigint[] }> {
  const live = await ds.query('select row_id, prompt from dataset');
  const db = fts5(live.map((r) => [r.row_id as bigint, (r.prompt as string | null) ?? ''] as const));
  try {
    const st = db.prepare('SELECT rowid, bm25(t) AS s FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10');
    const or = (st.all(quoted(q, ' OR ')) as { rowid: number; s: number }[]).map((x) => [BigInt(x.rowid), -x.s] as [bigint, number]);
    const and = (st.all(quoted(q, ' ')) as { rowid: number }[]).map((x) => BigInt(x.rowid));
    return { or, and };
  } finally {
    db.close();
  }
}

/** Ours: top 10 by bm25 (OR; rows that score 0 are not matches) and the match()-filtered top 10 (AND). */
async function oursTop(ds: quiver.Dataset, q: string): Promise<{ or: [bigint, number][]; and: bigint[] }> {
  const or = await ds.query(`select row_id, bm25(prompt, '${q}') as s from dataset order by s desc, row_id limit 10`);
  const and = await ds.query(`select row_id from dataset where match(prompt, '${q}') order by bm25(prompt, '${q}') desc, row_id limit 10`);
  // The fast plan (top-k by bm25, block-max/MaxScore over the segments): DuckDB orders its ten
  // winners by score alone, so equal scores are put in row-id order here.
  const fast = await ds.query(`select row_id, bm25(prompt, '${q}') as s from dataset order by s desc limit 10`);
  fast.sort((a, b) => (b.s as number) - (a.s as number) || ((a.row_id as bigint) < (b.row_id as bigint) ? -1 : 1));
  assert.deepEqual(
    fast.map((r) => r.row_id),
    or.map((r) => r.row_id),
    `fast plan of "${q}"`,
  );
  return { or: or.filter((r) => (r.s as number) > 0).map((r) => [r.row_id as bigint, r.s as number]), and: and.map((r) => r.row_id as bigint) };
}

async function assertLikeFts5(ds: quiver.Dataset, when: string): Promise<void> {
  const plan = await ds.explain(`select row_id from dataset order by bm25(prompt, 'red car') desc limit 10`);
  assert.match(plan.signals![0].index, /^fulltext segments/, `${when}: explain ${plan.signals![0].index}`);
  for (const q of QUERIES) {
    const [theirs, ours] = [await fts5Top(ds, q), await oursTop(ds, q)];
    assert.deepEqual(ours.or.map((x) => x[0]), theirs.or.map((x) => x[0]), `${when}: OR "${q}"`);
    theirs.or.forEach(([, s], i) => assert.ok(Math.abs(s - ours.or[i][1]) <= 1e-9 * Math.abs(s), `${when}: "${q}" score ${i}: ${ours.or[i][1]} vs FTS5 ${s}`));
    assert.deepEqual(ours.and, theirs.and, `${when}: AND "${q}"`);
  }
}

const segmentKeys = (keys: Iterable<string>) => [...keys].filter((k) => k.endsWith('.qfts'));

describe('BM25 from persisted fulltext segments', () => {
  it('ranks and scores as FTS5 over the live rows across appends, deletes, updates, compaction, branches and old versions', async () => {
    const rand = prng(41);
    const ds = await quiver.create(`memory://fts-seg-${Math.random()}`, { schema });
    await ds.append(rows(rand, 300));
    await ds.commit('a');
    await ds.createIndex('prompt', { kind: 'fulltext' });
    await assertLikeFts5(ds, 'after createIndex');
    await ds.append(rows(rand, 120));
    const appended = await ds.commit('append');
    await assertLikeFts5(ds, 'after append');
    await ds.delete({ where: "prompt like '%red%' and rating < 2" });
    await ds.commit('delete');
    await assertLikeFts5(ds, 'after delete');
    await ds.update({ where: 'row_id % 5 = 0', set: { prompt: 'red red car neon' } });
    await ds.commit('update');
    await assertLikeFts5(ds, 'after update');
    const before = await oursTop(ds, 'red car');
    const exp = await ds.branch('exp');
    await exp.append(rows(rand, 50));
    await exp.delete({ where: 'row_id % 3 = 1' });
    await exp.commit('exp');
    await assertLikeFts5(exp, 'on a branch');
    assert.deepEqual(await oursTop(ds, 'red car'), before, 'main is untouched by the branch');
    assert.ok(await ds.compact(), 'compaction rewrote fragments');
    await assertLikeFts5(ds, 'after compaction');
    const old = await quiver.open(ds.store, { version: appended.id });
    await assertLikeFts5(old, 'at an old version');
    await old.close();
    await exp.close();
    await ds.close();
  });

  it('writes one segment per fragment at createIndex, and a new version writes only its new fragment\'s', async () => {
    const rand = prng(42);
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    for (let i = 0; i < 3; i++) {
      await ds.append(rows(rand, 100));
      await ds.commit(`c${i}`);
    }
    store.reset();
    await ds.createIndex('prompt', { kind: 'fulltext' });
    assert.equal(segmentKeys(store.keysWritten.keys()).length, 3);
    const sql = `select row_id, bm25(prompt, 'red car') as s from dataset order by s desc, row_id limit 10`;
    await ds.query(sql);
    await ds.append(rows(rand, 100));
    await ds.delete({ where: 'row_id % 4 = 0' });
    await ds.commit('more');
    store.reset();
    const top = await ds.query(sql);
    assert.deepEqual(segmentKeys(store.keysWritten.keys()).length, 1, `wrote ${segmentKeys(store.keysWritten.keys())}`);
    // A fresh handle (a restarted server) reads the four segments and builds none.
    const fresh = await quiver.open(store);
    store.reset();
    assert.deepEqual(await fresh.query(sql), top);
    assert.equal(segmentKeys(store.keysRead.keys()).length, 4);
    assert.equal(segmentKeys(store.keysWritten.keys()).length, 0);
    await fresh.close();
    await ds.close();
  });

  for (const damage of ['a flipped bit', 'a truncation'] as const) {
    it(`answers right with a warning when a segment has ${damage}`, async () => {
      const rand = prng(43);
      const store = new MemoryStore();
      const ds = await quiver.create(store, { schema });
      await ds.append(rows(rand, 200));
      await ds.commit('a');
      await ds.append(rows(rand, 200));
      await ds.commit('b');
      await ds.createIndex('prompt', { kind: 'fulltext' });
      const want = await oursTop(ds, 'neon city');
      const keys: string[] = [];
      for await (const o of store.list('index/')) if (o.key.endsWith('.qfts')) keys.push(o.key);
      const bytes = await store.get(keys[0]);
      const bad = damage === 'a truncation' ? bytes.subarray(0, bytes.length - 9) : bytes.slice();
      if (damage === 'a flipped bit') bad[bytes.length >> 1] ^= 0x10;
      await store.put(keys[0], bad);
      const warnings: Error[] = [];
      const listen = (w: Error & { code?: string }) => void (w.code === CORRUPT_SEGMENT_WARNING && warnings.push(w));
      process.on('warning', listen);
      try {
        const fresh = await quiver.open(store);
        assert.deepEqual(await oursTop(fresh, 'neon city'), want);
        await assertLikeFts5(fresh, `with ${damage}`);
        await fresh.close();
        // Warnings are emitted on the next tick: one more turn of the loop delivers them.
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', listen);
      }
      assert.equal(warnings.length, 1);
      assert.match(warnings[0].message, /corrupt full-text index/);
      await ds.close();
    });
  }
});
