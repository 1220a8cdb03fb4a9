// Git-style versioning: update and delete by predicate or row id, curate, branches and tags,
// diff between any two versions, merge (fast-forward and three-way), compaction and vacuum.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { CountingStore, MemoryStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const png = await sharp({ create: { width: 8, height: 6, channels: 3, background: 'red' } }).png().toBuffer();
const png2 = await sharp({ create: { width: 4, height: 2, channels: 3, background: 'blue' } }).png().toBuffer();
const schema = { prompt: 'text', image: 'image', emb: 'emb-3', rating: 'int', tags: 'list<text>', user_id: 'text', meta: 'json' };
const rec = (i: number) => ({ prompt: `p${i}`, image: png, emb: [i, 0, 1], rating: (i % 5) + 1, tags: i % 7 === 0 ? ['unsafe'] : ['safe'], user_id: `u${i % 10}`, meta: { i } });

async function seeded(n = 20, url: string | quiver.ObjectStore = new MemoryStore()): Promise<quiver.Dataset> {
  const ds = await quiver.create(url, { schema });
  await ds.append(Array.from({ length: n }, (_, i) => rec(i)));
  await ds.commit('seed');
  return ds;
}

const all = (ds: quiver.Dataset) => ds.query('select row_id, prompt, rating, tags, user_id, meta, emb, octet_length(image) as ilen, image_width from dataset order by row_id');

describe('versioning: update and delete', () => {
  it('updates a small column by predicate and keeps every other column', async () => {
    const ds = await seeded();
    const before = await all(ds);
    const id = before[3].row_id as bigint;
    assert.deepEqual(await ds.update({ where: 'row_id = $1', params: [id], set: { rating: 5 } }), { rows: 1 });
    const c = await ds.commit('feedback');
    assert.equal(c.stats.rowsUpdated, 1);
    const after = await all(ds);
    assert.equal(after.length, before.length);
    assert.deepEqual(after[3], { ...before[3], rating: 5 });
    assert.deepEqual(after.filter((_, i) => i !== 3), before.filter((_, i) => i !== 3));
    await ds.close();
  });

  it('deletes by predicate and by row ids, and older versions keep the rows', async () => {
    const ds = await seeded();
    const v1 = ds.version.id;
    assert.equal((await ds.delete({ where: "user_id = 'u9'" })).rows, 2);
    const ids = (await ds.query('select row_id from dataset order by row_id limit 2')).map((r) => r.row_id as bigint);
    assert.equal((await ds.delete({ rowIds: ids })).rows, 2);
    await ds.commit('takedown');
    assert.equal(ds.rowCount, 16);
    assert.deepEqual(await ds.query("select count(*) as n from dataset where user_id = 'u9'"), [{ n: 0n }]);
    const old = await ds.checkout(v1);
    assert.equal(old.rowCount, 20);
    await old.close();
    await ds.close();
  });

  it('sees its own staged changes: two updates of one row before a commit', async () => {
    const ds = await seeded();
    await ds.update({ where: "prompt = 'p1'", set: { rating: 1 } });
    await ds.update({ where: "prompt = 'p1'", set: { tags: ['x'] } });
    await ds.delete({ where: "prompt = 'p2'" });
    await ds.commit('three changes');
    assert.deepEqual(await ds.query("select rating, tags from dataset where prompt = 'p1'"), [{ rating: 1, tags: ['x'] }]);
    assert.equal(ds.rowCount, 19);
    await ds.close();
  });

  it('updates a large column copy-on-write, with its image metadata', async () => {
    const ds = await seeded();
    await ds.update({ where: "prompt = 'p4'", set: { image: png2, emb: [9, 9, 9] } });
    await ds.commit('new image');
    const [r] = await ds.query("select octet_length(image) as n, image_width as w, emb from dataset where prompt = 'p4'");
    assert.deepEqual(r, { n: BigInt(png2.length), w: 4, emb: new Float32Array([9, 9, 9]) });
    assert.deepEqual(await ds.query('select count(*) as n from dataset where image_width = 8'), [{ n: 19n }]);
    await ds.close();
  });

  it('rejects unknown columns and bad values without staging anything', async () => {
    const ds = await seeded(3);
    await assert.rejects(ds.update({ where: 'true', set: { nope: 1 } }), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(ds.update({ where: 'true', set: { rating: 'five' } }), (e) => isQuiverError(e, 'schema_mismatch'));
    await assert.rejects(ds.commit('nothing'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.close();
  });

  it('writes under 1% of the dataset bytes to update one rating among images', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    await ds.append(Array.from({ length: 300 }, (_, i) => ({ ...rec(i), image: Buffer.concat([png, Buffer.alloc(5000, i & 255)]) })));
    await ds.commit('seed');
    const total = store.counts.putBytes;
    store.reset();
    await ds.update({ where: "prompt = 'p7'", set: { rating: 2 } });
    await ds.commit('one rating');
    assert.ok(store.counts.putBytes < total / 100, `${store.counts.putBytes} bytes written of ${total}`);
    assert.ok(![...store.keysWritten.keys()].some((k) => /\.(image|emb)\.parquet$/.test(k)));
    await ds.close();
  });
});

describe('versioning: branches and tags', () => {
  it('follows the issue: branch, curate, tag, diff, open by branch and tag', async () => {
    const dir = tempDir() + '/issue';
    const ds = await seeded(30, dir);
    const ft = await ds.branch('ft-v12');
    assert.equal(ft.branchName, 'ft-v12');
    await ft.curate("rating >= 4 and not list_contains(tags, 'unsafe')", 'curated for fine-tune');
    await ds.tag('release-3');
    const kept = Number((await ds.query("select count(*) as n from dataset where rating >= 4 and not list_contains(tags, 'unsafe')"))[0].n);
    assert.equal(ft.rowCount, kept);
    assert.equal(ds.rowCount, 30);
    const d = await ds.diff('main', 'ft-v12');
    assert.deepEqual([d.counts.added, d.counts.removed, d.counts.changed], [0, 30 - kept, 0]);
    let streamed = 0;
    for await (const r of d.rows()) {
      assert.equal(r.change, 'removed');
      streamed++;
    }
    assert.equal(streamed, 30 - kept);
    assert.deepEqual((await ds.branches()).map((b) => b.name), ['ft-v12', 'main']);
    assert.deepEqual((await ds.tags()).map((b) => b.name), ['release-3']);
    const byBranch = await quiver.open(dir, { branch: 'ft-v12' });
    assert.equal(byBranch.rowCount, kept);
    const byTag = await quiver.open(dir, { tag: 'release-3' });
    assert.equal(byTag.rowCount, 30);
    assert.equal(byTag.readOnly, true);
    for (const h of [byBranch, byTag, ft, ds]) await h.close();
  });

  it('creates a branch from any commit and refuses taken names and bad deletes', async () => {
    const ds = await seeded(5);
    const v1 = ds.version.id;
    await ds.append(rec(99));
    await ds.commit('more');
    const old = await ds.branch('old', { from: v1 });
    assert.equal(old.rowCount, 5);
    await assert.rejects(ds.branch('old'), (e) => isQuiverError(e, 'already_exists'));
    await assert.rejects(ds.deleteBranch('main'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.deleteBranch('old');
    await assert.rejects(ds.deleteBranch('old'), (e) => isQuiverError(e, 'not_found'));
    await assert.rejects(ds.checkout('nope'), (e) => isQuiverError(e, 'not_found'));
    await old.close();
    await ds.close();
  });

  it('diffs changed cells with old and new values', async () => {
    const ds = await seeded(10);
    const ft = await ds.branch('ft');
    await ft.update({ where: "prompt = 'p3'", set: { rating: 1, meta: { i: 'x' } } });
    await ft.update({ where: "prompt = 'p5'", set: { emb: [0, 0, 0] } });
    await ft.append(rec(50));
    await ft.commit('edits');
    const d = await ds.diff('main', 'ft');
    assert.deepEqual([d.counts.added, d.counts.removed, d.counts.changed], [1, 0, 2]);
    assert.deepEqual(d.counts.byColumn, { rating: 1, meta: 1, emb: 1 });
    const rows = [];
    for await (const r of d.rows()) rows.push(r);
    const p3 = rows.find((r) => r.change === 'changed' && r.columns?.rating);
    assert.deepEqual(p3?.columns, { rating: { old: 4, new: 1 }, meta: { old: '{"i":3}', new: '{"i":"x"}' } });
    assert.ok(rows.some((r) => r.change === 'changed' && r.columns?.emb?.large));
    assert.ok(rows.some((r) => r.change === 'added' && r.row?.prompt === 'p50'));
    await ft.close();
    await ds.close();
  });

  it('logs commits newest first with message, parents and stats', async () => {
    const ds = await seeded(3);
    await ds.delete({ where: "prompt = 'p0'" });
    await ds.commit('drop p0');
    const log = [];
    for await (const c of ds.log()) log.push(c);
    assert.deepEqual(log.map((c) => c.message), ['drop p0', 'seed', 'create dataset']);
    assert.equal(log[0].stats.rowsDeleted, 1);
    assert.deepEqual(log[0].parents, [log[1].id]);
    await ds.close();
  });
});

describe('versioning: merge', () => {
  it('fast-forwards when the branch has nothing new, and reports up-to-date after', async () => {
    const ds = await seeded(5);
    const exp = await ds.branch('experiment');
    await exp.append(rec(40));
    const c = await exp.commit('exp');
    const m = await ds.merge('experiment');
    assert.equal(m.kind, 'fast-forward');
    assert.equal(ds.version.id, c.id);
    assert.equal(ds.rowCount, 6);
    assert.equal((await ds.merge('experiment')).kind, 'up-to-date');
    await exp.close();
    await ds.close();
  });

  it('merges three-way with two parents, sharing theirs’ appended fragments', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await seeded(10, store);
    const exp = await ds.branch('experiment');
    await exp.append([41, 42].map(rec));
    await exp.update({ where: "prompt = 'p1'", set: { rating: 1 } });
    await exp.delete({ where: "prompt = 'p2'" });
    await exp.commit('exp');
    await ds.update({ where: "prompt = 'p3'", set: { tags: ['ours'] } });
    await ds.append(rec(43));
    await ds.commit('ours');
    store.reset();
    const m = await ds.merge('experiment');
    assert.equal(m.kind, 'merge');
    assert.deepEqual(m.counts, { added: 2, removed: 1, changed: 1 });
    assert.equal(m.commit!.parents.length, 2);
    assert.ok(![...store.keysWritten.keys()].some((k) => /\.(image|emb)\.parquet$/.test(k)), 'no large file copied');
    const rows = await ds.query('select prompt, rating, tags from dataset order by prompt');
    assert.deepEqual(rows.map((r) => r.prompt), ['p0', 'p1', 'p3', 'p4', 'p41', 'p42', 'p43', 'p5', 'p6', 'p7', 'p8', 'p9']);
    assert.equal(rows.find((r) => r.prompt === 'p1')!.rating, 1);
    assert.deepEqual(rows.find((r) => r.prompt === 'p3')!.tags, ['ours']);
    assert.equal((await ds.query("select octet_length(image) as n from dataset where prompt = 'p42'"))[0].n, BigInt(png.length));
    await exp.close();
    await ds.close();
  });

  it('fails on conflicting cells listing them, writes nothing, and resolves with ours or theirs', async () => {
    const ds = await seeded(6);
    const exp = await ds.branch('experiment');
    await exp.update({ where: "prompt = 'p1'", set: { rating: 1, emb: [7, 7, 7] } });
    await exp.update({ where: "prompt = 'p2'", set: { rating: 2 } });
    await exp.commit('theirs');
    await ds.update({ where: "prompt = 'p1'", set: { rating: 5, emb: [8, 8, 8] } });
    await ds.delete({ where: "prompt = 'p2'" });
    const head = (await ds.commit('ours')).id;
    const dry = await ds.merge('experiment', { dryRun: true });
    assert.equal(dry.conflicts.length, 3);
    await assert.rejects(ds.merge('experiment'), (e) => {
      assert.ok(isQuiverError(e, 'conflict'));
      const cs = (e as quiver.QuiverError).details.conflicts as { column: string | null; base: unknown; ours: unknown; theirs: unknown }[];
      assert.deepEqual(cs.map((c) => c.column), ['emb', 'rating', null]);
      assert.deepEqual([cs[1].base, cs[1].ours, cs[1].theirs], [2, 5, 1]);
      return true;
    });
    assert.equal(ds.version.id, head);
    const other = await exp.branch('copy');
    const ours = await ds.merge('experiment', { onConflict: 'ours' });
    assert.equal(ours.kind, 'merge');
    assert.deepEqual(await ds.query("select rating, emb from dataset where prompt in ('p1', 'p2')"), [{ rating: 5, emb: new Float32Array([8, 8, 8]) }]);
    const back = await ds.branch('theirs-wins', { from: head });
    await back.merge('copy', { onConflict: 'theirs' });
    assert.deepEqual(await back.query("select prompt, rating, emb from dataset where prompt in ('p1', 'p2') order by prompt"), [
      { prompt: 'p1', rating: 1, emb: new Float32Array([7, 7, 7]) },
      { prompt: 'p2', rating: 2, emb: new Float32Array([2, 0, 1]) },
    ]);
    for (const h of [ds, exp, other, back]) await h.close();
  });
});

describe('versioning: compaction and vacuum', () => {
  it('compacts many small appends without changing any version’s content', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema, write: { autoCompact: false } });
    for (let i = 0; i < 6; i++) {
      await ds.append([rec(i * 2), rec(i * 2 + 1)]);
      await ds.commit(`small ${i}`);
    }
    await ds.update({ where: "prompt = 'p3'", set: { rating: 1, image: png2 } });
    await ds.delete({ where: "prompt = 'p4'" });
    const before = ds.version.id;
    await ds.commit('edits');
    const content = await all(ds);
    const c = await ds.compact();
    assert.ok(c);
    assert.equal(c!.operation, 'compact');
    assert.deepEqual(await all(ds), content);
    assert.equal((await ds.query("select image_width from dataset where prompt = 'p3'"))[0].image_width, 4);
    const old = await ds.checkout(before);
    assert.equal(old.rowCount, 12);
    assert.equal(await ds.compact(), null);
    await old.close();
    await ds.close();
  });

  it('compacts automatically once small fragments pile up', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema, write: { autoCompact: { smallFragmentsMax: 4 } } });
    for (let i = 0; i < 5; i++) {
      await ds.append(rec(i));
      await ds.commit(`one ${i}`);
    }
    const ops = [];
    for await (const c of ds.log()) ops.push(c.operation);
    assert.ok(ops.includes('compact'));
    assert.equal(ds.rowCount, 5);
    await ds.close();
  });

  it('vacuums what no ref reaches and keeps what a tag or branch still needs', async () => {
    const dir = tempDir() + '/vac';
    const ds = await seeded(10, dir);
    const exp = await ds.branch('exp');
    await exp.update({ where: "prompt = 'p1'", set: { image: png2 } });
    await exp.commit('exp image');
    await ds.tag('keep-me');
    await ds.delete({ where: 'true' });
    await ds.commit('drop all');
    await ds.compact();
    const { utimesSync, writeFileSync } = await import('node:fs');
    writeFileSync(dir + '/data/.tmp-999999-abc', 'x');
    utimesSync(dir + '/data/.tmp-999999-abc', new Date(0), new Date(0)); // a leftover of a put long dead
    const dry = await ds.vacuum({ olderThan: new Date(Date.now() + 1000), dryRun: true });
    // Only superseded deletes files of staged (re-applied) changes are unreachable so far.
    assert.ok(dry.deleted <= 2, `dry run would delete ${dry.deleted}`);
    await exp.close();
    await ds.deleteBranch('exp');
    const r = await ds.vacuum({ olderThan: new Date(Date.now() + 1000) });
    assert.ok(r.deleted >= dry.deleted + 3, `deleted ${r.deleted}`);
    assert.equal(r.tmpFiles, 1);
    const tagged = await quiver.open(dir, { tag: 'keep-me' });
    assert.equal((await tagged.query('select count(*) as n, sum(octet_length(image)) as b from dataset'))[0].n, 10n);
    await assert.rejects(quiver.open(dir, { branch: 'exp' }), (e) => isQuiverError(e, 'not_found'));
    await tagged.close();
    await ds.close();
  });

  it('keeps young unreachable objects on a store that is not a local folder', async () => {
    // An object another writer put but has not yet published in a commit looks unreachable.
    const store = new MemoryStore();
    const ds = await seeded(3, store);
    await store.put('data/in-flight.parquet', new Uint8Array([1, 2, 3]));
    const r = await ds.vacuum({ olderThan: 3_600_000 });
    assert.equal(r.deleted, 0);
    assert.ok(await store.head('data/in-flight.parquet'));
    assert.equal((await ds.vacuum({ olderThan: new Date(Date.now() + 1000) })).deleted, 1);
    await ds.close();
  });
});
