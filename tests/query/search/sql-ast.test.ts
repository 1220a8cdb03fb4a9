// The parse tree's constants read as the values DuckDB means: DECIMAL with its scale, HUGEINT
// and BIGINT past 2^53 exactly, and a search query whose vector is written as a SQL literal
// ranks exactly as the same query with the vector bound as a parameter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as quiver from '../../../src/index.js';
import { Engine } from '../../../src/query/index.js';
import { constantValue, parseSql, unparseSql, type AstNode } from '../../../src/query/search/sql-ast.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);

async function constants(sql: string): Promise<unknown[]> {
  const engine = await Engine.create();
  const s = await engine.session();
  try {
    const tree = await parseSql(s, sql);
    return (tree.statements[0].node.select_list as AstNode[]).map((n) => constantValue(n.value as never));
  } finally {
    s.close();
    engine.close();
  }
}

describe('constantValue', () => {
  it('reads a DECIMAL constant with its scale', async () => {
    assert.deepEqual(await constants('select 0.5, 0.25, -1.125, 12.0'), [0.5, 0.25, -1.125, 12]);
  });

  it('reads DECIMALs of 19 to 38 digits as the nearest double', async () => {
    const text = ['0.1234567890123456789', '1.00000000000000000001', '12345678901234567890.5', '-0.00000000000000000000000000000000000123'];
    assert.deepEqual(await constants(`select ${text.join(', ')}`), text.map(Number));
  });

  it('reads integers past 2^53 exactly, as bigint', async () => {
    assert.deepEqual(await constants('select 9007199254740993, 12345678901234567890123, 42'), [9007199254740993n, 12345678901234567890123n, 42]);
  });

  it('gives back big integer constants unchanged when a tree is written as SQL again', async () => {
    const engine = await Engine.create();
    const s = await engine.session();
    try {
      const sql = await unparseSql(s, await parseSql(s, 'select 9007199254740993 as a, 12345678901234567890123 as b'));
      const r = await s.all(`select a::VARCHAR as a, b::VARCHAR as b from (${sql})`);
      assert.deepEqual(r.rows[0], { a: '9007199254740993', b: '12345678901234567890123' });
    } finally {
      s.close();
      engine.close();
    }
  });
});

describe('search with a literal query vector', () => {
  it('ranks rows [0.5,0.25] and [5,25] by their true distance to [0.5,0.25]', async () => {
    const ds = await quiver.create(`memory://sql-ast-dec-${Math.random()}`, { schema: { e: 'emb-2' } });
    await ds.append([{ e: Float32Array.of(0.5, 0.25) }, { e: Float32Array.of(5, 25) }]);
    await ds.commit('two rows');
    const r = await ds.query('select row_id, l2_distance(e, [0.5, 0.25]) as d from dataset order by d limit 1');
    assert.deepEqual(r, [{ row_id: 0n, d: 0 }]);
    await ds.close();
  });

  it('ranks as the bound-parameter query for literals of any digit count (property, seeded)', async () => {
    const dim = 8;
    const ds = await quiver.create(`memory://sql-ast-prop-${Math.random()}`, { schema: { e: `emb-${dim}` } });
    const rand = fc.sample(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { numRuns: dim * 60, seed: SEED });
    await ds.append(Array.from({ length: 60 }, (_, r) => ({ e: Float32Array.from(rand.slice(r * dim, (r + 1) * dim)) })));
    await ds.commit('data');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: dim, maxLength: dim }),
          fc.constantFrom<(x: number) => string>((x) => String(x), (x) => x.toFixed(2), (x) => x.toFixed(20), (x) => x.toExponential(6), (x) => x.toPrecision(17)),
          fc.constantFrom('l2_distance', 'cosine_similarity', 'inner_product'),
          async (v, write, fn) => {
            const q = Float32Array.from(v);
            const literal = `[${Array.from(q, write).join(', ')}]`;
            const order = fn === 'l2_distance' ? 'asc' : 'desc';
            const lit = await ds.query(`select row_id from dataset order by ${fn}(e, ${literal}) ${order}, row_id limit 5`);
            // The literal as DuckDB reads it (DOUBLE), bound exactly: the same ranking.
            const want = Float32Array.from((await ds.query(`select unnest(${literal}::DOUBLE[]) as x`)).map((r) => r.x as number));
            const bound = await ds.query(`select row_id from dataset order by ${fn}(e, $1) ${order}, row_id limit 5`, [want]);
            assert.deepEqual(lit, bound, literal);
          },
        ),
        { numRuns: 40, seed: SEED },
      );
    } catch (e) {
      console.error(`sql-ast property failed; replay with QUIVER_SEED=${SEED}`);
      throw e;
    } finally {
      await ds.close();
    }
  });
});
