// Batch UDFs registered as SQL functions, used in select, where and group by.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import { connect, type Connection } from '../../src/pipeline/index.js';
import { isQuiverError } from '../../src/errors.js';
import { ref } from './fixtures/here.js';

describe('registerFunction', () => {
  let con: Connection;
  before(async () => {
    con = await connect({ terminal: 'off' });
    await con.run(`create table media as select range as id, 'file-' || range || (case when range % 2 = 0 then '.png' else '.jpg' end) as path from range(10)`);
  });
  after(() => con.close());

  it('works in select, where and group by', async () => {
    let chunks = 0;
    await con.registerFunction('ext', (t: arrow.Table) => {
      chunks++;
      return Array.from(t.getChild('path')!, (p) => String(p).split('.').pop());
    }, { params: { path: 'VARCHAR' }, returns: 'VARCHAR' });
    const rows = await con.sql(`select ext(path) as e, count(*)::INT as n from media where ext(path) <> 'gif' group by ext(path) order by e`).rows();
    assert.deepEqual(rows, [{ e: 'jpg', n: 5 }, { e: 'png', n: 5 }]);
    assert.ok(chunks >= 1);
  });

  it('takes several typed arguments and a module reference', async () => {
    await con.registerFunction('times_two', ref('double'), { params: { x: 'BIGINT' }, returns: 'BIGINT' }).catch((e) => assert.fail(e));
    // `double` returns a two-column table (x, y); the first column is the result.
    const rows = await con.sql('select times_two(id) as v from media order by id limit 3').rows();
    assert.deepEqual(rows.map((r) => r.v), [0n, 1n, 2n]);
    await con.registerFunction('weighted', (t: arrow.Table) => Array.from({ length: t.numRows }, (_, i) => Number(t.getChild('a')!.get(i)) * (t.getChild('w')!.get(i) as number)), {
      params: { a: 'BIGINT', w: 'DOUBLE' }, returns: 'DOUBLE',
    });
    assert.deepEqual(await con.sql('select weighted(id, 0.5) as v from media where id = 4').rows(), [{ v: 2 }]);
  });

  it('names the function when the UDF throws', async () => {
    await con.registerFunction('boom', () => {
      throw new Error('kaput');
    }, { params: { x: 'BIGINT' }, returns: 'BIGINT' });
    try {
      await con.sql('select boom(id) from media').rows();
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isQuiverError(e));
      assert.match(e.message, /boom.*kaput/);
    }
  });
});
