// A handle's SQL cannot change what other handles, or its own later queries, see: query entry
// points run exactly one SELECT or EXPLAIN (by DuckDB's parse), and `where` / curate predicates
// are exactly one boolean expression. Each attack of issue 10 item 29 is tried here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const schema = { prompt: 'text', rating: 'int', emb: 'emb-2' };
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ prompt: `p${i}`, rating: i % 5, emb: Float32Array.of(i, 1) }));

async function fresh(n = 10, url = `memory://sql-guard-${Math.random()}`): Promise<quiver.Dataset> {
  const ds = await quiver.create(url, { schema });
  await ds.append(rows(n));
  await ds.commit('data');
  return ds;
}

const rejects = (code: string, pattern?: RegExp) => (e: unknown) => {
  assert.ok(isQuiverError(e), String(e));
  assert.equal(e.code, code, e.message);
  if (pattern) assert.match(e.message, pattern);
  assert.doesNotMatch(e.message, /__quiver|__q_|coalesce/i);
  return true;
};

const count = async (ds: quiver.Dataset) => (await ds.query('select count(*)::INT as n from dataset'))[0].n;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

describe('query entry points: one read-only statement', () => {
  it('rejects two statements in query, queryArrow and explain, naming the count', async () => {
    const ds = await fresh();
    await assert.rejects(ds.query('select 1; select 2'), rejects('invalid_sql', /one statement, got 2/));
    await assert.rejects(ds.queryArrow('select 1 as a; select 2 as a'), rejects('invalid_sql', /one statement, got 2/));
    await assert.rejects(ds.query('select row_id from dataset order by l2_distance(emb, [1, 1]) limit 1; select 2'), rejects('invalid_sql', /one statement, got 2/));
    await assert.rejects(ds.explain('select 1; select 2'), rejects('invalid_sql', /one statement, got 2/));
    await ds.close();
  });

  it('still runs one SELECT, a WITH, a UNION, VALUES, EXPLAIN and read-only PRAGMAs', async () => {
    const ds = await fresh();
    assert.equal(await count(ds), 10);
    assert.equal((await ds.query('with a as (select 1 as x) select x from a union all select 2')).length, 2);
    assert.equal((await ds.query('values (1), (2)')).length, 2);
    assert.ok((await ds.query('explain select * from dataset')).length > 0);
    assert.ok((await ds.query('explain analyze select rating from dataset')).length > 0);
    assert.ok((await ds.query("pragma table_info('dataset')")).some((r) => r.name === 'rating'));
    assert.ok((await ds.query('pragma version')).length === 1);
    await ds.close();
  });

  it('refuses a temp view that would replace the dataset for later queries', async () => {
    const ds = await fresh();
    await assert.rejects(ds.query('create or replace temp view dataset as select 42 as row_id'), rejects('invalid_sql', /CREATE/));
    await assert.rejects(ds.queryArrow('create or replace temp view dataset as select 42 as row_id'), rejects('invalid_sql', /CREATE/));
    assert.equal(await count(ds), 10);
    await ds.close();
  });

  it('refuses SET, RESET, PRAGMA with effects, CALL, ATTACH and LOAD, so other handles keep working', async () => {
    const a = await fresh();
    const b = await fresh(7);
    for (const sql of ["set memory_limit = '1MB'", 'set enable_external_access = false', "pragma memory_limit = '1MB'", 'reset threads', 'pragma enable_profiling', 'call pragma_version()', 'checkpoint', "attach ':memory:' as other", 'load parquet', 'use memory']) {
      await assert.rejects(a.query(sql), rejects('invalid_sql'), sql);
    }
    assert.equal(await count(b), 7);
    assert.equal(await count(a), 10);
    await a.close();
    await b.close();
  });

  it("refuses COPY … TO over the dataset's own data files, and EXPLAIN ANALYZE of one", async () => {
    const dir = tempDir();
    const ds = await fresh(10, join(dir, 'ds'));
    const files = filesUnder(join(dir, 'ds')).filter((f) => f.endsWith('.parquet'));
    assert.ok(files.length > 0);
    const before = files.map((f) => readFileSync(f));
    for (const f of files) {
      await assert.rejects(ds.query(`copy (select 1 as x) to '${f}' (format parquet)`), rejects('invalid_sql', /COPY/));
      await assert.rejects(ds.query(`explain analyze copy (select 1 as x) to '${f}' (format parquet)`), rejects('invalid_sql', /COPY/));
    }
    files.forEach((f, i) => assert.deepEqual(readFileSync(f), before[i], f));
    assert.equal(await count(ds), 10);
    await ds.close();
  });
});

describe('where and curate predicates: one boolean expression', () => {
  const smuggle = "true); create or replace temp view dataset as select 42 as row_id; select (1";

  it('refuses a where that smuggles statements into update and delete', async () => {
    const ds = await fresh();
    await assert.rejects(ds.update({ where: smuggle, set: { rating: 9 } }), rejects('invalid_sql'));
    await assert.rejects(ds.delete({ where: smuggle }), rejects('invalid_sql'));
    await assert.rejects(ds.delete({ where: 'true) union select (1' }), rejects('invalid_sql'));
    await assert.rejects(ds.delete({ where: 'true) --' }), rejects('invalid_sql'));
    assert.equal(await count(ds), 10);
    await ds.close();
  });

  it('says a curate predicate must be boolean, in the terms the user wrote', async () => {
    const ds = await fresh();
    await assert.rejects(ds.curate('prompt', 'keep'), rejects('invalid_sql', /^curate: predicate must be boolean, got VARCHAR: prompt$/));
    await assert.rejects(ds.delete({ where: 'rating + 1' }), rejects('invalid_sql', /^delete: where must be boolean, got INTEGER: rating \+ 1$/));
    await assert.rejects(ds.update({ where: 'prompt', set: { rating: 1 } }), rejects('invalid_sql', /^update: where must be boolean, got VARCHAR: prompt$/));
    await ds.close();
  });

  it('reports an unknown column in a predicate without internal SQL', async () => {
    const ds = await fresh();
    await assert.rejects(ds.update({ where: 'nope = 1', set: { rating: 1 } }), rejects('invalid_sql', /^update: where nope = 1: .*nope/));
    await assert.rejects(ds.curate('nope > 2', 'keep'), rejects('invalid_sql', /^curate: predicate nope > 2: .*nope/));
    await ds.close();
  });

  it('still applies boolean predicates with parameters, NULL as false for curate', async () => {
    const ds = await fresh();
    assert.deepEqual(await ds.update({ where: 'rating = $1', params: [2], set: { rating: 7 } }), { rows: 2 });
    await ds.commit('update');
    assert.deepEqual(await ds.delete({ where: 'rating = 7 -- a trailing comment' }), { rows: 2 });
    await ds.commit('delete');
    await ds.curate('case when rating = 0 then null else rating >= $1 end', 'curate', [3]);
    assert.deepEqual((await ds.query('select rating from dataset order by rating')).map((r) => r.rating), [3, 3, 4, 4]);
    await ds.close();
  });
});
