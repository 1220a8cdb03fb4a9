// A top-k query whose final SELECT only picks columns is answered from the winners' looked-up
// values, without DuckDB (search-plan.ts projectionOf, search-exec.ts projectedRows). Each case
// runs the query as written and again with one computed column added (so DuckDB runs the final
// SELECT over the very same winners), and the rows must be equal value for value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { parseSchema } from '../../../src/format/index.js';
import { Engine } from '../../../src/query/index.js';
import { sharedEngine } from '../../../src/dataset/shared-engine.js';
import { parseSql } from '../../../src/query/search/sql-ast.js';
import { planSearch } from '../../../src/query/search/search-plan.js';
import { prng } from '../../helpers/tmp.js';
import type { Param } from '../../../src/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 5);
const schema = {
  prompt: 'text', emb: 'emb-8', rating: 'int', small: 'int8', big: 'int64', ratio: 'float32', wide: 'float64', ok: 'bool',
  made_at: 'timestamp', meta: 'json', tags: 'list<text>',
};

function records(rand: () => number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    prompt: i % 7 === 0 ? null : `red car ${Math.floor(rand() * 50)} blue`,
    emb: Float32Array.from({ length: 8 }, () => rand() - 0.5),
    rating: 1 + Math.floor(rand() * 5),
    small: i % 5 === 0 ? null : Math.floor(rand() * 200) - 100,
    big: BigInt(Math.floor(rand() * 1e9)) * 1_000_000_007n,
    ratio: Math.fround(rand() * 10 - 5),
    wide: i % 11 === 0 ? -0 : rand() * 1e6,
    ok: rand() < 0.5,
    made_at: new Date(1_700_000_000_000 + Math.floor(rand() * 1e10)),
    meta: { n: i },
    tags: rand() < 0.2 ? ['unsafe'] : ['safe'],
  }));
}

/** Statements the process's engine sent to DuckDB while `fn` ran. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const counts = (await sharedEngine()).counts;
  const before = counts.statements;
  const r = await fn();
  return [r, counts.statements - before];
}

/**
 * The query as written, and the same rows with DuckDB running the final SELECT (one computed
 * column more, dropped), each after two runs that load this version's caches (a cold handle on
 * a remote store runs its first filter in SQL and decodes the columns on the next query); and
 * how many DuckDB statements more the second sent.
 */
async function bothWays(ds: quiver.Dataset, sql: string, params: Param[]): Promise<[Record<string, unknown>[], Record<string, unknown>[], number]> {
  const probed = sql.replace(/^select /i, 'select 0 as __probe, ');
  for (let i = 0; i < 2; i++) {
    await ds.query(sql, params);
    await ds.query(probed, params);
  }
  const [fast, n] = await statementsOf(() => ds.query(sql, params));
  const [viaDuckDb, m] = await statementsOf(() => ds.query(probed, params));
  for (const r of viaDuckDb) delete r.__probe;
  return [fast, viaDuckDb, m - n];
}

describe('a top-k projection', () => {
  it('gives the rows DuckDB gives for the same winners, for every small column type, alias, offset and signal', async () => {
    const rand = prng(SEED);
    const ds = await quiver.create(`memory://projection-${SEED}-${Math.random()}`, { schema });
    await ds.append(records(rand, 300));
    await ds.commit('data');
    await ds.createIndex('rating', { kind: 'scalar' });
    await ds.delete({ where: 'row_id % 13 = 0' });
    await ds.commit('some deleted');
    const q = Float32Array.from({ length: 8 }, () => rand() - 0.5);
    // [sql, params, answered without DuckDB's final SELECT]: JSON and lists are DuckDB's to convert.
    const cases: [string, Param[], boolean][] = [
      ['select row_id, prompt, rating from dataset where rating >= 3 and not list_contains(tags, \'unsafe\') order by cosine_similarity(emb, $1) desc limit 20', [q], true],
      ['select prompt, Rating, small, big, ratio, wide, ok, made_at from dataset order by l2_distance(emb, $1) limit 15 offset 4', [q], true],
      ['select row_id as id, cosine_similarity(emb, $1) as score, prompt as p from dataset where rating = 2 order by score desc limit 10', [q], true],
      ['select meta, tags, row_id from dataset order by inner_product(emb, $1) desc limit 5', [q], false],
      ['select row_id, prompt from dataset where rating >= 2 order by rrf(cosine_similarity(emb, $1), bm25(prompt, \'red blue\')) desc limit 10', [q], true],
      ['select row_id, bm25(prompt, \'car\') as s from dataset where match(prompt, \'car\') order by s desc limit 8', [], true],
    ];
    for (const [sql, params, projected] of cases) {
      const [fast, viaDuckDb, saved] = await bothWays(ds, sql, params);
      assert.ok(fast.length > 0, `seed ${SEED}: ${sql} found rows`);
      assert.deepEqual(fast, viaDuckDb, `seed ${SEED}: ${sql}`);
      assert.equal(saved, projected ? 1 : 0, `seed ${SEED}: ${sql} sends ${projected ? 'no' : 'its'} final SELECT to DuckDB`);
      assert.deepEqual(Object.keys(fast[0]), Object.keys(viaDuckDb[0]), `seed ${SEED}: column names and order of ${sql}`);
    }
    await ds.close();
  });

  it('is planned only for a final SELECT of plain columns in score order', async () => {
    const engine = await Engine.create({ threads: 1 });
    const s = await engine.session();
    const cols = parseSchema({ emb: 'emb-8', rating: 'int', prompt: 'text' });
    const projection = async (sql: string) => planSearch(await parseSql(s, sql), cols, [new Float32Array(8)]).topk?.projection ?? null;
    assert.deepEqual((await projection('select row_id, prompt as p from dataset where rating > 1 order by cosine_similarity(emb, $1) desc limit 10 offset 2')), {
      columns: [{ column: 'row_id', alias: '' }, { column: 'prompt', alias: 'p' }], limit: 10, offset: 2,
    });
    assert.equal((await projection('select rating + 1 as r from dataset order by cosine_similarity(emb, $1) desc limit 10')), null);
    assert.equal((await projection('select * from dataset order by cosine_similarity(emb, $1) desc limit 10')), null);
    assert.equal((await projection('select prompt, (select count(*) from dataset) as n from dataset order by cosine_similarity(emb, $1) desc limit 10')), null);
    s.close();
    engine.close();
  });
});
