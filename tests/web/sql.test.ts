// The SQL the web UI sends (web/src/sql.ts) over the gallery: every query kind runs on a
// tenant-scoped, sandboxed handle (what the server gives a tenant token) and sees only that
// tenant's rows, the user's WHERE stays one SELECT, and picked values travel as parameters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as quiver from '../../src/index.js';
import { childrenSql, countSql, neighboursSql, pageSql, ratingHistogramSql, rolesOf, rowSql, tagHistogramSql, vectorSql, whereOf, type Filter } from '../../web/src/sql.js';
import { tempDir } from '../helpers/tmp.js';
import { seedGallery, type Gallery } from './fixture.js';

let gallery: Gallery;
let mine: quiver.Dataset;

before(async () => {
  gallery = await seedGallery(tempDir('quiver-web-sql-'), 120);
  mine = (await gallery.ds.scoped({ tenant: 'u1', sandbox: true })) as unknown as quiver.Dataset;
});
after(async () => {
  await mine.close();
  await gallery.ds.close();
});

const roles = () => rolesOf(gallery.ds.schema as never);

describe('web ui sql', () => {
  it('finds the column roles of the gallery from its schema', () => {
    const r = roles();
    assert.deepEqual({ ...r, large: [...r.large].sort() }, { image: 'image', prompt: 'prompt', rating: 'rating', tags: 'tags', embedding: 'image_emb', parent: 'parent_id', large: ['image', 'image_emb'] });
  });

  it('passes search words and a picked tag as parameters, never as SQL text', () => {
    const w = whereOf({ where: 'rating >= 2', search: "o'brien %", tag: "it's" }, roles());
    assert.equal(w.sql, `where (rating >= 2\n) and "prompt" ilike $1 and list_contains("tags", $2)`);
    assert.deepEqual(w.params, ["%o'brien %%", "it's"]);
  });

  it('runs every query kind on a tenant-scoped sandboxed handle, which sees only its tenant', async () => {
    const r = roles();
    const f: Filter = { where: "rating >= 2 or list_contains(tags, 'night')", search: 'a', tag: 'night' };
    const w = whereOf(f, r);
    const all = Number((await gallery.ds.query(`select count(*) as n from dataset ${w.sql} and user_id = 'u1'`, w.params as quiver.Param[]))[0].n);
    assert.ok(all > 0, 'the filter matches some of u1\'s rows');
    const n = await mine.query(countSql(w).sql, w.params as quiver.Param[]);
    assert.equal(Number(n[0].n), all);
    const page = await mine.query(pageSql(w, r, 60, 0).sql, w.params as quiver.Param[]);
    assert.equal(page.length, Math.min(all, 60));
    await mine.query(ratingHistogramSql(w, 'rating').sql, w.params as quiver.Param[]);
    const tags = await mine.query(tagHistogramSql(w, 'tags', 20).sql, w.params as quiver.Param[]);
    assert.ok(tags.some((t) => t.value === 'night'));
    const id = String(page[0].row_id);
    const [row] = await mine.query(rowSql(id, r));
    assert.equal(row.user_id, 'u1');
    const [{ v }] = await mine.query(vectorSql(id, 'image_emb'));
    const near = await mine.query(neighboursSql(id, r, 8), [Array.from(v as Float32Array)]);
    const theirs = new Set((await gallery.ds.query("select row_id from dataset where user_id = 'u2'")).map((x) => String(x.row_id)));
    assert.equal(near.length, 8);
    for (const x of [...page, ...near]) assert.ok(!theirs.has(String(x.row_id)), `row ${x.row_id} is another tenant's`);
    await mine.query(childrenSql(id, r, 24));
  });

  it('keeps a WHERE that closes its parenthesis inside the sandbox: refused, or another SELECT over the tenant\'s rows', async () => {
    const r = roles();
    // Each is well-formed once put in the UI's `select count(*) from dataset where (…\n)`.
    const refused = {
      "1=1) union all select count(*) from read_csv('/etc/passwd') where (true": 'forbidden',
      "1=1) union all select count(*) from read_parquet('**/*.parquet') where (true": 'forbidden',
      "true); select 1 where (true": 'invalid_sql',
      "getenv('HOME') is not null": 'forbidden',
      "1=1) union all select count(*) from duckdb_settings() where (true": 'forbidden',
    };
    for (const [where, code] of Object.entries(refused)) {
      const w = whereOf({ where, search: '' }, r);
      await assert.rejects(mine.query(countSql(w).sql, w.params as quiver.Param[]), (e: quiver.QuiverError) => e.code === code, where);
    }
    const w = whereOf({ where: "1=1) or (user_id = 'u2'", search: '' }, r);
    const n = Number((await mine.query(countSql(w).sql))[0].n);
    assert.equal(n, Number((await mine.query('select count(*) as n from dataset'))[0].n), 'an OR cannot reach the other tenant');
  });
});
