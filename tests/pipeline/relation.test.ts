// Relations: laziness, plans as values, the runner seam, sinks and their atomicity, and the
// runner-level options (unordered, onError 'null'). Backend behaviour is in backends.case.ts.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { configure, connect, registerRunner, type Connection, type RunReport, type Runner } from '../../src/pipeline/index.js';
import { runnerFor } from '../../src/pipeline/runner/index.js';
import { isQuiverError } from '../../src/errors.js';
import { double, failOn6Mod7, slowIdentity } from './fixtures/udfs.js';
import { fixtures } from './fixtures/here.js';

const nums = (n: number) => `select range as x from range(${n})`;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isQuiverError(e), String(e));
    return `${e.code}: ${e.message}`;
  }
  return 'resolved';
}

describe('Relation', () => {
  let con: Connection;
  let dir: string;
  before(async () => {
    con = await connect({ terminal: 'off' });
    dir = mkdtempSync(join(tmpdir(), 'quiver-relation-'));
  });
  after(async () => {
    await con.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs nothing until a sink is called', async () => {
    let calls = 0;
    const rel = con.sql(nums(10)).mapBatches((b: arrow.Table) => (calls++, b), { schema: { x: 'BIGINT' } });
    await rel.plan();
    await rel.describe();
    assert.equal(calls, 0);
    assert.equal((await rel.rows()).length, 10);
    assert.equal(calls, 1);
  });

  it('builds a plan value with every default filled in and the UDF located in its module', async () => {
    const rel = con.sql(`${nums(10)} where x > 2`).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'subprocess_task', batchSize: 4 });
    const plan = await rel.plan();
    assert.deepEqual(plan, {
      runner: 'local',
      source: { kind: 'sql', sql: 'select range as x from range(10) where x > 2', datasets: {} },
      stages: [{
        index: 1, name: 'double', kind: 'map_batches', udf: { kind: 'module', module: fixtures, export: 'double' },
        columns: [{ name: 'x', type: 'BIGINT' }, { name: 'y', type: 'BIGINT' }],
        backend: 'subprocess_task', batchRows: 4, concurrency: 1, ordered: true, batchesInFlightMax: 2,
        maxRetries: 0, retryBackoffMs: 100, retryBackoffMsMax: 5000, onError: 'fail', restartsMax: 3, batchTimeoutMs: 0, ctorArgs: [], resources: {},
      }],
    });
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan, 'a plan is plain serialisable data');
  });

  it('refuses closures and entry-script functions for out-of-process backends', async () => {
    const closure = con.sql(nums(3)).mapBatches((b: arrow.Table) => b, { schema: { x: 'BIGINT' }, backend: 'thread_task' });
    assert.match(await code(closure.plan()), /invalid_input: .*cannot locate the module|invalid_input: .*entry script|not exported/);
    const bad = () => con.sql(nums(3)).mapBatches(double, { schema: {}, backend: 'thread_task' });
    assert.throws(bad, /schema has no columns/);
    assert.throws(() => con.sql(nums(3)).mapBatches(double, { schema: { x: 'BIGINT' }, backend: 'gpu' as never }), /unknown backend "gpu"/);
    assert.throws(() => con.sql(nums(3)).mapBatches(double, { schema: { x: 'BIGINT' }, batchSize: 0 }), /batchSize must be an integer >= 1/);
  });

  it('runs the same plan through any registered runner without changing SQL or UDF code', async () => {
    const seen: string[] = [];
    const recording: Runner = {
      name: 'recording',
      run(plan, ctx) {
        seen.push(`${plan.source.kind}:${plan.stages.map((s) => s.name).join(',')}`);
        return runnerFor('local').run(plan, ctx);
      },
    };
    registerRunner(recording);
    const rel = con.sql(nums(5)).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } });
    configure({ runner: 'recording' });
    try {
      assert.equal((await rel.plan()).runner, 'recording');
      assert.equal((await rel.rows()).length, 5);
    } finally {
      configure({ runner: 'local' });
    }
    assert.deepEqual(seen, ['sql:double']);
    assert.throws(() => configure({ runner: 'ray' }), /unknown runner "ray"/);
  });

  it('yields every row with ordered: false', async () => {
    const rows = await con.sql(nums(40)).mapBatches(slowIdentity, { schema: { x: 'BIGINT' }, batchSize: 5, concurrency: 4, ordered: false }).rows();
    const got = rows.map((r) => Number(r.x));
    assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
    assert.notDeepEqual(got, [...got].sort((a, b) => a - b), 'later batches finish first');
  });

  it("emits failing rows with null outputs under onError 'null', keeping same-named input columns", async () => {
    const rel = con.sql(`select range as id, range as x from range(8)`).mapBatches(
      (b: arrow.Table) => failOn6Mod7(b).select(['id', 'x']).assign(new arrow.Table({ y: arrow.vectorFromArray(Array.from({ length: b.numRows }, () => 'ok')) })),
      { schema: { id: 'BIGINT', x: 'BIGINT', y: 'VARCHAR' }, batchSize: 4, onError: 'null' },
    );
    const rows = await rel.rows();
    assert.deepEqual(rows.map((r) => r.y), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', null, 'ok']);
    assert.equal(rows[6].id, 6n);
    assert.equal(rel.lastReport!.stages[0].nulledRows, 1);
  });

  it('names the column and both types on a type mismatch', async () => {
    const typed = con.sql('select range::INTEGER as x from range(3)').mapBatches((b: arrow.Table) => b, { schema: { x: 'BIGINT' }, name: 'ints' });
    assert.match(await code(typed.rows()), /schema_mismatch: pipeline: stage 1 "ints", batch 0: column "x" expects Int64, got Int32/);
  });

  it('returns results as Arrow, rows, iteration and a printed table', async () => {
    const rel = con.sql(nums(30)).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 8 });
    const t = await rel.toArrow();
    assert.equal(t.numRows, 30);
    assert.equal(String(t.schema.fields[1].type), 'Int64');
    const sizes: number[] = [];
    for await (const b of rel) sizes.push(b.numRows);
    assert.deepEqual(sizes, [8, 8, 8, 6]);
    const text = await rel.show({ rowsMax: 3 });
    assert.match(text, /│ x +│ y +│/);
    assert.match(text, /3\+ rows/);
    const empty = await con.sql(`${nums(3)} where x > 5`).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } }).toArrow();
    assert.deepEqual([empty.numRows, empty.schema.fields.map((f) => f.name)], [0, ['x', 'y']]);
    assert.equal((await con.sql(`${nums(3)} where x > 5`).toArrow()).numRows, 0);
  });

  it('creates, replaces and appends tables, and leaves none behind on failure', async () => {
    const rel = con.sql(nums(4)).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } });
    await rel.toTable('t1');
    assert.match(await code(rel.toTable('t1')), /invalid_sql/);
    await rel.toTable('t1', { mode: 'append' });
    assert.equal((await con.sql('select count(*)::INT as n from t1').rows())[0].n, 8);
    await rel.toTable('t1', { mode: 'replace' });
    assert.equal((await con.sql('select count(*)::INT as n from t1').rows())[0].n, 4);
    await con.sql('select 1 as a').toTable('t_sql');
    assert.deepEqual(await con.sql('select * from t_sql').rows(), [{ a: 1 }]);
    const failing = con.sql(nums(20)).mapBatches(failOn6Mod7, { schema: { x: 'BIGINT' }, batchSize: 5 });
    assert.match(await code(failing.toTable('t_failed')), /udf_failed/);
    assert.match(await code(con.sql('select * from t_failed').rows()), /invalid_sql/);
    await con.run('create table t_x (x BIGINT)');
    assert.match(await code(failing.toTable('t_x', { mode: 'append' })), /udf_failed/);
    assert.equal((await con.sql('select count(*)::INT as n from t_x').rows())[0].n, 0, 'no partial append');
  });

  it('writes Parquet atomically: part files on success, nothing on failure', async () => {
    const out = join(dir, 'out', 'doubled');
    const rel = con.sql(nums(25)).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 10 });
    await rel.writeParquet(out + '/', { fileRowsMax: 10 });
    assert.deepEqual(readdirSync(out), ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']);
    assert.deepEqual(await con.sql(`select sum(y)::INT as s from read_parquet('${out}/*.parquet')`).rows(), [{ s: 600 }]);
    assert.match(await code(rel.writeParquet(out)), /already_exists/);
    const failing = con.sql(nums(20)).mapBatches(failOn6Mod7, { schema: { x: 'BIGINT' }, batchSize: 5 });
    const failedOut = join(dir, 'out', 'failed');
    assert.match(await code(failing.writeParquet(failedOut)), /udf_failed/);
    assert.match(await code(failing.writeParquet(out, { overwrite: true })), /udf_failed/);
    assert.equal(existsSync(failedOut), false);
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['doubled'], 'no temp directories left');
    assert.equal(readdirSync(out).length, 3, 'the old output survives a failed overwrite');
    const single = join(dir, 'one.parquet');
    await con.sql(nums(5)).writeParquet(single);
    assert.deepEqual(await con.sql(`select count(*)::INT as n from '${single}'`).rows(), [{ n: 5 }]);
  });

  it('reports rows, batches and rates per stage through onProgress', async () => {
    const reports: RunReport[] = [];
    const c2 = await connect({ terminal: 'off', onProgress: (r) => reports.push(r), progressIntervalMs: 0 });
    try {
      await c2.sql(nums(20)).mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 5 }).rows();
    } finally {
      await c2.close();
    }
    const last = reports.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.rowsOut, 20);
    assert.deepEqual([last.stages[0].rowsIn, last.stages[0].batchesOut], [20, 4]);
    assert.ok(reports.length >= 4);
  });

  it('reports the rows every sink wrote, with and without stages', async () => {
    const plain = con.sql(nums(10));
    const staged = plain.mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } });
    const written: Record<string, number> = {};
    for (const [name, rel] of [['sql', plain], ['staged', staged]] as const) {
      written[`${name} parquet`] = (await rel.writeParquet(join(dir, `rows-${name}.parquet`))).rowsOut;
      written[`${name} parquet dir`] = (await rel.writeParquet(join(dir, `rows-${name}`))).rowsOut;
      written[`${name} table`] = (await rel.toTable(`rows_${name}`)).rowsOut;
      written[`${name} table replace`] = (await rel.toTable(`rows_${name}`, { mode: 'replace' })).rowsOut;
      written[`${name} table append`] = (await rel.toTable(`rows_${name}`, { mode: 'append' })).rowsOut;
    }
    assert.deepEqual(Object.values(written), Array(10).fill(10), JSON.stringify(written));
  });
});
