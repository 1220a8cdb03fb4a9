// splitParquetSource: which source SQL splits into per-file scans, and that the scans, in order,
// give exactly the source's rows in the source's order (the invariant the cluster relies on).

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Engine, type Session } from '../../../../src/query/index.js';
import { sliceSql, splitParquetSource } from '../../../../src/pipeline/runner/bullmq/source-split.js';
import { tempDir } from './cluster-harness.js';

describe('splitParquetSource', () => {
  const tmp = tempDir('split');
  let engine: Engine;
  let s: Session;
  const query = async (sql: string) => (await s.all(sql)).rows;
  const glob = `${tmp.path}/*.parquet`;

  before(async () => {
    engine = await Engine.create({ threads: 1 });
    s = await engine.session();
    for (const f of [0, 1, 2]) await s.all(`copy (select range + ${f * 100} as x, 'r' || range as tag from range(${10 + f})) to '${tmp.path}/part-${f}.parquet' (format parquet)`);
  });
  after(() => {
    s.close();
    engine.close();
    tmp.dispose();
  });

  it('splits a filtered projection over a glob into one scan per file, in file order, with row counts after the filter', async () => {
    const scans = await splitParquetSource(`select x, upper(tag) as t from read_parquet('${glob}') where x % 3 <> 1`, query);
    assert.ok(scans);
    assert.deepEqual(scans.map((sc) => /part-\d/.exec(sc.sql)?.[0]), ['part-0', 'part-1', 'part-2']);
    assert.deepEqual(scans.map((sc) => sc.rows), [7, 7, 8]);
  });

  it('gives, scan after scan and slice after slice, exactly the rows of the source in its order', async () => {
    const sql = `select x, tag from read_parquet('${glob}') where x % 4 <> 0`;
    const whole = (await query(sql)).map((r) => `${r.x}:${r.tag}`);
    const pieces: string[] = [];
    for (const sc of (await splitParquetSource(sql, query))!) {
      for (let at = 0; at < sc.rows; at += 4) pieces.push(...(await query(sliceSql(sc.sql, at, Math.min(4, sc.rows - at)))).map((r) => `${r.x}:${r.tag}`));
    }
    assert.deepEqual(pieces, whole);
  });

  it('keeps on the coordinator any source that mixes rows, names its files, matches no file or reads more than one parquet set', async () => {
    const kept = [
      `select count(*) from read_parquet('${glob}')`,
      `select x from read_parquet('${glob}') order by x desc`,
      `select x from read_parquet('${glob}') limit 5`,
      `select distinct tag from read_parquet('${glob}')`,
      `select x, row_number() over () as n from read_parquet('${glob}')`,
      `select a.x from read_parquet('${glob}') a join read_parquet('${glob}') b using (x)`,
      `select x from read_parquet('${glob}') where x in (select max(x) from read_parquet('${glob}'))`,
      `with t as (select * from read_parquet('${glob}')) select x from t`,
      `select range as x from range(5)`,
      `select tag, sum(x) from read_parquet('${glob}') group by tag`,
      `select x, filename from read_parquet('${glob}')`,
      `select x from read_parquet('${tmp.path}/none-*.parquet')`,
    ];
    for (const sql of kept) assert.equal(await splitParquetSource(sql, query), undefined, sql);
  });
});
