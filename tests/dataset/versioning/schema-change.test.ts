// Schema evolution: each change is one commit over the same files. Adding writes only the new
// column's files, dropping and renaming write no data, and every version keeps its own schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { layout, parseSchema, readManifest, type Manifest } from '../../../src/format/index.js';
import { expressionTree } from '../../../src/query/index.js';
import { sharedEngine } from '../../../src/dataset/shared-engine.js';
import { totalShape } from '../../../src/dataset/versioning/schema-change.js';

async function seeded(): Promise<{ store: MemoryStore; ds: quiver.Dataset; ids: bigint[] }> {
  const store = new MemoryStore();
  const ds = await quiver.create(store, { schema: { prompt: 'text', rating: 'int', thumbs: 'bool' } });
  const r = await ds.append([0, 1, 2, 3].map((i) => ({ prompt: `p${i}`, rating: i + 2, thumbs: i % 2 === 0 })));
  await ds.commit('seed');
  return { store, ds, ids: r.rowIds };
}

async function manifestOf(store: MemoryStore, ds: quiver.Dataset): Promise<Manifest> {
  return readManifest(store, ds.version.manifest);
}

async function dataKeys(store: MemoryStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of store.list('data/')) out.add(o.key);
  return out;
}

describe('Dataset schema changes', () => {
  it('adds a nullable column writing no data, then backfills it with per-row updates', async () => {
    const { store, ds, ids } = await seeded();
    const before = await dataKeys(store);
    const c = await ds.addColumn('emb', 'emb-3');
    assert.equal(c.stats.bytesWritten, 0);
    assert.deepEqual(await dataKeys(store), before);
    assert.deepEqual(ds.schema.map((x) => x.name), ['prompt', 'rating', 'thumbs', 'emb']);
    assert.equal((await ds.query('select count(*)::INT n from dataset where emb is null'))[0].n, 4);
    await ds.update({ rows: ids.map((id, i) => ({ row_id: id, emb: [i, i, i] })) });
    await ds.commit('backfill');
    assert.deepEqual((await ds.query('select emb[1]::INT e from dataset order by row_id')).map((r) => r.e), [0, 1, 2, 3]);
    await ds.close();
  });

  it('adds a small column with a default (one file of that column) or a row expression (no file)', async () => {
    const { store, ds } = await seeded();
    const before = await dataKeys(store);
    await ds.addColumn('reviewed', 'bool', { default: false });
    const c = await ds.addColumn('liked', 'bool!', { expr: 'rating >= 4' });
    assert.equal(c.stats.bytesWritten, 0);
    const added = [...(await dataKeys(store))].filter((k) => !before.has(k));
    assert.equal(added.length, 1);
    await ds.append({ prompt: 'new', rating: 1, thumbs: null, reviewed: true, liked: false });
    await ds.commit('after');
    const rows = await ds.query('select prompt, reviewed, liked from dataset order by row_id');
    assert.deepEqual(rows.map((r) => `${r.prompt}:${r.reviewed}:${r.liked}`), ['p0:false:false', 'p1:false:false', 'p2:false:true', 'p3:false:true', 'new:true:false']);
    // An updated old row carries its own value, not the fill's.
    await ds.update({ where: "prompt = 'p0'", set: { reviewed: null } });
    await ds.commit('unset');
    assert.equal((await ds.query("select reviewed from dataset where prompt = 'p0'"))[0].reviewed, null);
    await ds.close();
  });

  it('reads a filled column by a hash join on the row id, never a nested loop over the rows', async () => {
    // A fill's fragment test inside the LEFT JOIN's ON clause made DuckDB loop over every pair
    // of rows: 40 s to read 100k rows, and every update lookup and backfill after it.
    const { ds, ids } = await seeded();
    // random() makes the expression one to evaluate once and write: a fill file, joined.
    await ds.addColumn('liked', 'bool', { expr: 'rating >= 4 and random() < 2' });
    await ds.update({ rows: [{ row_id: ids[0], liked: true }] });
    await ds.commit('one row changed since the fill');
    const plan = JSON.stringify(await ds.query('explain select prompt, liked from dataset'));
    assert.ok(plan.includes('HASH_JOIN') && !/NESTED_LOOP|_NL_JOIN/.test(plan), plan);
    assert.deepEqual((await ds.query('select prompt, liked from dataset order by prompt')).map((r) => r.liked), [true, false, true, true]);
    await ds.close();
  });

  it('stores a row expression in the manifest: later renames, drops, widening, updates and compaction keep its values', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { prompt: 'text', rating: 'int32', n: 'int32' } });
    const { rowIds: ids } = await ds.append([0, 1, 2, 3].map((i) => ({ prompt: `p${i}`, rating: i + 2, n: 2_000_000_000 - i })));
    await ds.commit('seed');
    await ds.delete({ where: "prompt = 'p3'" });
    await ds.commit('one row gone');
    const before = await dataKeys(store);
    const envelope = async () => JSON.parse(new TextDecoder().decode(await store.get(layout.manifest(ds.version.manifest)))).quiver as number;
    assert.equal(await envelope(), 1);
    await ds.addColumn('liked', 'bool', { expr: 'rating >= 4' });
    assert.equal(await envelope(), 3, 'a manifest with an expression fill is format 3: older readers refuse it, not read NULL');
    // Evaluated at int32 as the columns were then: widening n later must not change it.
    await ds.addColumn('big', 'int64', { expr: 'n - 1999999999' });
    await ds.addColumn('tagged', 'text', { expr: "prompt || ':' || row_id" });
    assert.deepEqual(await dataKeys(store), before, 'no file written');
    const fills = (await manifestOf(store, ds)).evolution!.fills;
    assert.ok(fills.liked.expr && fills.big.expr && fills.tagged.expr && fills.liked.files.length === 0, JSON.stringify(fills));
    const read = async () => (await ds.query('select prompt, liked, big, tagged from dataset order by row_id')).map((r) => `${r.prompt}:${r.liked}:${r.big}:${r.tagged}`);
    const want = [`p0:false:1:p0:${ids[0]}`, `p1:false:0:p1:${ids[1]}`, `p2:true:-1:p2:${ids[2]}`];
    assert.deepEqual(await read(), want);
    await ds.renameColumn('rating', 'score');
    await ds.alterColumn('n', { type: 'int64' });
    await ds.dropColumn('prompt');
    // A new row's n is past int32: the expression (over int32 n) is not evaluated for it.
    await ds.append({ score: 9, n: 2n ** 40n, liked: null, big: 7, tagged: 'new' });
    await ds.update({ rows: [{ row_id: ids[0], score: 8 }] });
    await ds.commit('later changes');
    const now = async () => (await ds.query('select score, liked, big, tagged from dataset order by row_id')).map((r) => `${r.score}:${r.liked}:${r.big}:${r.tagged}`);
    // The updated row keeps the value it had (an update copies it), not the expression over its new score.
    const after = [`8:false:1:p0:${ids[0]}`, `3:false:0:p1:${ids[1]}`, `4:true:-1:p2:${ids[2]}`, '9:null:7:new'];
    assert.deepEqual(await now(), after);
    assert.deepEqual((await ds.query('select row_id, liked from dataset where liked')).map((r) => r.row_id), [ids[2]]);
    await ds.compact({ fragmentRowsMin: 1_000_000 });
    assert.deepEqual(await now(), after);
    await ds.close();
  });

  it('evaluates once and writes an expression that depends on more than the row, or fails for a deleted row only', async () => {
    const { store, ds } = await seeded();
    await ds.delete({ where: "prompt = 'p0'" });
    await ds.commit('p0 gone');
    const before = await dataKeys(store);
    await ds.addColumn('r', 'float64', { expr: 'random() * 0 + rating' });
    await ds.addColumn('avg_rating', 'float64', { expr: 'avg(rating) over ()' });
    // A cast that fails only for the deleted row: the live rows' values are written.
    await ds.addColumn('num', 'int', { expr: "CAST(CASE WHEN prompt = 'p0' THEN 'x' ELSE '7' END AS INTEGER)" });
    assert.equal([...(await dataKeys(store))].filter((k) => !before.has(k)).length, 3);
    const fills = (await manifestOf(store, ds)).evolution!.fills;
    assert.ok(!fills.r.expr && !fills.avg_rating.expr && !fills.num.expr);
    assert.deepEqual((await ds.query('select r, avg_rating, num from dataset order by row_id')).map((x) => `${x.r}:${x.avg_rating}:${x.num}`), ['3:4:7', '4:4:7', '5:4:7']);
    await assert.rejects(ds.addColumn('bad', 'int', { expr: "CAST(prompt AS INTEGER)" }), (e) => isQuiverError(e));
    await assert.rejects(ds.addColumn('req', 'int!', { expr: 'CASE WHEN rating > 3 THEN 1 END' }), (e) => isQuiverError(e, 'schema_mismatch'));
    await ds.close();
  });

  it('drops and renames columns writing no data, and time travel shows the old schema', async () => {
    const { store, ds } = await seeded();
    const v1 = ds.version.id;
    const before = await dataKeys(store);
    await ds.dropColumn('thumbs');
    await ds.renameColumn('rating', 'score');
    assert.deepEqual(await dataKeys(store), before);
    await ds.append({ prompt: 'new', score: 9 });
    await ds.commit('after rename');
    assert.deepEqual((await ds.query('select prompt, score from dataset order by row_id')).map((r) => `${r.prompt}:${r.score}`), ['p0:2', 'p1:3', 'p2:4', 'p3:5', 'new:9']);
    await assert.rejects(ds.query('select thumbs from dataset'), (e) => isQuiverError(e, 'invalid_sql'));
    const old = await ds.checkout(v1);
    assert.deepEqual(old.schema.map((c) => c.name), ['prompt', 'rating', 'thumbs']);
    assert.deepEqual((await old.query('select rating, thumbs from dataset order by row_id')).map((r) => `${r.rating}:${r.thumbs}`), ['2:true', '3:false', '4:true', '5:false']);
    // Files still hold "thumbs" and "rating" for other columns: those names stay taken.
    await assert.rejects(ds.addColumn('thumbs', 'int'), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(ds.renameColumn('prompt', 'rating'), (e) => isQuiverError(e, 'invalid_input'));
    await old.close();
    await ds.close();
  });

  it('widens a number type and relaxes required to nullable, refusing narrowing', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { n: 'int32!' } });
    await ds.append([{ n: 1 }, { n: 2 }]);
    await ds.commit('seed');
    await assert.rejects(ds.alterColumn('n', { type: 'int16' }), (e) => isQuiverError(e, 'invalid_input'));
    await ds.alterColumn('n', { type: 'int64', nullable: true });
    await ds.append([{ n: 2n ** 40n }, { n: null }]);
    await ds.commit('wide');
    assert.deepEqual((await ds.query('select n from dataset order by row_id')).map((r) => r.n), [1n, 2n, 2n ** 40n, null]);
    await ds.close();
  });

  it('keeps updates, deletes and compaction working across a schema change', async () => {
    const { ds, ids } = await seeded();
    await ds.renameColumn('thumbs', 'thumbs_up');
    await ds.addColumn('note', 'text', { default: 'none' });
    await ds.update({ rows: [{ row_id: ids[1], thumbs_up: true, note: 'ok' }] });
    await ds.delete({ where: 'rating = 5' });
    await ds.commit('edit');
    const want = ['p0:true:none', 'p1:true:ok', 'p2:true:none'];
    const got = async () => (await ds.query('select prompt, thumbs_up, note from dataset order by row_id')).map((r) => `${r.prompt}:${r.thumbs_up}:${r.note}`);
    assert.deepEqual(await got(), want);
    await ds.compact({ fragmentRowsMin: 1_000_000 });
    assert.deepEqual(await got(), want);
    await ds.close();
  });

  it('diffs across a schema change on the columns both versions have, listing the schema change', async () => {
    const { ds } = await seeded();
    const v1 = ds.version.id;
    await ds.addColumn('note', 'text', { default: 'x' });
    await ds.dropColumn('thumbs');
    await ds.update({ where: "prompt = 'p1'", set: { rating: 30, note: 'y' } });
    await ds.commit('edit');
    const d = await ds.diff(v1);
    assert.deepEqual(d.schema, { added: ['note'], dropped: ['thumbs'], changed: [] });
    assert.deepEqual([d.counts.changed, d.counts.byColumn], [1, { rating: 1 }]);
    await ds.close();
  });

  it('fails a merge where one side dropped a column the other updated, naming the column', async () => {
    const { ds } = await seeded();
    const ft = await ds.branch('ft');
    await ds.dropColumn('thumbs');
    await ft.update({ where: "prompt = 'p0'", set: { thumbs: false } });
    await ft.commit('thumbs down');
    await assert.rejects(ds.merge('ft'), (e) => {
      assert.ok(isQuiverError(e, 'conflict'), String(e));
      assert.deepEqual(e.details.schemaConflicts, [{ column: 'thumbs', droppedBy: 'ours' }]);
      return true;
    });
    // The same schema on both sides merges as usual.
    await ft.dropColumn('thumbs');
    await ft.update({ where: "prompt = 'p0'", set: { rating: 40 } });
    await ft.commit('rating');
    const m = await ds.merge('ft');
    assert.equal(m.kind, 'merge');
    assert.equal((await ds.query("select rating from dataset where prompt = 'p0'"))[0].rating, 40);
    await ft.close();
    await ds.close();
  });

  it("refuses another handle's rows staged under the schema before a change", async () => {
    const { store, ds } = await seeded();
    const other = await quiver.open(store);
    await other.append({ prompt: 'late', rating: 1, thumbs: true });
    await ds.renameColumn('thumbs', 'thumbs_up');
    await assert.rejects(other.commit('late'), (e) => isQuiverError(e, 'conflict') && /schema/.test(e.message));
    await other.discard();
    await other.append({ prompt: 'late', rating: 1, thumbs_up: true });
    await other.commit('late again');
    assert.equal(other.rowCount, 5);
    await other.close();
    await ds.close();
  });

  it('frees the names of dropped and renamed columns once compaction rewrote their files', async () => {
    const { ds } = await seeded();
    await ds.append({ prompt: 'p4', rating: 6, thumbs: true });
    await ds.commit('a second fragment, so compaction has two to merge');
    await ds.dropColumn('thumbs');
    await ds.renameColumn('rating', 'score');
    await assert.rejects(ds.addColumn('rating', 'int'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.compact({ fragmentRowsMin: 1_000_000 });
    await ds.addColumn('thumbs', 'text', { default: 'new' });
    await ds.addColumn('rating', 'int');
    await ds.append({ prompt: 'n', score: 7, thumbs: 'x', rating: 1 });
    await ds.commit('reused');
    const rows = await ds.query('select prompt, score, thumbs, rating from dataset order by row_id');
    assert.deepEqual(rows.map((r) => `${r.prompt}:${r.score}:${r.thumbs}:${r.rating}`), ['p0:2:new:null', 'p1:3:new:null', 'p2:4:new:null', 'p3:5:new:null', 'p4:6:new:null', 'n:7:x:1']);
    await ds.close();
  });
});

describe('totalShape', () => {
  it('proves comparisons of signed number columns and number literals total, and leaves to a scan what may fail', async () => {
    const session = await (await sharedEngine()).session();
    try {
      const schema = parseSchema({ rating: 'int!', score: 'float64', thumbs: 'bool', prompt: 'text', u: 'uint32' });
      const shape = async (e: string) => totalShape(((await expressionTree(session, e, 'test')).statements[0].node.select_list as never[])[0], schema);
      assert.deepEqual(await shape('rating >= 4'), { kind: 'bool', nullable: false });
      assert.deepEqual(await shape('rating between 1 and 2.5 and not (row_id < 10)'), { kind: 'bool', nullable: false });
      assert.deepEqual(await shape('score > 1 or thumbs'), { kind: 'bool', nullable: true });
      assert.deepEqual(await shape('score is null or prompt is not null'), { kind: 'bool', nullable: false });
      for (const e of ['rating + 1 > 2', "prompt = 'a'", 'u > 1', 'rating > 99999999999999999999', 'rating::TINYINT > 1', 'length(prompt) > 1', 'rating > null', 'nope > 1', 'rating']) {
        const s = await shape(e);
        assert.ok(s === null || s.kind !== 'bool', `${e}: ${JSON.stringify(s)}`);
      }
    } finally {
      session.close();
    }
  });

  it('still scans a required column over a nullable one, refusing a NULL it would hold', async () => {
    const store = new MemoryStore();
    const ds = await quiver.create(store, { schema: { score: 'float64' } });
    await ds.append([{ score: 2 }, { score: null }]);
    await ds.commit('seed');
    await assert.rejects(ds.addColumn('high', 'bool!', { expr: 'score > 1' }), (e) => isQuiverError(e, 'schema_mismatch'));
    await ds.addColumn('high', 'bool', { expr: 'score > 1' });
    assert.deepEqual((await ds.query('select high from dataset order by row_id')).map((r) => r.high), [true, null]);
    await ds.close();
  });
});
