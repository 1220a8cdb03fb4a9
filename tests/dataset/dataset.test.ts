import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { CountingStore, MemoryStore, LocalStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const png = await sharp({ create: { width: 8, height: 6, channels: 3, background: 'green' } }).png().toBuffer();
const schema = { prompt: 'text', image: 'image', prompt_emb: 'emb-4', image_emb: 'emb-3', rating: 'int', tags: 'list<text>', user_id: 'text', parent_id: 'text?' };
const rec = (i: number) => ({ prompt: `prompt ${i}`, image: png, prompt_emb: new Float32Array([i, 1, 2, 3]), image_emb: [i, 0, 1], rating: i % 5 === 0 ? null : (i % 5) + 1, tags: i % 7 === 0 ? ['unsafe'] : ['safe'], user_id: `u${i % 3}`, parent_id: null });

describe('Dataset: create, append, commit, query', () => {
  it('follows the seed: one record and a batch, then SQL with parameters', async () => {
    const ds = await quiver.create(tempDir() + '/gen', { schema });
    await ds.append(rec(0));
    const r = await ds.append([1, 2, 3, 4, 5, 6].map(rec));
    assert.equal(r.rowIds.length, 6);
    const v = await ds.commit('first generations');
    assert.equal(v.message, 'first generations');
    assert.equal(v.stats.rowsAdded, 7);
    const rows = await ds.query('select prompt, rating from dataset where rating >= $1 order by row_id', [4]);
    assert.deepEqual(rows, [{ prompt: 'prompt 3', rating: 4 }, { prompt: 'prompt 4', rating: 5 }]);
    await ds.close();
  });

  it('returns images as bytes, embeddings as Float32Array and image metadata', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema });
    await ds.append(rec(1));
    await ds.commit('one');
    const [row] = await ds.query('select row_id, image, prompt_emb, image_width, image_height, image_format from dataset');
    assert.equal(typeof row.row_id, 'bigint');
    assert.deepEqual([...(row.image as Uint8Array)], [...png]);
    assert.deepEqual(row.prompt_emb, new Float32Array([1, 1, 2, 3]));
    assert.deepEqual([row.image_width, row.image_height, row.image_format], [8, 6, 'png']);
    await ds.close();
  });

  it('binds a Float32Array parameter as a list for similarity functions', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema });
    await ds.append([1, 2, 3].map(rec));
    await ds.commit('three');
    const rows = await ds.query('select prompt from dataset order by list_cosine_similarity(prompt_emb::FLOAT[], $1) desc limit 1', [new Float32Array([3, 1, 2, 3])]);
    assert.equal(rows[0].prompt, 'prompt 3');
    await ds.close();
  });

  it('gives every row a stable row id that survives later versions', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema });
    const a = await ds.append([1, 2].map(rec));
    await ds.commit('a');
    await ds.append(rec(3));
    await ds.commit('b');
    const rows = await ds.query('select row_id, prompt from dataset order by row_id');
    assert.deepEqual(rows.slice(0, 2).map((r) => r.row_id), a.rowIds);
    assert.equal(new Set(rows.map((r) => r.row_id)).size, 3);
    await ds.close();
  });

  it('queryArrow returns an Arrow table', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema });
    await ds.append([1, 2].map(rec));
    await ds.commit('x');
    const t = await ds.queryArrow('select prompt, rating from dataset order by row_id');
    assert.equal(t.numRows, 2);
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['prompt', 'rating']);
    await ds.close();
  });
});

describe('Dataset: bad input', () => {
  it('writes nothing of a batch with one bad record', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    store.reset();
    await assert.rejects(ds.append([rec(1), { ...rec(2), prompt_emb: [1, 2] }]), (e) => isQuiverError(e, 'schema_mismatch') && /row 1, column "prompt_emb"/.test((e as Error).message));
    assert.equal(store.counts.puts, 0);
    assert.equal(ds.stagedRows, 0);
    await assert.rejects(ds.commit('nothing'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.close();
  });

  it('reports invalid SQL as invalid_sql', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema });
    await assert.rejects(ds.query('selec 1'), (e) => isQuiverError(e, 'invalid_sql'));
    await assert.rejects(ds.query('select nope from dataset'), (e) => isQuiverError(e, 'invalid_sql') && /nope/.test((e as Error).message));
    await ds.close();
  });

  it('refuses to create over an existing dataset and to open a missing one', async () => {
    const dir = tempDir() + '/d';
    await (await quiver.create(dir, { schema })).close();
    await assert.rejects(quiver.create(dir, { schema }), (e) => isQuiverError(e, 'already_exists'));
    await assert.rejects(quiver.open(tempDir() + '/none'), (e) => isQuiverError(e, 'not_found'));
  });
});

describe('Dataset: versions', () => {
  it('opens any earlier version read-only and lists versions oldest first', async () => {
    const dir = tempDir() + '/v';
    const ds = await quiver.create(dir, { schema });
    await ds.append([1, 2].map(rec));
    const v1 = await ds.commit('v1');
    await ds.append([3, 4, 5].map(rec));
    await ds.commit('v2');
    const old = await quiver.open(dir, { version: v1.id });
    assert.equal(old.readOnly, true);
    assert.deepEqual(await old.query('select count(*) as n from dataset'), [{ n: 2n }]);
    assert.deepEqual(await ds.query('select count(*) as n from dataset'), [{ n: 5n }]);
    await assert.rejects(old.append(rec(9)), (e) => isQuiverError(e, 'read_only'));
    assert.deepEqual((await ds.versions()).map((v) => v.message), ['create dataset', 'v1', 'v2']);
    await assert.rejects(quiver.open(dir, { version: 'f'.repeat(32) }), (e) => isQuiverError(e, 'not_found'));
    await old.close();
    await ds.close();
  });

  it('keeps everything committed after close and reopen (durability)', async () => {
    const dir = tempDir() + '/dur';
    const ds = await quiver.create(dir, { schema });
    await ds.append([1, 2, 3].map(rec));
    await ds.commit('c');
    await ds.append(rec(4)); // staged, never committed
    await ds.close();
    const again = await quiver.open(dir);
    assert.deepEqual((await again.query('select prompt from dataset order by row_id')).map((r) => r.prompt), ['prompt 1', 'prompt 2', 'prompt 3']);
    await again.close();
  });

  it('reports a corrupt manifest instead of reading it', async () => {
    const dir = tempDir() + '/corrupt';
    const ds = await quiver.create(dir, { schema });
    await ds.append(rec(1));
    const v = await ds.commit('c');
    await ds.close();
    const { readFileSync, writeFileSync } = await import('node:fs');
    const store = new LocalStore(dir);
    const commitText = readFileSync(store.localPath(`meta/commits/${v.id}.json`), 'utf8');
    const manifestId = JSON.parse(commitText).body.manifest as string;
    const path = store.localPath(`meta/manifests/${manifestId}.json`);
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 50));
    await assert.rejects(quiver.open(dir), (e) => isQuiverError(e, 'corrupt'));
  });
});

describe('Dataset: cost', () => {
  it('reads no image or embedding file for a query over rating', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    await ds.append(Array.from({ length: 50 }, (_, i) => rec(i)));
    await ds.commit('c');
    store.reset();
    const rows = await ds.query('select avg(rating) as r from dataset where rating >= 1');
    assert.ok(rows[0].r !== null);
    const read = [...store.keysRead.keys()].filter((k) => k.startsWith('data/'));
    assert.ok(read.length > 0, 'the scalar file was read');
    assert.deepEqual(read.filter((k) => /\.(image|prompt_emb|image_emb)\.parquet$/.test(k)), []);
    store.reset();
    await ds.query('select octet_length(image) from dataset');
    assert.ok([...store.keysRead.keys()].some((k) => k.endsWith('.image.parquet')));
    await ds.close();
  });
  it('sees the production path of a local dataset: its files read in place, never downloaded', async () => {
    const c = new CountingStore(new LocalStore(tempDir()));
    const ds = await quiver.create(c, { schema: { prompt: 'text', image: 'image' } });
    await ds.append({ prompt: 'p', image: png });
    await ds.commit('one');
    c.reset();
    assert.equal((await ds.query('select prompt, image from dataset')).length, 1);
    const opened = [...c.keysOpened.keys()];
    assert.ok(opened.some((k) => k.endsWith('.image.parquet')), `opened ${opened.join(', ')}`);
    assert.deepEqual([...c.keysRead.keys()].filter((k) => k.startsWith('data/')), []);
    await ds.close();
  });
});
