// Late materialisation of large columns: the same queries over the same rows answer the same
// on a store read by range (memory) as on a local store (DuckDB over the files in place), and
// the plan sends to DuckDB every query that needs a large column inside SQL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { LateRuntime, planLate, type Param } from '../../src/query/index.js';
import { LATE_ROWS_MAX } from '../../src/query/late-columns.js';
import { parseSql } from '../../src/query/search/sql-ast.js';
import { sharedEngine } from '../../src/dataset/shared-engine.js';
import { parseSchema } from '../../src/format/index.js';
import { CountingStore, LocalStore, MemoryStore, type ObjectStore } from '../../src/storage/index.js';
import { prng, tempDir } from '../helpers/tmp.js';
import { isQuiverError, type QuiverError } from '../../src/errors.js';

const schema = { prompt: 'text', image: 'image?', shots: 'list<image>', emb: 'emb-3', rating: 'int?' };
const SEED = Number(process.env.QUIVER_SEED ?? 20261202);

async function pngOf(i: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width: 4 + (i % 5), height: 3, channels: 3, background: { r: i % 256, g: 7, b: 9 } } }).png().toBuffer());
}

async function records(n: number, seed: number) {
  const rand = prng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      prompt: `prompt ${i}`,
      image: rand() < 0.2 ? null : await pngOf(i),
      shots: rand() < 0.3 ? [] : [await pngOf(i + 1), await pngOf(i + 2)],
      emb: new Float32Array([rand(), rand(), i]),
      rating: rand() < 0.1 ? null : Math.floor(rand() * 5) + 1,
    });
  }
  return out;
}

/** Two datasets with the same rows and history: one in memory (read by range), one on local disk. */
async function pair(store: ObjectStore) {
  const recs = await records(120, SEED);
  const mem = await quiver.create(store, { schema });
  const local = await quiver.create(new LocalStore(tempDir()), { schema });
  for (const ds of [mem, local]) {
    await ds.append(recs.slice(0, 70));
    await ds.commit('a');
    await ds.append(recs.slice(70));
    await ds.commit('b');
    await ds.delete({ where: 'row_id % 9 = 4' });
    await ds.update({ where: 'rating = 2', set: { image: recs[3].image, prompt: 'updated' } });
    await ds.commit('c');
  }
  return { mem, local };
}

const QUERIES = [
  'select prompt, image from dataset where rating >= 4 order by row_id limit 10',
  'select * from dataset order by row_id limit 15',
  'select * from dataset where rating is null',
  'select row_id, octet_length(image) as n, image, shots from dataset where prompt like $1 order by rating desc nulls last, row_id limit 12 offset 3',
  'select d.row_id, octet_length(d.image) + $2 as n, len(d.shots) as k, d.emb from dataset d where d.rating between $1 and 4 order by 1 desc limit 20',
  'select shots[1] as first, image is null as missing, row_id from dataset order by row_id desc limit 25',
  'select image from dataset where row_id in (0, 5, 999)',
  'select prompt, image from dataset where rating > 100',
  'select image from dataset where octet_length(image) > 100 order by row_id limit 5',
  'select count(image) as n, max(octet_length(image)) as m from dataset',
  'select distinct image_format, image is null as z from dataset order by 1, 2',
  'select row_id, octet_length(image) as n from dataset order by n desc nulls last, row_id limit 6',
  'select row_id, image from dataset order by 2 desc nulls last, 1 limit 4',
  'select row_id, unnest(shots) as s from dataset order by row_id limit 7',
];
const PARAMS: Record<number, Param[]> = { 3: ['prompt 1%'], 4: [2, 10] };

async function listKeys(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out;
}

/** Rows in a canonical order, for queries whose order SQL leaves open. */
function canonical(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const text = (r: Record<string, unknown>) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v));
  return [...rows].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

describe('late materialisation of large columns', () => {
  it('answers every query shape as DuckDB over the whole files does', async () => {
    const { mem, local } = await pair(new MemoryStore());
    for (const [i, sql] of QUERIES.entries()) {
      const ordered = / order by /.test(sql);
      const got = await mem.query(sql, PARAMS[i] ?? []);
      const want = await local.query(sql, PARAMS[i] ?? []);
      assert.deepEqual(ordered ? got : canonical(got), ordered ? want : canonical(want), `seed ${SEED}: ${sql}`);
      const arrowGot = await mem.queryArrow(sql, PARAMS[i] ?? []);
      assert.equal(arrowGot.numRows, want.length, sql);
    }
    // Without ORDER BY a LIMIT may return any rows: each must be the row of its id.
    const some = await mem.query('select row_id, prompt, image, shots from dataset where rating >= 4 limit 10');
    assert.equal(some.length, 10);
    const ids = some.map((r) => r.row_id as bigint);
    assert.deepEqual(canonical(some), canonical(await local.query(`select row_id, prompt, image, shots from dataset where row_id in (${ids.join(', ')})`)));
    await mem.close();
    await local.close();
  });

  it('answers search queries that name large columns, Arrow schemas and errors as on a local store', async () => {
    const { mem, local } = await pair(new MemoryStore());
    const q = new Float32Array([0.5, 0.5, 40]);
    for (const sql of [
      'select row_id, prompt, image, shots from dataset order by cosine_similarity(emb, $1) desc limit 5',
      'select * from dataset order by l2_distance(emb, $1) limit 4',
      'select row_id, octet_length(image) as n, l2_distance(emb, $1) as d from dataset where rating >= 2 order by d limit 6',
    ]) assert.deepEqual(await mem.query(sql, [q]), await local.query(sql, [q]), `seed ${SEED}: ${sql}`);
    const sql = 'select row_id, image, shots, emb, prompt from dataset order by row_id limit 7';
    const [a, b] = [await mem.queryArrow(sql), await local.queryArrow(sql)];
    assert.deepEqual(a.schema.fields.map((f) => `${f.name}:${f.type}`), b.schema.fields.map((f) => `${f.name}:${f.type}`));
    const bad = 'select image, no_such_column from dataset';
    const [e1, e2] = [await mem.query(bad).catch((e: Error) => e), await local.query(bad).catch((e: Error) => e)];
    assert.ok(isQuiverError(e1, 'invalid_sql') && isQuiverError(e2, 'invalid_sql'), `${e1} / ${e2}`);
    assert.equal((e1 as Error).message, (e2 as Error).message);
    await mem.close();
    await local.close();
  });

  it('reads the large columns of a result past LATE_ROWS_MAX rows through DuckDB, from whole files', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema: { prompt: 'text', image: 'image' } });
    const png = await pngOf(1);
    await ds.append(Array.from({ length: LATE_ROWS_MAX + 1 }, (_, i) => ({ prompt: `p${i}`, image: png })));
    await ds.commit('many');
    const imageFile = (await listKeys(store)).find((k) => k.endsWith('.image.parquet'))!;
    store.reset();
    const few = await ds.query('select row_id, image from dataset order by row_id limit 3');
    assert.equal(few.length, 3);
    assert.ok((store.keysRead.get(imageFile) ?? 0) < (await store.head(imageFile))!.size, 'a few rows: read by range');
    store.reset();
    const all = await ds.query('select row_id, image from dataset');
    assert.equal(all.length, LATE_ROWS_MAX + 1);
    assert.ok(all.every((r) => Buffer.from(r.image as Uint8Array).equals(Buffer.from(png))));
    assert.equal(store.keysRead.get(imageFile), (await store.head(imageFile))!.size, 'past the bound: the whole file, for DuckDB');
    await ds.close();
  });

  it('reports any flipped bit of a large file read by range as corrupt naming it, never as changed rows', async () => {
    const template = new MemoryStore();
    const ds = await quiver.create(template, { schema: { prompt: 'text', image: 'image' } });
    await ds.append(await Promise.all(Array.from({ length: 30 }, async (_, i) => ({ prompt: `p${i}`, image: await pngOf(i) }))));
    await ds.commit('thirty');
    const sql = ['select row_id, image from dataset order by row_id', 'select image from dataset where row_id in (3, 17) order by row_id'];
    const expected = await Promise.all(sql.map((q) => ds.query(q)));
    let imageKey = '';
    for await (const o of template.list('data/')) if (o.key.endsWith('.image.parquet')) imageKey = o.key;
    await ds.close();
    const bytes = await template.get(imageKey);
    const rand = prng(SEED);
    let caught = 0;
    for (let round = 0; round < 60; round++) {
      const store = new MemoryStore();
      for await (const o of template.list('')) await store.put(o.key, o.key === imageKey ? bytes.slice() : await template.get(o.key));
      // Half the rounds hit the tail (footer and offset indexes), half anywhere.
      const span = round % 2 ? bytes.length : Math.min(bytes.length, 600);
      const bit = (bytes.length - span) * 8 + Math.floor(rand() * span * 8);
      const damaged = bytes.slice();
      damaged[bit >> 3] ^= 1 << (bit & 7);
      await store.put(imageKey, damaged);
      const h = await quiver.open(store);
      for (const [i, q] of sql.entries()) {
        const got = await h.query(q).catch((e: unknown) => e);
        if (!(got instanceof Error)) {
          assert.deepEqual(got, expected[i], `seed ${SEED}, bit ${bit}: ${q}`);
          continue;
        }
        caught++;
        assert.ok(isQuiverError(got, 'corrupt') && (got as QuiverError).details.key === imageKey, `seed ${SEED}, bit ${bit}: ${got.message}`);
      }
      await h.close();
    }
    assert.ok(caught > 30, `seed ${SEED}: only ${caught} damaged reads reported`);
  });

  it('plans late only queries whose large columns stay in the select list', async () => {
    const session = await (await sharedEngine()).session();
    const cols = parseSchema(schema);
    const aggregates = new Set(['count', 'max']);
    const late = async (sql: string) => planLate(await parseSql(session, sql), cols, aggregates);
    assert.deepEqual((await late('select prompt, image from dataset where rating >= 4 limit 10'))?.columns, ['image']);
    assert.deepEqual((await late('select * from dataset'))?.columns.sort(), ['emb', 'image', 'shots']);
    assert.deepEqual((await late('select octet_length(image) as n, rating as r from dataset where r > 1 order by r, 2 limit 3'))?.columns, ['image']);
    for (const sql of [
      'select prompt from dataset',
      'select image from dataset where length(image) > 3',
      'select image from dataset order by image',
      'select count(image) from dataset',
      'select distinct image from dataset',
      'select image, count(*) from dataset group by image',
      'select image from dataset, dataset d2',
      'with x as (select * from dataset) select image from x',
      'select image, (select max(rating) from dataset) from dataset',
      'select image, row_number() over () from dataset',
      'select image from dataset union all select image from dataset',
      'select octet_length(image) as n from dataset order by n limit 3',
      'select octet_length(image) as n from dataset where n > 3',
      'select prompt, image from dataset order by 2 limit 3',
      'select * from dataset order by 3 limit 3',
      'select image from dataset order by all',
      'select row_id, unnest(shots) as s from dataset',
    ]) assert.equal(await late(sql), null, sql);
    session.close();
    assert.ok(new LateRuntime());
  });
});
