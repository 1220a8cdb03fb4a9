// Per-row updates, upserts, group commit and changes to rows not yet committed: each is one
// commit, writes only the changed rows, and refuses ambiguous input before staging anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { ForwardingStore, MemoryStore, type ObjectInfo, type PutCondition, type PutData } from '../../../src/storage/index.js';

/** A real store that remembers the key of every put, in order. */
class PutLog extends ForwardingStore {
  readonly keys: string[] = [];
  override put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    this.keys.push(key);
    return super.put(key, data, condition);
  }
}
import { isQuiverError } from '../../../src/errors.js';
import { sharedEngine } from '../../../src/dataset/shared-engine.js';

async function seeded(n = 5): Promise<{ store: MemoryStore; ds: quiver.Dataset; ids: bigint[] }> {
  const store = new MemoryStore();
  const ds = await quiver.create(store, { schema: { k: 'text', rating: 'int', thumbs: 'bool', emb: 'emb-4' } });
  const r = await ds.append(Array.from({ length: n }, (_, i) => ({ k: `k${i}`, rating: 0, thumbs: null, emb: [i, 0, 0, 0] })));
  await ds.commit('seed');
  return { store, ds, ids: r.rowIds };
}

const rows = async (ds: quiver.Dataset) => (await ds.query('select k, rating, thumbs, emb[1] as e from dataset order by k')).map((r) => `${r.k}:${r.rating}:${r.thumbs}:${r.e}`);

describe('Dataset.update with rows', () => {
  it('gives each row its own values in one commit and one new fragment', async () => {
    const { ds, ids } = await seeded();
    const before = (await ds.log({ limit: 1 }).next()).value!;
    await ds.update({ rows: [{ row_id: ids[1], rating: 5 }, { row_id: ids[3], rating: 2, thumbs: false }] });
    await ds.update({ rows: [{ row_id: ids[1], thumbs: true }] }); // merges into the staged patch
    const c = await ds.commit('feedback');
    assert.deepEqual(c.parents, [before.id]);
    assert.equal(c.stats.rowsUpdated, 2);
    assert.deepEqual(await rows(ds), ['k0:0:null:0', 'k1:5:true:1', 'k2:0:null:2', 'k3:2:false:3', 'k4:0:null:4']);
    const m = (await ds.query('select count(*)::INT as n from dataset'))[0].n;
    assert.equal(m, 5);
    await ds.close();
  });

  it('finds a row updated again and again in its newest fragment only (older copies are hidden)', async () => {
    const { ds, ids } = await seeded();
    for (let round = 1; round <= 4; round++) {
      // Each round's lookup reads the fragment the last round wrote (whole, then from memory).
      await ds.update({ rows: [{ row_id: ids[2], rating: round }, ...(round % 2 ? [{ row_id: ids[4], rating: 10 + round }] : [])] });
      const c = await ds.commit(`round ${round}`);
      assert.equal(c.stats.rowsUpdated, round % 2 ? 2 : 1);
    }
    assert.deepEqual(await rows(ds), ['k0:0:null:0', 'k1:0:null:1', 'k2:4:null:2', 'k3:0:null:3', 'k4:13:null:4']);
    assert.equal((await ds.query('select count(*)::INT as n from dataset'))[0].n, 5);
    await ds.close();
  });

  it('rewrites a large column only when a row names it', async () => {
    const { ds, ids } = await seeded();
    await ds.update({ rows: [{ row_id: ids[0], emb: [9, 9, 9, 9] }, { row_id: ids[2], rating: 7 }] });
    await ds.commit('emb');
    assert.deepEqual(await rows(ds), ['k0:0:null:9', 'k1:0:null:1', 'k2:7:null:2', 'k3:0:null:3', 'k4:0:null:4']);
    await ds.close();
  });

  it('checks the row ids of a large-column backfill from row-id pages alone, after a schema change too', async () => {
    const { ds, ids } = await seeded();
    await ds.addColumn('clip', 'emb-2');
    await ds.delete({ where: "k = 'k4'" });
    await ds.commit('k4 gone');
    const engine = (await sharedEngine()).counts;
    const statements = engine.statements;
    await ds.update({ rows: ids.slice(0, 3).map((id, i) => ({ row_id: id, clip: [i, 1] })) });
    // Before, an evolved schema sent this lookup through DuckDB, reading every small column.
    assert.equal(engine.statements - statements, 0, 'DuckDB statements of the lookup');
    await assert.rejects(ds.update({ rows: [{ row_id: ids[4], clip: [4, 1] }] }), (e) => isQuiverError(e, 'not_found') && (e.details.rowIds as bigint[])[0] === ids[4]);
    await ds.update({ rows: [{ row_id: ids[1], rating: 6 }] }); // a small column: the row is read whole
    await ds.commit('backfill');
    assert.deepEqual((await ds.query('select k, rating, clip[1]::INT c from dataset order by k')).map((r) => `${r.k}:${r.rating}:${r.c}`), ['k0:0:0', 'k1:6:1', 'k2:0:2', 'k3:0:null']);
    await ds.close();
  });

  it('refuses a row id twice in one call and stages nothing', async () => {
    const { ds, ids } = await seeded();
    await assert.rejects(ds.update({ rows: [{ row_id: ids[0], rating: 1 }, { row_id: ids[0], rating: 2 }] }), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(ds.update({ rows: [{ row_id: ids[0], rating: 'five' }] }), (e) => isQuiverError(e, 'schema_mismatch'));
    await assert.rejects(ds.commit('nothing'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.close();
  });

  it('fails the call naming a row id that matches no row, staging none of its rows', async () => {
    const { ds, ids } = await seeded();
    await assert.rejects(ds.update({ rows: [{ row_id: ids[0], rating: 1 }, { row_id: 999_999n, rating: 2 }] }), (e) => isQuiverError(e, 'not_found') && (e.details.rowIds as bigint[])[0] === 999_999n);
    await ds.delete({ rowIds: [ids[4]] }); // a row deleted on the handle, not yet committed
    await assert.rejects(ds.update({ rows: [{ row_id: ids[4], rating: 2 }] }), (e) => isQuiverError(e, 'not_found'));
    await ds.update({ rows: [{ row_id: ids[1], rating: 3 }] });
    await ds.commit('good');
    assert.deepEqual(await rows(ds), ['k0:0:null:0', 'k1:3:null:1', 'k2:0:null:2', 'k3:0:null:3']);
    await ds.close();
  });
});

describe('Dataset.update with rows: values kept', () => {
  // The row lookup reads the other small columns from the files itself (no DuckDB) for most
  // kinds, and through DuckDB for the rest (timestamps, lists): either way the copied columns
  // must come back exactly, the edges of each kind included.
  const kinds = {
    t: 'text', j: 'json', b: 'bool', i8: 'int8', i16: 'int16', i32: 'int32', i64: 'int64',
    u8: 'uint8', u16: 'uint16', u32: 'uint32', u64: 'uint64', f32: 'float32', f64: 'float64',
    ts: 'timestamp', tags: 'list<text>', rating: 'int',
  } as const;
  const record = (i: number) => ({
    t: i === 1 ? null : `é-${i}`, j: { n: i, s: [i] }, b: i % 2 === 0, i8: -128 + i, i16: -32768 + i, i32: -(2 ** 31) + i,
    i64: -(2n ** 63n) + BigInt(i), u8: 255 - i, u16: 65535 - i, u32: 2 ** 32 - 1 - i, u64: 2n ** 64n - 1n - BigInt(i),
    f32: 0.1 + i, f64: Math.PI * i, ts: new Date(Date.UTC(2026, 0, 1 + i)), tags: [`a${i}`, `b`], rating: 0,
  });
  const all = async (ds: quiver.Dataset) => (await ds.query('select * exclude (rating) from dataset order by i8')).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  for (const schema of [Object.fromEntries(Object.entries(kinds).filter(([k]) => k !== 'ts' && k !== 'tags')), kinds]) {
    it(`copies every other column exactly (${'ts' in schema ? 'with timestamp and list columns' : 'plain kinds only'})`, async () => {
      const ds = await quiver.create(new MemoryStore(), { schema: schema as Record<string, string> });
      const ids = (await ds.append([0, 1, 2, 3].map((i) => Object.fromEntries(Object.entries(record(i)).filter(([k]) => k in schema))))).rowIds;
      await ds.commit('seed');
      const before = await all(ds);
      for (let round = 1; round <= 2; round++) {
        // Round 2 finds rows 1 and 2 in the fragment round 1 wrote, their old copies hidden.
        await ds.update({ rows: [{ row_id: ids[1], rating: round }, { row_id: ids[2], rating: round }, ...(round === 2 ? [{ row_id: ids[3], rating: 9 }] : [])] });
        await ds.commit(`round ${round}`);
      }
      assert.deepEqual(await all(ds), before);
      assert.deepEqual((await ds.query('select rating from dataset order by i8')).map((r) => r.rating), [0, 2, 2, 9]);
      await ds.close();
    });
  }
});

describe('Dataset.update with rows: cost', () => {
  it('writes the pending marker once per commit, listing every file before any is written', async () => {
    const store = new PutLog(new MemoryStore());
    const ds = await quiver.create(store, { schema: { k: 'text', rating: 'int' } });
    const ids = (await ds.append(Array.from({ length: 50 }, (_, i) => ({ k: `k${i}`, rating: 0 })))).rowIds;
    await ds.commit('seed');
    for (let round = 0; round < 3; round++) {
      store.keys.length = 0;
      await ds.update({ rows: [{ row_id: ids[round], rating: 5 }, { row_id: ids[10 + round], rating: 4 }] });
      await ds.commit(`feedback ${round}`);
      const kinds = store.keys.map((k) => k.split('/').slice(0, k.startsWith('meta/') ? 2 : 1).join('/'));
      // The marker first and once, then one column patch file (no fragment, no deletes file),
      // a manifest and a commit (one round of concurrent writes), then the ref.
      assert.deepEqual([kinds[0], ...kinds.slice(1, 4).sort(), kinds[4]], ['meta/pending', 'data', 'meta/commits', 'meta/manifests', 'refs'], store.keys.join(' '));
      assert.ok(store.keys.some((k) => k.endsWith('.patch.parquet')), store.keys.join(' '));
      assert.equal(kinds.length, 5, store.keys.join(' '));
    }
    assert.deepEqual((await ds.query('select rating from dataset where k in (\'k0\', \'k12\') order by k')).map((r) => r.rating), [5, 4]);
    await ds.close();
  });
});

describe('Dataset.upsert', () => {
  it('inserts new keys and updates existing ones in one commit', async () => {
    const { ds } = await seeded();
    const r = await ds.upsert([{ k: 'k2', rating: 4 }, { k: 'new', rating: 3, emb: [7, 0, 0, 0] }], { on: 'k' });
    assert.deepEqual([r.updated, r.inserted], [1, 1]);
    const c = await ds.commit('upsert');
    assert.deepEqual([c.stats.rowsAdded, c.stats.rowsUpdated], [1, 1]);
    assert.deepEqual(await rows(ds), ['k0:0:null:0', 'k1:0:null:1', 'k2:4:null:2', 'k3:0:null:3', 'k4:0:null:4', 'new:3:null:7']);
    await ds.close();
  });

  it('finds keys in the fragment files, skipping deleted and moved copies, without DuckDB', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { id: 'int64', tag: 'text', n: 'int' } });
    const { rowIds } = await ds.append(Array.from({ length: 20 }, (_, i) => ({ id: BigInt(i), tag: `t${i % 7}`, n: i })));
    await ds.commit('seed');
    await ds.update({ rows: [{ row_id: rowIds[3], n: 300 }] }); // id 3 moves to a new fragment
    await ds.delete({ where: 'id = 4' });
    await ds.commit('edit');
    const engine = (await sharedEngine()).counts;
    const statements = engine.statements;
    // Numbers and bigints of one value are one key; id 4 is deleted, so it is new again.
    const r = await ds.upsert([{ id: 3, n: 33 }, { id: 4n, tag: 'back', n: 44 }, { id: 5, n: 55 }, { id: 99, tag: 'new', n: 99 }], { on: 'id' });
    assert.equal(engine.statements - statements, 0, 'DuckDB statements of the key lookup');
    assert.deepEqual([r.updated, r.inserted], [2, 2]);
    await assert.rejects(ds.upsert({ tag: 't1', n: 0 }, { on: 'tag' }), (e) => isQuiverError(e, 'conflict')); // t1 is held by 3 rows
    await ds.commit('upsert');
    const got = (await ds.query('select id, tag, n from dataset where id in (3, 4, 5, 99) order by id')).map((x) => `${x.id}:${x.tag}:${x.n}`);
    assert.deepEqual(got, ['3:t3:33', '4:back:44', '5:t5:55', '99:new:99']);
    assert.equal(ds.rowCount, 21);
    await ds.close();
  });

  it('plans the updated rows at commit from the rows its key lookup read, not a second lookup', async () => {
    const { ds } = await seeded();
    await ds.renameColumn('thumbs', 'thumbs_up'); // an evolved schema: a lookup by id is a DuckDB query
    await ds.upsert([{ k: 'k1', rating: 8 }, { k: 'k3', thumbs_up: true }, { k: 'n1', rating: 1 }], { on: 'k' });
    await ds.append({ k: 'n2', rating: 2 }); // staged beside them: the rows read stay valid
    const engine = (await sharedEngine()).counts;
    const statements = engine.statements;
    const c = await ds.commit('upsert');
    assert.equal(engine.statements - statements, 0, 'DuckDB statements of the commit');
    assert.deepEqual([c.stats.rowsAdded, c.stats.rowsUpdated], [2, 2]);
    const got = (await ds.query('select k, rating, thumbs_up, emb[1] e from dataset order by k')).map((r) => `${r.k}:${r.rating}:${r.thumbs_up}:${r.e}`);
    assert.deepEqual(got, ['k0:0:null:0', 'k1:8:null:1', 'k2:0:null:2', 'k3:0:true:3', 'k4:0:null:4', 'n1:1:null:null', 'n2:2:null:null']);
    await ds.close();
  });

  it('refuses a key twice in one call, and a key held by several rows, staging nothing', async () => {
    const { ds } = await seeded();
    await assert.rejects(ds.upsert([{ k: 'x', rating: 1 }, { k: 'x', rating: 2 }], { on: 'k' }), (e) => isQuiverError(e, 'invalid_input'));
    await ds.append({ k: 'k1', rating: 9 }); // staged rows are matched too: k1 is now held twice
    await assert.rejects(ds.upsert([{ k: 'k1', rating: 1 }, { k: 'y', rating: 1 }], { on: 'k' }), (e) => isQuiverError(e, 'conflict'));
    await ds.commit('one append');
    assert.equal(ds.rowCount, 6);
    await ds.close();
  });

  it('matches rows appended on the handle and not yet committed', async () => {
    const { ds } = await seeded();
    await ds.append({ k: 'fresh', rating: 1 });
    const r = await ds.upsert({ k: 'fresh', rating: 2 }, { on: 'k' });
    assert.equal(r.updated, 1);
    await ds.commit('fresh');
    assert.deepEqual((await rows(ds)).filter((x) => x.startsWith('fresh')), ['fresh:2:null:null']);
    await ds.close();
  });
});

describe('Dataset staged rows', () => {
  it('updates and deletes rows appended and not yet committed', async () => {
    const { ds } = await seeded();
    const a = await ds.append([{ k: 'a', rating: 1 }, { k: 'b', rating: 1 }, { k: 'c', rating: 1 }]);
    assert.equal((await ds.update({ rowIds: [a.rowIds[0]], set: { rating: 8 } })).rows, 1);
    assert.equal((await ds.delete({ where: "k = 'b'" })).rows, 1);
    await ds.update({ rows: [{ row_id: a.rowIds[2], rating: 6 }] });
    await ds.commit('staged');
    assert.deepEqual((await rows(ds)).slice(0, 2), ['a:8:null:null', 'c:6:null:null']);
    assert.equal(ds.rowCount, 7);
    await ds.close();
  });
});

describe('Dataset group commit', () => {
  it('tells each concurrent update call the rows it staged, though their patches are checked and staged together', async () => {
    const { ds, ids } = await seeded();
    const counts = await Promise.all([ds.update({ rows: [{ row_id: ids[0], rating: 1 }] }), ds.update({ rows: [{ row_id: ids[1], rating: 2 }, { row_id: ids[2], rating: 3 }] })]);
    assert.deepEqual(counts.map((c) => c.rows), [1, 2]);
    await ds.commit('both');
    assert.deepEqual(await rows(ds), ['k0:1:null:0', 'k1:2:null:1', 'k2:3:null:2', 'k3:0:null:3', 'k4:0:null:4']);
    await ds.close();
  });

  it('coalesces concurrent commits into few publishes, each caller getting the version holding its change', async () => {
    const callers = 16;
    const { ds, ids } = await seeded(callers);
    const head0 = ds.version.id;
    const commits = await Promise.all(ids.map(async (id, i) => {
      await ds.update({ rows: [{ row_id: id, rating: i + 1 }] });
      return { i, c: await ds.commit(`feedback ${i}`) };
    }));
    const distinct = new Set(commits.map((x) => x.c.id));
    assert.ok(distinct.size < callers, `publishes ${distinct.size}`);
    for (const { i, c } of commits) {
      const at = await ds.checkout(c.id);
      const [r] = await at.query('select rating from dataset where k = $1', [`k${i}`]);
      assert.equal(r.rating, i + 1, `caller ${i} at ${c.id}`);
      await at.close();
    }
    const history = (await ds.versions()).map((c) => c.id);
    assert.equal(history.indexOf(head0), history.length - 1 - distinct.size);
    await ds.close();
  });

  it('fails only the caller whose row id matches no row, committing every other caller of the group', async () => {
    const callers = 16;
    const bad = 5;
    const { ds, ids } = await seeded(callers);
    const results = await Promise.allSettled(ids.map(async (id, i) => {
      await ds.update({ rows: [{ row_id: i === bad ? 777_777n : id, rating: i + 1 }] });
      return ds.commit(`feedback ${i}`);
    }));
    results.forEach((r, i) => assert.equal(r.status, i === bad ? 'rejected' : 'fulfilled', `caller ${i}`));
    assert.ok(isQuiverError((results[bad] as PromiseRejectedResult).reason, 'not_found'));
    const got = await ds.query('select k, rating from dataset order by rating');
    assert.deepEqual(got.map((r) => r.rating), ids.map((_, i) => (i === bad ? 0 : i + 1)).sort((a, b) => a - b));
    await ds.close();
  });
});
