// Column patches: a per-row update of small, non-indexed columns writes one file of row_id +
// those columns. Every read path (view, search winners, stream, diff, merge, compaction, old
// versions) must see the patched values, and a seeded run of random changes must equal a model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderById } from '../../../src/dataset/versioning/column-patch.js';
import * as quiver from '../../../src/index.js';
import { ForwardingStore, MemoryStore, type PutCondition, type PutData } from '../../../src/storage/index.js';
import { readManifest } from '../../../src/format/index.js';
import { isQuiverError } from '../../../src/errors.js';

const schema = { k: 'text', rating: 'int', note: 'text', emb: 'emb-2' } as const;

interface Row {
  k: string;
  rating: number | null;
  note: string | null;
  emb: [number, number];
}
type Model = Map<bigint, Row>;

/** A dataset of `n` rows k0.. with rating 0, committed once. */
async function seeded(n: number, note: string | null): Promise<{ store: MemoryStore; ds: quiver.Dataset; rowIds: bigint[] }> {
  const store = new MemoryStore();
  const ds = await quiver.create(store, { schema: { ...schema } });
  const { rowIds } = await ds.append(Array.from({ length: n }, (_, i) => ({ k: `k${i}`, rating: 0, note, emb: [i, 1] })));
  await ds.commit('seed');
  return { store, ds, rowIds };
}

async function manifestOf(ds: quiver.Dataset, store: MemoryStore) {
  const c = (await ds.log({ limit: 1 }).next()).value!;
  return readManifest(store, c.manifest);
}

async function viewRows(ds: quiver.Dataset): Promise<string[]> {
  return (await ds.query('select row_id, k, rating, note, emb from dataset order by row_id')).map((r) => `${r.row_id}|${r.k}|${r.rating}|${r.note}|${(r.emb as number[]).join(',')}`);
}

function modelRows(m: Model): string[] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, r]) => `${id}|${r.k}|${r.rating}|${r.note}|${r.emb.join(',')}`);
}

async function streamRows(ds: quiver.Dataset): Promise<string[]> {
  // The last batch is padded with rows from the start: each row id is kept once.
  const out = new Set<string>();
  for await (const b of ds.stream({ columns: ['k', 'note', 'rating'], batchRows: 7 })) {
    const k = b.columns.k;
    const note = b.columns.note;
    const rating = b.columns.rating;
    assert.ok(k.kind === 'text' && note.kind === 'text');
    for (let i = 0; i < b.rows; i++) {
      const rv = rating.kind === 'tensor' ? (rating.valid && !rating.valid[i] ? null : Number(rating.data[i])) : (rating as { values: unknown[] }).values[i];
      out.add(`${b.rowId[i]}|${k.values[i]}|${rv}|${note.values[i]}`);
    }
  }
  return [...out].sort();
}

/** The search path: winners' small columns are read from the files by row id (RowLookup). */
async function searchRows(ds: quiver.Dataset, m: Model): Promise<void> {
  const q = [1, 0.25];
  const got = await ds.query('select row_id, k, rating, note from dataset where rating >= 2 order by cosine_similarity(emb, $1::FLOAT[2]) desc limit 5', [q]);
  const cos = (e: number[]) => (e[0] * q[0] + e[1] * q[1]) / (Math.hypot(...e) * Math.hypot(...q));
  const want = [...m.entries()].filter(([, r]) => r.rating !== null && r.rating >= 2).sort((a, b) => cos(b[1].emb) - cos(a[1].emb)).slice(0, 5);
  assert.deepEqual(got.map((r) => `${r.row_id}|${r.k}|${r.rating}|${r.note}`), want.map(([id, r]) => `${id}|${r.k}|${r.rating}|${r.note}`));
}

describe('column patches', () => {
  it('an update of small columns by rows writes one patch file: no fragment, no deletes, old versions keep old values', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { ...schema } });
    const { rowIds } = await ds.append(Array.from({ length: 20 }, (_, i) => ({ k: `k${i}`, rating: 0, note: null, emb: [i, 1] })));
    const v1 = await ds.commit('seed');
    const before = await manifestOf(ds, store);
    await ds.update({ rows: [{ row_id: rowIds[3], rating: 5 }, { row_id: rowIds[7], rating: 2, note: 'meh' }, { row_id: rowIds[9], note: null }] });
    const v2 = await ds.commit('feedback');
    const m = await manifestOf(ds, store);
    assert.equal(m.fragments.length, before.fragments.length, 'no new fragment');
    assert.deepEqual(m.fragments.map((f) => f.deletes), before.fragments.map((f) => f.deletes), 'no deletes file');
    assert.equal(m.patches?.length, 3, 'one patch per distinct set of columns');
    assert.ok(v2.stats.bytesWritten! < 4000, `bytes written ${v2.stats.bytesWritten}`);
    const q = 'select k, rating, note from dataset where k in (\'k3\', \'k7\', \'k9\') order by k';
    assert.deepEqual((await ds.query(q)).map((r) => `${r.k}:${r.rating}:${r.note}`), ['k3:5:null', 'k7:2:meh', 'k9:0:null']);
    const old = await ds.checkout(v1.id);
    assert.deepEqual((await old.query(q)).map((r) => `${r.k}:${r.rating}:${r.note}`), ['k3:0:null', 'k7:0:null', 'k9:0:null']);
    await old.close();
    // A manifest with patches is format 4: an older Quiver refuses it instead of reading stale values.
    const c = (await ds.log({ limit: 1 }).next()).value!;
    const text = new TextDecoder().decode(await store.get(`meta/manifests/${c.manifest}.json`));
    assert.equal(JSON.parse(text).quiver, 4);
    // Diff: a patched row is a changed row (same row id).
    const d = await ds.diff(v1.id, v2.id);
    assert.deepEqual([d.counts.added, d.counts.removed, d.counts.changed], [0, 0, 2]);
    const rows = [];
    for await (const r of d.rows()) rows.push(r);
    assert.deepEqual(rows.map((r) => [r.rowId, r.change, r.columns]), [
      [rowIds[3], 'changed', { rating: { old: 0, new: 5 } }],
      [rowIds[7], 'changed', { rating: { old: 0, new: 2 }, note: { old: null, new: 'meh' } }],
    ]);
    await ds.close();
  });

  it('a later patch wins; a whole-row rewrite of a patched row keeps the patched values; compact folds patches into fragments', async () => {
    const { store, ds, rowIds } = await seeded(10, 'x');
    await ds.update({ rows: [{ row_id: rowIds[1], rating: 1 }, { row_id: rowIds[2], rating: 1 }] });
    await ds.commit('p1');
    await ds.update({ rows: [{ row_id: rowIds[1], rating: 9 }] });
    await ds.commit('p2');
    // rating and emb together: the row is rewritten whole, from the patched view.
    await ds.update({ rows: [{ row_id: rowIds[2], note: 'y', emb: [7, 7] }] });
    await ds.commit('whole');
    await ds.update({ where: 'k = $1', params: ['k2'], set: { note: 'z' } });
    await ds.commit('where');
    const want = ['k0:0:x', 'k1:9:x', 'k2:1:z', 'k3:0:x'];
    const q = 'select k, rating, note from dataset order by k limit 4';
    assert.deepEqual((await ds.query(q)).map((r) => `${r.k}:${r.rating}:${r.note}`), want);
    const c = await ds.compact();
    assert.ok(c);
    const m = await manifestOf(ds, store);
    assert.equal(m.patches, undefined, 'compaction rewrote every patched fragment');
    assert.deepEqual((await ds.query(q)).map((r) => `${r.k}:${r.rating}:${r.note}`), want);
    await ds.close();
  });

  it('folds more than 8 patches into one at commit', async () => {
    const { store, ds, rowIds } = await seeded(30, null);
    for (let i = 0; i < 12; i++) {
      await ds.update({ rows: [{ row_id: rowIds[i], rating: i + 1 }, ...(i % 3 === 0 ? [{ row_id: rowIds[29 - i], note: `n${i}` }] : [])] });
      await ds.commit(`p${i}`);
      assert.ok(((await manifestOf(ds, store)).patches?.length ?? 0) <= 8);
    }
    const got = await ds.query('select k, rating, note from dataset order by row_id');
    assert.deepEqual(
      got.map((r) => `${r.k}:${r.rating}:${r.note}`),
      Array.from({ length: 30 }, (_, i) => `k${i}:${i < 12 ? i + 1 : 0}:${[29, 26, 23, 20].includes(i) ? `n${29 - i}` : null}`),
    );
    await ds.close();
  });

  it('folds patches of one column over one fragment from their own files, newest value first', async () => {
    const { store, ds, rowIds } = await seeded(20, null);
    const want = new Array<number>(20).fill(0);
    for (let i = 0; i < 11; i++) {
      const rows = [i % 5, (i * 3) % 20, 19 - i].map((r) => ({ row_id: rowIds[r], rating: 10 * i + r }));
      await ds.update({ rows: rows.filter((r, j) => rows.findIndex((x) => x.row_id === r.row_id) === j) });
      for (const r of rows) want[rowIds.indexOf(r.row_id)] = r.rating;
      await ds.commit(`p${i}`);
      assert.ok(((await manifestOf(ds, store)).patches?.length ?? 0) <= 8);
    }
    assert.deepEqual((await ds.query('select rating from dataset order by row_id')).map((r) => r.rating), want);
    await ds.close();
  });

  it('folds only the newest small patches when an older one is bigger: its rows are not rewritten at every fold', async () => {
    const { store, ds, rowIds } = await seeded(100, null);
    const want = new Array<number>(100).fill(0);
    await ds.update({ rows: rowIds.slice(0, 60).map((row_id, i) => ((want[i] = 1000 + i), { row_id, rating: 1000 + i })) });
    await ds.commit('big');
    const big = (await manifestOf(ds, store)).patches![0];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const r = (i * 7) % 100;
      want[r] = i;
      await ds.update({ rows: [{ row_id: rowIds[r], rating: i }] });
      const c = await ds.commit(`p${i}`);
      bytes += c.stats.bytesWritten;
      const m = await manifestOf(ds, store);
      assert.ok((m.patches?.length ?? 0) <= 8);
      assert.equal(m.patches![0].key, big.key, `commit ${i} rewrote the 60-row patch`);
    }
    // 20 one-row patches and their folds; refolding the 60 rows each time wrote 3 such files.
    assert.ok(bytes < 20 * big.bytes, `${bytes} bytes written`);
    assert.deepEqual((await ds.query('select rating from dataset order by row_id')).map((r) => r.rating), want);
    await ds.close();
  });

  it('a patch and a whole-row update of the same row from two handles conflict instead of losing one', async () => {
    const { store, ds: a, rowIds } = await seeded(5, null);
    const b = await quiver.open(store);
    // Each pair lands both changes or refuses the later one: never a lost update.
    const both = async (commit: Promise<unknown>, handle: quiver.Dataset, q: string, want: string) => {
      try {
        await commit;
      } catch (e) {
        assert.ok(isQuiverError(e, 'conflict'), String(e));
        await handle.discard();
        return;
      }
      await a.refresh();
      const [r] = await a.query(q);
      assert.equal(`${r.rating}:${r.note}`, want);
    };
    await b.update({ rows: [{ row_id: rowIds[1], note: 'b', emb: [5, 5] }] }); // a whole-row rewrite
    await a.update({ rows: [{ row_id: rowIds[1], rating: 4 }] });
    await a.commit('patch');
    await both(b.commit('whole'), b, "select rating, note from dataset where k = 'k1'", '4:b');
    await b.refresh();
    await a.refresh();
    // The other order: a where-update planned now, a patch committed first.
    await b.update({ where: 'k = $1', params: ['k2'], set: { note: 'w' } });
    await a.update({ rows: [{ row_id: rowIds[2], rating: 4 }] });
    await a.commit('patch2');
    await both(b.commit('where'), b, "select rating, note from dataset where k = 'k2'", '4:w');
    await b.refresh();
    await a.refresh();
    // And a patch planned on a head that a where-update then changes.
    await a.update({ rows: [{ row_id: rowIds[3], rating: 7 }] });
    await b.update({ where: 'k = $1', params: ['k3'], set: { note: 'v' } });
    await b.commit('where2');
    await both(a.commit('patch3'), a, "select rating, note from dataset where k = 'k3'", '7:v');
    await a.close();
    await b.close();
  });

  it('merges a branch whose rows were patched as changed rows', async () => {
    const { store, ds, rowIds } = await seeded(6, null);
    await ds.branch('ft');
    const ft = await quiver.open(store, { branch: 'ft' });
    await ft.update({ rows: [{ row_id: rowIds[1], rating: 3 }] });
    const extra = await ft.append({ k: 'new', rating: 1, note: 'n', emb: [1, 1] });
    await ft.commit('ft feedback');
    await ft.update({ rows: [{ row_id: extra.rowIds[0], rating: 8 }] }); // a patch over a fragment only ft has
    await ft.commit('ft patch of its new row');
    await ds.update({ rows: [{ row_id: rowIds[4], note: 'main' }] });
    await ds.commit('main feedback');
    await ds.merge('ft');
    assert.deepEqual((await ds.query('select k, rating, note from dataset order by k')).map((r) => `${r.k}:${r.rating}:${r.note}`), ['k0:0:null', 'k1:3:null', 'k2:0:null', 'k3:0:null', 'k4:0:main', 'k5:0:null', 'new:8:n']);
    await ft.close();
    await ds.close();
  });

  it("an upsert's commit writes its new keys' fragment in the publish's round: the pending marker is written once", async () => {
    const puts: string[] = [];
    const store = new (class extends ForwardingStore {
      override async put(key: string, data: PutData, condition?: PutCondition) {
        puts.push(key);
        return super.put(key, data, condition);
      }
    })(new MemoryStore());
    const ds = await quiver.create(store, { schema: { ...schema } });
    await ds.append(Array.from({ length: 10 }, (_, i) => ({ k: `k${i}`, rating: 0, note: null, emb: [i, 1] })));
    await ds.commit('seed');
    puts.length = 0;
    await ds.upsert([{ k: 'k3', rating: 5 }, { k: 'new', rating: 1, note: 'n', emb: [9, 9] }], { on: 'k' });
    await ds.commit('upsert');
    assert.equal(puts.filter((k) => k.startsWith('meta/pending/')).length, 1, puts.join('\n'));
    assert.deepEqual((await ds.query("select k, rating, note from dataset where k in ('k3', 'new') order by k")).map((r) => `${r.k}:${r.rating}:${r.note}`), ['k3:5:null', 'new:1:n']);
    await ds.close();
  });

  it('upsert on a key: matched keys become a patch (key column unpatched), new keys a fragment, one commit', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { ...schema } });
    await ds.append(Array.from({ length: 10 }, (_, i) => ({ k: `k${i}`, rating: 0, note: null, emb: [i, 1] })));
    await ds.commit('seed');
    const before = await manifestOf(ds, store);
    const r = await ds.upsert([{ k: 'k2', rating: 4 }, { k: 'k5', note: 'hi' }, { k: 'nn', rating: 1, emb: [2, 2] }], { on: 'k' });
    assert.deepEqual([r.updated, r.inserted], [2, 1]);
    await ds.commit('upsert');
    const m = await manifestOf(ds, store);
    assert.equal(m.fragments.length, before.fragments.length + 1);
    assert.ok(m.patches?.every((p) => !p.columns.includes('k')));
    assert.deepEqual((await ds.query("select k, rating, note from dataset where k in ('k2', 'k5', 'nn') order by k")).map((x) => `${x.k}:${x.rating}:${x.note}`), ['k2:4:null', 'k5:0:hi', 'nn:1:null']);
    await ds.upsert([{ k: 'k2', rating: 5 }], { on: 'k' });
    await ds.commit('again');
    assert.equal((await ds.query("select rating from dataset where k = 'k2'"))[0].rating, 5);
    await ds.close();
  });

  it('renaming or dropping a patched column keeps the patch readable', async () => {
    const { store, ds, rowIds } = await seeded(4, null);
    await ds.update({ rows: [{ row_id: rowIds[1], rating: 6, note: 'a' }] });
    await ds.commit('p');
    await ds.renameColumn('rating', 'stars');
    assert.deepEqual((await ds.query('select k, stars, note from dataset order by k')).map((r) => `${r.k}:${r.stars}:${r.note}`), ['k0:0:null', 'k1:6:a', 'k2:0:null', 'k3:0:null']);
    await ds.dropColumn('note');
    assert.deepEqual((await ds.query('select k, stars from dataset order by k')).map((r) => `${r.k}:${r.stars}`), ['k0:0', 'k1:6', 'k2:0', 'k3:0']);
    await ds.close();
  });

  it('a seeded run of patches, whole-row updates, upserts, deletes, compactions and appends equals a model on every read path and old version', async () => {
    for (const seed of [1, 2, 3]) {
      let s = seed * 7919;
      const rnd = (n: number) => {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        return s % n;
      };
      const store = new MemoryStore();
      const ds = await quiver.create(store, { schema: { ...schema } });
      const model: Model = new Map();
      const recs = Array.from({ length: 40 }, (_, i): Row => ({ k: `k${i}`, rating: i % 4, note: null, emb: [1 + (i % 7), 1 + ((i * 3) % 5)] }));
      const first = await ds.append(recs);
      first.rowIds.forEach((id, i) => model.set(id, { ...recs[i] }));
      await ds.commit('seed');
      let next = 40;
      const versions: { id: string; rows: string[] }[] = [];
      for (let step = 0; step < 14; step++) {
        const ids = [...model.keys()];
        const pick = () => ids[rnd(ids.length)];
        const op = rnd(7);
        if (op <= 1) {
          const chosen = [...new Set(Array.from({ length: 1 + rnd(6) }, pick))];
          const rows = chosen.map((id) => (rnd(2) ? { row_id: id, rating: rnd(5) } : { row_id: id, note: `s${step}`, rating: rnd(2) ? null : 3 }));
          await ds.update({ rows });
          for (const r of rows) Object.assign(model.get(r.row_id)!, Object.fromEntries(Object.entries(r).filter(([c]) => c !== 'row_id')));
        } else if (op === 2) {
          const id = pick();
          const emb: [number, number] = [1 + rnd(9), 1 + rnd(9)];
          await ds.update({ rows: [{ row_id: id, note: `w${step}`, emb }] });
          Object.assign(model.get(id)!, { note: `w${step}`, emb });
        } else if (op === 3) {
          const id = pick();
          await ds.update({ where: 'k = $1', params: [model.get(id)!.k], set: { rating: 4 } });
          model.get(id)!.rating = 4;
        } else if (op === 4) {
          const id = pick();
          const k = `k${next++}`;
          const rating = rnd(5);
          const r = await ds.upsert([{ k: model.get(id)!.k, rating }, { k, rating: 2, note: 'up', emb: [3, 1] }], { on: 'k' });
          assert.equal(r.rowIds[0], id);
          model.get(id)!.rating = rating;
          model.set(r.rowIds[1], { k, rating: 2, note: 'up', emb: [3, 1] });
        } else if (op === 5) {
          const id = pick();
          await ds.delete({ rowIds: [id] });
          model.delete(id);
        } else {
          await ds.append({ k: `k${next}`, rating: 1, note: 'a', emb: [2, 5] }).then((r) => model.set(r.rowIds[0], { k: `k${next++}`, rating: 1, note: 'a', emb: [2, 5] }));
        }
        const c = await ds.commit(`step ${step}`);
        if (rnd(5) === 0) await ds.compact();
        const want = modelRows(model);
        assert.deepEqual(await viewRows(ds), want, `seed ${seed} step ${step} view`);
        assert.deepEqual(await streamRows(ds), want.map((x) => x.split('|').slice(0, 4).join('|')).sort(), `seed ${seed} step ${step} stream`);
        await searchRows(ds, model);
        versions.push({ id: c.id, rows: want });
      }
      for (const v of versions) {
        const old = await ds.checkout(v.id);
        assert.deepEqual(await viewRows(old), v.rows, `seed ${seed} version ${v.id}`);
        await old.close();
      }
      await ds.close();
    }
  });
});

describe('orderById', () => {
  it('orders positions by id, packed as doubles or, for ids far apart, with a comparator', () => {
    const seed = 11;
    let x = seed;
    const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
    for (const spread of [100_000n, 2n ** 40n, 2n ** 62n]) {
      const ids = [...new Set(Array.from({ length: 5000 }, () => (BigInt(next()) * spread) / 2n ** 31n + 7n))];
      const order = orderById(ids);
      const want = ids.map((id, i) => [id, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, i]) => i);
      assert.deepEqual(order, want, `seed ${seed}, spread ${spread}`);
    }
    assert.deepEqual(orderById([]), []);
    assert.deepEqual(orderById([5n]), [0]);
  });
});
