// The search planner is pure: parse trees in, plans out. These tests assert the plan.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSchema } from '../../../src/format/index.js';
import { Engine, type Session } from '../../../src/query/index.js';
import { parseSql, unparseSql } from '../../../src/query/search/sql-ast.js';
import { planSearch } from '../../../src/query/search/search-plan.js';
import { isQuiverError } from '../../../src/errors.js';

const schema = parseSchema({ prompt: 'text', image_emb: 'emb-3', shots: 'list<emb-3>', rating: 'int', tags: 'list<text>', user_id: 'text', created_at: 'timestamp' });
let engine: Engine;
let s: Session;
before(async () => {
  engine = await Engine.create({ threads: 1 });
  s = await engine.session();
});
after(() => {
  s.close();
  engine.close();
});

const plan = async (sql: string, params: unknown[] = []) => planSearch(await parseSql(s, sql), schema, params);

describe('planSearch', () => {
  it('recognises the seed vector query with its filter as a top-k', async () => {
    const p = await plan(`select row_id, prompt, rating from dataset where rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe') order by cosine_similarity(image_emb, $1) desc limit 20`, [new Float32Array([1, 0, 0])]);
    assert.ok(p.topk);
    assert.equal(p.topk.k, 20);
    assert.deepEqual(p.topk.signals.map((x) => [x.kind, x.column]), [['vector', 'image_emb']]);
    assert.ok(p.topk.where);
    // The winners already passed the WHERE in this version; the final query does not re-run it.
    assert.match(await unparseSql(s, p.topk.final), /FROM __search_view ORDER BY __score DESC LIMIT 20$/);
  });

  it('recognises bm25 ordered through a select alias, and rewrites match into the filter', async () => {
    const p = await plan(`select prompt, bm25(prompt, 'red vintage car') as score from dataset where match(prompt, 'red vintage car') and user_id = 'u1' order by score desc limit 10`);
    assert.deepEqual(p.topk?.signals, [{ kind: 'bm25', column: 'prompt', text: 'red vintage car' }]);
    assert.match(await unparseSql(s, p.semantic), /__q_match\(row_id, 'prompt', 'red vintage car'\)/);
  });

  it('plans rrf of a max-sim vector signal and bm25 as a fused top-k', async () => {
    const p = await plan(`select prompt from dataset order by rrf(cosine_similarity(shots, $1), bm25(prompt, 'red car')) desc limit 10`, [[1, 2, 3]]);
    assert.equal(p.topk?.fusion, 'rrf');
    assert.deepEqual(p.topk?.signals.map((x) => x.kind), ['vector', 'bm25']);
    assert.equal((p.topk?.signals[0] as { multi: boolean }).multi, true);
    assert.match(await unparseSql(s, p.semantic), /rank\(\) OVER \(ORDER BY __q_maxsim_cos\(shots, \$1\) DESC NULLS LAST\)/);
  });

  it('orders l2_distance ascending and refuses a descending l2 top-k shape', async () => {
    assert.ok((await plan('select row_id from dataset order by l2_distance(image_emb, $1) limit 3', [[1, 1, 1]])).topk);
    assert.equal((await plan('select row_id from dataset order by l2_distance(image_emb, $1) desc limit 3', [[1, 1, 1]])).topk, null);
  });

  for (const [sql, why] of [
    ['select avg(cosine_similarity(image_emb, $1)) from dataset', /aggregates/],
    ['select user_id from dataset group by user_id order by max(rating) limit 3', /groups rows/],
    ['select * from dataset order by cosine_similarity(image_emb, $1) desc', /no ORDER BY … LIMIT/],
    ['with t as (select * from dataset) select * from t order by cosine_similarity(image_emb, $1) desc limit 3', /dataset/],
  ] as const) {
    it(`falls back to exact SQL when the query ${why.source}`, async () => {
      const p = await plan(sql, [[1, 2, 3]]);
      assert.equal(p.topk, null);
      assert.match(p.reason, why);
    });
  }

  it('names the problem for bad similarity input', async () => {
    const bad: [string, unknown[], RegExp][] = [
      ['select * from dataset order by cosine_similarity(rating, $1) desc limit 1', [[1]], /needs an embedding column; "rating" is int32/],
      ['select * from dataset order by cosine_similarity(image_emb, $1) desc limit 1', [[1, 2]], /needs a query vector of 3 floats, got 2/],
      ['select * from dataset order by inner_product(image_emb, $1) desc limit 1', [[1, NaN, 2]], /non-finite value \(NaN\) at position 1/],
      ["select bm25(rating, 'x') from dataset", [], /bm25 needs a text column/],
    ];
    for (const [sql, params, msg] of bad) await assert.rejects(plan(sql, params), (e) => isQuiverError(e, 'invalid_input') && msg.test((e as Error).message));
  });
});
