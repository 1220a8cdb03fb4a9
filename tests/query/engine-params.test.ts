import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { Engine } from '../../src/query/engine.js';
import { isQuiverError } from '../../src/errors.js';

const engine = await Engine.create();
const session = await engine.session();
after(() => engine.close());

const text = async (v: quiver.Param) => (await session.all('select $1::VARCHAR AS v', [v])).rows[0].v;

describe('Session parameters', () => {
  it('binds bigints exactly across the 64- and 128-bit ranges', async () => {
    for (const v of [2n ** 63n - 1n, 2n ** 63n, 2n ** 64n, -(2n ** 64n), 2n ** 127n - 1n, -(2n ** 127n), 2n ** 127n, 2n ** 128n - 1n]) {
      assert.equal(await text(v), String(v));
    }
    assert.equal((await session.all('select $1 = 18446744073709551616 AS eq', [2n ** 64n])).rows[0].eq, true);
    assert.equal(await text([1n, 2n ** 64n]), `[1, ${2n ** 64n}]`);
    assert.equal(await text([1n, 2n ** 127n]), `[1, ${2n ** 127n}]`);
  });

  it('refuses a bigint no integer type holds, naming the parameter', async () => {
    for (const v of [2n ** 128n, -(2n ** 127n) - 1n, [0n, 2n ** 200n]]) {
      await assert.rejects(
        session.all('select 1 where $1 = $2', [1, v]),
        (e) => isQuiverError(e, 'invalid_input') && /^query: parameter \$2 is a bigint outside the 128-bit integer range, got -?\d+n$/.test((e as Error).message),
      );
    }
    await assert.rejects(session.all('select $1', [[-1n, 2n ** 127n]]), (e) => isQuiverError(e, 'invalid_input') && /parameter \$1 mixes negative bigints/.test((e as Error).message));
  });

  it('refuses an object parameter, naming it and the accepted kinds', async () => {
    for (const [v, what] of [
      [{ a: 1 }, 'an object (Object)'],
      [new Map(), 'an object (Map)'],
      [new Float64Array(2), 'an object (Float64Array)'],
      [[1, { a: 1 }], 'an object (Object)'],
      [() => 1, 'a function'],
    ] as const) {
      await assert.rejects(
        session.all('select $1, $2', [1, v as unknown as quiver.Param]),
        (e) => isQuiverError(e, 'invalid_input') && (e as Error).message === `query: parameter $2 is ${what}; parameters are null, boolean, number, bigint, string, Date, Uint8Array, Float32Array or an array of these` && (e as quiver.QuiverError).details.parameter === 2,
      );
    }
  });
});

describe('Dataset.query parameters', () => {
  it('compares a uint64 column with a bigint parameter above 2^63 exactly', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { u: 'uint64' } });
    await ds.append([{ u: 2n ** 64n - 1n }, { u: 2n ** 64n - 2n }]);
    await ds.commit('two');
    assert.deepEqual(await ds.query('select u from dataset where u = $1', [2n ** 64n - 1n]), [{ u: 2n ** 64n - 1n }]);
    assert.deepEqual(await ds.query('select count(*)::INT AS n from dataset where u < $1', [2n ** 64n]), [{ n: 2 }]);
    await assert.rejects(ds.query('select * from dataset where u = $1', [{ u: 1 } as unknown as quiver.Param]), (e) => isQuiverError(e, 'invalid_input'));
    await ds.close();
  });
});
