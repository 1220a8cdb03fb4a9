import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { castClockComparisons, foldNowUtc } from '../../../src/query/search/scalar-index.js';
import { parseSql, unparseSql } from '../../../src/query/search/sql-ast.js';
import type { AstNode } from '../../../src/query/search/sql-ast.js';
import { Engine } from '../../../src/query/index.js';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';


describe('folding now() ± interval', () => {
  it('agrees with DuckDB in a UTC session, and leaves calendar units and other shapes to DuckDB', async () => {
    const engine = await Engine.create();
    const session = await engine.session();
    try {
      await session.run(`SET TimeZone = 'UTC'`);
      const cases: [string, boolean][] = [
        ['now() - interval 7 day', true],
        ['now() + interval 3 hour', true],
        ['interval 2 week + current_timestamp', true],
        ['(now() - interval 90 minute)::timestamp', true],
        ['now() - interval 1 month', false],
        ['now() - interval (36) hour', true],
        ["now() - interval '1.5 days'", false],
        ['date_trunc(\'day\', now())', false],
      ];
      for (const [expr, folds] of cases) {
        const tree = await parseSql(session, `select ${expr}`);
        const node = (tree.statements[0].node.select_list as AstNode[])[0];
        // DuckDB reads its clock between these two readings of ours (ms resolution), so the
        // comparison brackets it instead of allowing a slack that a slow machine could exceed.
        const before = Date.now() * 1000;
        const ours = foldNowUtc(node, before);
        assert.equal(ours !== undefined, folds, expr);
        if (ours === undefined) continue;
        const duck = Number(Object.values((await session.all(`select epoch_us((${expr})::timestamp) v`)).rows[0])[0]);
        const after = foldNowUtc(node, Date.now() * 1000 + 1000)!;
        assert.ok(duck >= ours - 1000 && duck <= after, `${expr}: DuckDB ${duck} outside [${ours}, ${after}]`);
      }
    } finally {
      session.close();
      engine.close();
    }
  });
});

describe('casting clock constants compared with timestamp columns', () => {
  it('casts the constant side once instead of every row, and only for timestamp columns', async () => {
    const engine = await Engine.create();
    const session = await engine.session();
    try {
      const tree = await parseSql(session, `select 1 from t where created_at > now() - interval 7 day and current_timestamp >= created_at and other > now() and created_at between now() - interval 1 day and '2030-01-01' and rating > 3`);
      const node = tree.statements[0].node;
      node.where_clause = castClockComparisons(node.where_clause as AstNode, new Set(['created_at']));
      const sql = (await unparseSql(session, tree)).toLowerCase();
      assert.equal(sql.match(/as timestamp\)/g)?.length, 3, sql);
      assert.match(sql, /\(other > now\(\)\)/);
      assert.match(sql, /between cast\(\(now\(\) - to_days/);
    } finally {
      session.close();
      engine.close();
    }
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

  it('compares with decimal and wide integer constants by their value, as DuckDB does', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { score: 'float64', rating: 'int64', emb: 'emb-2' } });
    await ds.append(Array.from({ length: 60 }, (_, i) => ({ score: i / 10, rating: BigInt(i) * 10n ** 17n, emb: [Math.cos(i), Math.sin(i)] })));
    await ds.commit('data');
    await ds.createIndex('score', { kind: 'scalar' });
    await ds.createIndex('rating', { kind: 'scalar' });
    for (const where of ['score >= 2.5', 'score < 0.35', 'score in (1.5, 2.25, 3.0)', 'rating >= 3000000000000000000', 'score between 1.05 and 1.55']) {
      const sql = `select row_id from dataset where ${where} order by cosine_similarity(emb, [1, 0]) desc limit 100`;
      assert.deepEqual(await ds.query(sql), await ds.query(`select * from (${sql}) x`), where);
    }
    await ds.close();
  });

  it('answers the seed filter (now() - interval, NOT list_contains, IN, IS NULL) exactly as DuckDB does', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { created_at: 'timestamp', tags: 'list<text>', rating: 'int?', user_id: 'text?', emb: 'emb-2' } });
    const now = Date.now();
    const recs = Array.from({ length: 400 }, (_, i) => ({
      created_at: new Date(now - (i % 14) * 86_400_000 - 3_600_000),
      tags: i % 9 === 0 ? null : i % 5 === 0 ? ['unsafe', 'cat'] : i % 7 === 0 ? [] : ['cat'],
      rating: i % 11 === 0 ? null : i % 6,
      user_id: i % 13 === 0 ? null : `u${i % 4}`,
      emb: [Math.cos(i), Math.sin(i)],
    }));
    await ds.append(recs.slice(0, 250));
    await ds.commit('one');
    await ds.append(recs.slice(250));
    await ds.commit('two');
    await ds.delete({ where: 'rating = 1' });
    await ds.commit('three');
    const filters = [
      `rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe')`,
      `created_at between current_date - 10 and now() and list_has(tags, 'cat')`,
      `rating not in (0, 2) and user_id in ('u1', 'u2') and created_at <= $2`,
      `rating is null or user_id is null`,
      `user_id is not null and not (rating > 2) and created_at > '2000-01-01'`,
    ];
    const q = new Float32Array([1, 0]);
    const before = [];
    for (const f of filters) before.push(await ds.query(`select row_id from dataset where ${f} order by cosine_similarity(emb, $1) desc limit 400`, [q, new Date(now - 3 * 86_400_000)]));
    for (const c of ['created_at', 'tags', 'rating', 'user_id']) await ds.createIndex(c, { kind: 'scalar' });
    for (const [i, f] of filters.entries()) {
      const sql = `select row_id from dataset where ${f} order by cosine_similarity(emb, $1) desc limit 400`;
      const params = [q, new Date(now - 3 * 86_400_000)];
      assert.ok(before[i].length > 0, f);
      assert.deepEqual(await ds.query(sql, params), before[i], f);
      assert.deepEqual(await ds.query(`select * from (${sql}) exact_only`, params), before[i], f);
    }
    const e = await ds.explain(`select row_id from dataset where ${filters[0]} order by cosine_similarity(emb, $1) desc limit 5`, [q]);
    assert.equal(e.indexedFilters?.length, 3, JSON.stringify(e.indexedFilters));
    assert.match(e.indexedFilters![2], /^not tags contains 'unsafe'/);
    await ds.close();
  });
});
