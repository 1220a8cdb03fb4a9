// The SQL sandbox of a scoped handle: each attempt of issue 13's list that applies in-process
// (another tenant's rows by SQL of any shape, files, settings, the catalog, statements that are
// not one SELECT, comment and quoting tricks) gets a typed error or a result without a row of
// the other tenant. Attempts and leaks are counted and printed; the target is 0 leaks.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as quiver from '../../src/index.js';
import { Engine } from '../../src/query/index.js';
import { isQuiverError } from '../../src/errors.js';
import { sharedObjectCache } from '../../src/dataset/shared-engine.js';
import { tempDir } from '../helpers/tmp.js';
import { withServer } from '../helpers/servers.js';
import { ALICE_ROWS, leaked, runAttempts, tenantFixture, type Attempt, type TenantFixture } from '../helpers/tenants.js';

type H = quiver.ScopedDataset;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

const rowsOf = (r: unknown) => r as Record<string, unknown>[];
const onlyAlice = (r: unknown) => {
  for (const row of rowsOf(r)) if ('user_id' in row) assert.equal(row.user_id, 'alice');
};
const count = (n: number) => (r: unknown) => assert.equal(Number(Object.values(rowsOf(r)[0])[0]), n);
const empty = (r: unknown) => assert.equal(rowsOf(r).length, 0);

/** The SQL attempts; `parquet` is a real data file of the dataset (holding both tenants' rows). */
function sqlAttempts(parquet: string, outDir: string): Attempt<H>[] {
  const q = (name: string, sql: string, expect: { error?: quiver.ErrorCode; check?: (r: unknown, f: TenantFixture) => void }, params?: (f: TenantFixture) => quiver.Param[]): Attempt<H> => ({
    name,
    run: (h, f) => h.query(sql, params ? params(f) : []),
    ...expect,
  });
  const bobId = (f: TenantFixture) => [f.bobIds[0]];
  return [
    q('plain select sees only alice', 'select * exclude (image) from dataset', { check: (r) => (assert.equal(rowsOf(r).length, ALICE_ROWS), onlyAlice(r)) }),
    q('where on the other tenant', "select * from dataset where user_id = 'bob'", { check: empty }),
    q('where not mine', "select prompt from dataset where user_id <> 'alice' or user_id is null", { check: empty }),
    q('scalar subquery count', 'select (select count(*) from dataset) as n', { check: count(ALICE_ROWS) }),
    q('subquery in from', "select * from (select user_id, prompt from dataset) t where t.user_id = 'bob'", { check: empty }),
    q('cte', 'with t as (select user_id, prompt from dataset) select * from t', { check: onlyAlice }),
    q('cte named dataset over dataset', 'with dataset as (select * from dataset) select count(*) from dataset', { check: count(ALICE_ROWS) }),
    q('recursive cte joined to dataset', 'with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select count(*) from r, dataset', { check: count(3 * ALICE_ROWS) }),
    q('union with the other tenant', "select prompt from dataset union all select prompt from dataset where user_id = 'bob'", { check: (r) => assert.equal(rowsOf(r).length, ALICE_ROWS) }),
    q('self join on row_id', 'select a.prompt, b.prompt as p2 from dataset a join dataset b on b.row_id = a.row_id + 1', { check: () => undefined }),
    q('values of the other tenant\'s row ids joined', 'select d.prompt from (values ($1::BIGINT)) v(id) left join dataset d on d.row_id = v.id', { check: (r) => assert.equal(rowsOf(r)[0].prompt, null) }, bobId),
    q('row by another tenant\'s row id', 'select * exclude (image) from dataset where row_id = $1', { check: empty }, bobId),
    q('image by another tenant\'s row id', 'select image from dataset where row_id = $1', { check: empty }, bobId),
    q('correlated lookup of another row id', 'select (select prompt from dataset d2 where d2.row_id = $1) as p from dataset limit 1', { check: (r) => assert.equal(rowsOf(r)[0].p, null) }, bobId),
    q('window over everything', 'select count(*) over () as n from dataset limit 1', { check: count(ALICE_ROWS) }),
    q('summarize', 'summarize dataset', { check: (r) => assert.ok(rowsOf(r).every((x) => Number(x.count) === ALICE_ROWS)) }),
    q('describe', 'describe dataset', { check: () => undefined }),
    q('read_parquet of the store\'s own file', `select * from read_parquet('${parquet}')`, { error: 'forbidden' }),
    q('read_parquet inside a subquery', `select count(*) from dataset where row_id in (select row_id from read_parquet('${parquet}'))`, { error: 'forbidden' }),
    q('replacement scan of a file path', `select * from '${parquet}'`, { error: 'forbidden' }),
    q('read_text', "select * from read_text('/etc/passwd')", { error: 'forbidden' }),
    q('read_csv', "select * from read_csv('/etc/passwd')", { error: 'forbidden' }),
    q('glob', "select * from glob('/*')", { error: 'forbidden' }),
    q('getenv', "select getenv('HOME')", { error: 'forbidden' }),
    q('getenv in upper case, quoted', `select "GETENV"('HOME')`, { error: 'forbidden' }),
    q('current_setting', "select current_setting('allowed_directories')", { error: 'forbidden' }),
    q('duckdb_settings()', 'select * from duckdb_settings()', { error: 'forbidden' }),
    q('duckdb_tables view', 'select * from duckdb_tables', { error: 'forbidden' }),
    q('information_schema', 'select * from information_schema.tables', { error: 'forbidden' }),
    q('pragma_table_info()', "select * from pragma_table_info('dataset')", { error: 'forbidden' }),
    q('query() table function', "select * from query('select * from __quiver_target')", { error: 'forbidden' }),
    q('query_table()', "select * from query_table('dataset')", { error: 'forbidden' }),
    q('internal view by name', 'select * from __quiver_target', { error: 'forbidden' }),
    q('internal view shadowed by a cte', 'with __quiver_target as (select 1) select * from __quiver_target', { error: 'forbidden' }),
    q('cte name used outside its scope', 'select * from (with x as (select 1 as a) select * from x) s, x', { error: 'forbidden' }),
    q('non-recursive cte reading its own name', 'with duckdb_tables as (select * from duckdb_tables) select * from duckdb_tables', { error: 'forbidden' }),
    q('schema-qualified dataset', 'select * from main.dataset', { error: 'forbidden' }),
    q('catalog-qualified dataset', 'select * from temp.main.dataset', { error: 'forbidden' }),
    q('unicode look-alike table name', 'select * from dаtaset', { error: 'forbidden' }),
    q('internal bm25 function', "select __q_bm25(row_id, 'prompt', 'car') from dataset", { error: 'forbidden' }),
    q('internal macro', 'select __q_cos(emb, emb) from dataset', { error: 'forbidden' }),
    q('schema-qualified function', 'select main.lower(prompt) from dataset', { error: 'forbidden' }),
    q('EXPLAIN', 'explain select * from dataset', { error: 'forbidden' }),
    q('EXPLAIN ANALYZE', 'explain analyze select * from dataset', { error: 'forbidden' }),
    q('PRAGMA', 'pragma version', { error: 'forbidden' }),
    q('SET', 'set threads = 1', { error: 'forbidden' }),
    q('SHOW TABLES', 'show tables', { error: 'forbidden' }),
    q('COPY into the dataset folder', `copy (select * from dataset) to '${join(outDir, 'out.csv')}'`, { error: 'forbidden' }),
    q('ATTACH', "attach ':memory:' as x", { error: 'forbidden' }),
    q('CREATE', 'create table t as select 1', { error: 'forbidden' }),
    q('INSTALL', 'install httpfs', { error: 'forbidden' }),
    q('LOAD', 'load httpfs', { error: 'forbidden' }),
    q('two statements', 'select 1; select 2', { error: 'invalid_sql' }),
    q('a second statement after a string holding ;', "select ';' as s; select getenv('HOME')", { error: 'invalid_sql' }),
    q('a second statement after a block comment', "select 1 /* ; */; select * from read_parquet('x')", { error: 'invalid_sql' }),
    q('a statement hidden after a line comment', "select count(*) from dataset -- ; select getenv('HOME')", { check: count(ALICE_ROWS) }),
    q('dollar quoting holding a statement', "select $$; select getenv('HOME')$$ as s", { check: (r) => assert.equal(rowsOf(r)[0].s, "; select getenv('HOME')") }),
    q('at clause (time travel)', 'select * from dataset at (version => 1)', { error: 'forbidden' }),
    q('vector search for the other tenant\'s vector', 'select row_id, user_id, prompt from dataset order by cosine_similarity(emb, $1) desc limit 20', { check: (r) => (assert.equal(rowsOf(r).length, ALICE_ROWS), onlyAlice(r)) }, (f) => [f.bobVector]),
    q('bm25 for the other tenant\'s word', "select row_id, prompt from dataset order by bm25(prompt, 'secret') desc limit 20", { check: onlyAlice }),
    q('match() on the other tenant\'s word', "select row_id from dataset where match(prompt, 'secret')", { check: empty }),
    q('hybrid rrf', "select row_id, prompt from dataset order by rrf(cosine_similarity(emb, $1), bm25(prompt, 'secret')) desc limit 20", { check: onlyAlice }, (f) => [f.bobVector]),
    q('search filtered to the other tenant', "select row_id from dataset where user_id = 'bob' order by cosine_similarity(emb, $1) desc limit 5", { check: empty }, (f) => [f.bobVector]),
    q('semantic search of every row', 'select row_id, cosine_similarity(emb, $1) as s from dataset', { check: (r) => assert.equal(rowsOf(r).length, ALICE_ROWS) }, (f) => [f.bobVector]),
  ];
}

function sandboxSuite(label: string, make: () => Promise<{ f: TenantFixture; dir: string }>) {
  describe(`sandbox (${label})`, () => {
    let f: TenantFixture;
    let alice: H;
    let dir: string;
    before(async () => {
      ({ f, dir } = await make());
      alice = await f.ds.scoped({ tenant: 'alice' });
    });
    after(async () => {
      await alice.close();
      await f.ds.close();
    });

    it('refuses every attempt with a typed error or answers without a row of another tenant', async () => {
      await alice.query('select image from dataset limit 1'); // remote stores: makes local copies of the files
      // A local store's own files end in .parquet; a remote store's local copies are named by hash.
      const files = filesUnder(dir);
      const parquet = files.find((p) => p.endsWith('.parquet')) ?? files[0];
      assert.ok(parquet, `a data file under ${dir}`);
      const r = await runAttempts(alice, f, sqlAttempts(parquet, dir));
      console.log(`sandbox (${label}): ${r.attempts} attempts, ${r.leaks} leaks`);
      assert.deepEqual(r.failures, []);
      assert.equal(r.leaks, 0);
      assert.ok(!existsSync(join(dir, 'out.csv')), 'COPY wrote nothing');
    });

    it('explain of a search works and explain of a file read is refused', async () => {
      const e = await alice.explain('select row_id from dataset order by cosine_similarity(emb, $1) desc limit 3', [f.bobVector]);
      assert.equal(e.shape, 'top-k');
      await assert.rejects(alice.explain("select * from read_parquet('x')"), (e) => isQuiverError(e, 'forbidden'));
    });

    it('queryArrow is sandboxed and scoped like query', async () => {
      const t = await alice.queryArrow('select user_id from dataset');
      assert.equal(t.numRows, ALICE_ROWS);
      assert.ok(!leaked(t.toArray().map((r) => r.toJSON()), f));
      await assert.rejects(alice.queryArrow("select getenv('HOME')"), (e) => isQuiverError(e, 'forbidden'));
    });
  });
}

sandboxSuite('local folder', async () => {
  const dir = tempDir('sandbox-');
  return { f: await tenantFixture(dir), dir };
});

withServer('s3', 'sandbox on s3:// (radosgw)', (server) => {
  sandboxSuite('s3://', async () => {
    await server.prepare();
    return { f: await tenantFixture(server.url('sandbox'), server.options), dir: sharedObjectCache().directory };
  });
});

describe('sandbox bounds', () => {
  let f: TenantFixture;
  before(async () => {
    f = await tenantFixture(tempDir('sandbox-bounds-'));
  });
  after(() => f.ds.close());

  it('interrupts a query past statementMs with timeout, and the handle answers the next query', async () => {
    const h = await f.ds.scoped({ tenant: 'alice', sandbox: { statementMs: 200 } });
    // 6^12 ≈ 2·10^9 rows of cross product: far past 200 ms on any machine, so the outcome never depends on timing.
    const cross = Array.from({ length: 12 }, (_, i) => `dataset d${i}`).join(', ');
    await assert.rejects(h.query(`select count(*) from ${cross}`), (e) => isQuiverError(e, 'timeout') && /200 ms/.test(e.message));
    assert.deepEqual(await h.query('select count(*)::INT as n from dataset'), [{ n: ALICE_ROWS }]);
    await h.close();
  });

  it('refuses a result of more rows than resultRowsMax, from query, queryArrow and a search', async () => {
    const h = await f.ds.scoped({ tenant: 'alice', sandbox: { resultRowsMax: 3 } });
    const bound = (e: unknown) => isQuiverError(e, 'invalid_input') && /resultRowsMax = 3/.test(e.message);
    await assert.rejects(h.query('select prompt from dataset'), bound);
    await assert.rejects(h.queryArrow('select prompt from dataset'), bound);
    await assert.rejects(h.query('select row_id from dataset order by cosine_similarity(emb, $1) desc limit 5', [f.bobVector]), bound);
    assert.equal((await h.query('select prompt from dataset limit 3')).length, 3);
    await h.close();
  });

  it('refuses a result of more bytes than resultBytesMax', async () => {
    const h = await f.ds.scoped({ tenant: 'alice', sandbox: { resultBytesMax: 1000 } });
    await assert.rejects(h.query("select repeat(prompt, 100) as p from dataset"), (e) => isQuiverError(e, 'invalid_input') && /resultBytesMax = 1000/.test(e.message));
    assert.equal((await h.query('select rating from dataset')).length, ALICE_ROWS);
    await h.close();
  });

  it('rejects unknown and non-positive limits', async () => {
    await assert.rejects(f.ds.scoped({ tenant: 'alice', sandbox: { statementMs: 0 } }), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(f.ds.scoped({ tenant: 'alice', sandbox: { rowsMax: 5 } as never }), (e) => isQuiverError(e, 'invalid_input') && /rowsMax/.test(e.message));
  });
});

describe('locked engine', () => {
  it('reads only allowed folders and refuses SET, even for SQL the sandbox check never saw', async () => {
    const allowed = tempDir('sandbox-allowed-');
    const other = tempDir('sandbox-other-');
    const open = await (await Engine.create()).session();
    await open.run(`copy (select 1 as x) to '${join(allowed, 'a.parquet')}' (format parquet)`);
    await open.run(`copy (select 2 as x) to '${join(other, 'b.parquet')}' (format parquet)`);
    open.close();
    const engine = await Engine.create({ locked: { allowedDirectories: [allowed] } });
    const s = await engine.session();
    assert.deepEqual((await s.all(`select x from read_parquet('${join(allowed, 'a.parquet')}')`)).rows, [{ x: 1 }]);
    await assert.rejects(s.all(`select x from read_parquet('${join(other, 'b.parquet')}')`), (e) => isQuiverError(e) && /disabled by configuration/.test(e.message));
    await assert.rejects(s.all(`select x from read_parquet('${join(allowed, '..', other.split('/').pop()!, 'b.parquet')}')`), (e) => isQuiverError(e));
    await assert.rejects(s.run('SET enable_external_access = true'), (e) => isQuiverError(e) && /locked/.test(e.message));
    s.close();
    engine.close();
  });
});
