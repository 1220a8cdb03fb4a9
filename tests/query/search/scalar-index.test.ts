import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchSorted, sortColumn } from '../../../src/query/search/scalar-index.js';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';

describe('sorted columns', () => {
  it('answer =, <, <=, >, >= and in, and drop nulls', () => {
    const col = sortColumn([5, null, 1, 3, 3, 9], BigInt64Array.from([10n, 11n, 12n, 13n, 14n, 15n]), 'number');
    const ids = (op: '=' | '<' | '<=' | '>' | '>=' | 'in', ...values: number[]) => [...matchSorted(col, { column: 'x', op, values })].sort();
    assert.deepEqual(ids('=', 3), [13n, 14n]);
    assert.deepEqual(ids('<', 3), [12n]);
    assert.deepEqual(ids('<=', 3), [12n, 13n, 14n]);
    assert.deepEqual(ids('>', 3), [10n, 15n]);
    assert.deepEqual(ids('>=', 9), [15n]);
    assert.deepEqual(ids('in', 1, 9, 4), [12n, 15n]);
  });
});

describe('scalar index in ds.query', () => {
  it('gives the same answers as without it, after updates, and explains its use', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { user_id: 'text', rating: 'int', emb: 'emb-2' } });
    const recs = Array.from({ length: 300 }, (_, i) => ({ user_id: `u${i % 7}`, rating: i % 5, emb: [Math.cos(i), Math.sin(i)] }));
    const { rowIds } = await ds.append(recs);
    await ds.commit('data');
    const sql = `select row_id from dataset where user_id = $2 and rating >= 2 and rating between 1 and 4 order by cosine_similarity(emb, $1) desc limit 5`;
    const params = [new Float32Array([1, 0]), 'u3'];
    const before = await ds.query(sql, params);
    await ds.createIndex('user_id', { kind: 'scalar' });
    await ds.createIndex('rating', { kind: 'scalar' });
    assert.deepEqual(await ds.query(sql, params), before);
    const e = await ds.explain(sql, params);
    assert.deepEqual(e.indexedFilters?.length, 4);
    // An update moves a row to a new fragment; its stale copy must not match the old value.
    const target = before[0].row_id as bigint;
    await ds.update({ rowIds: [target], set: { user_id: 'u999' } });
    await ds.commit('move');
    const after = await ds.query(sql, params);
    assert.ok(!after.some((r) => r.row_id === target));
    assert.deepEqual(after, await ds.query(`select * from (${sql}) x`, params));
    assert.ok(rowIds.length === 300);
    await assert.rejects(ds.createIndex('emb', { kind: 'scalar' }), /needs a text, bool, number or timestamp column/);
    await ds.close();
  });
});
