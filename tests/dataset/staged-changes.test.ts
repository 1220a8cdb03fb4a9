// What a handle does with staged changes when a commit fails or the caller gives up: a
// conflicting commit drops the conflicting update/delete and those staged after it, keeps
// appends and earlier changes, and the next commit publishes them; `discard` drops everything
// staged; `refresh` shows the branch's newest commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';

async function seeded(): Promise<{ store: MemoryStore; a: quiver.Dataset; b: quiver.Dataset }> {
  const store = new MemoryStore();
  const a = await quiver.create(store, { schema: { k: 'int', rating: 'int' } });
  await a.append([0, 1, 2, 3, 4].map((k) => ({ k, rating: 0 })));
  await a.commit('seed');
  return { store, a, b: await quiver.open(store) };
}

const ratings = async (ds: quiver.Dataset) => (await ds.query('select k, rating from dataset order by k')).map((r) => `${r.k}:${r.rating}`);

describe('Dataset staged changes', () => {
  it('drops the conflicting update and those staged after it, keeps appends and earlier ones, and commits them next', async () => {
    const { a, b } = await seeded();
    await a.update({ where: 'k = 3', set: { rating: 3 } }); // earlier, unrelated
    await a.update({ where: 'k = 1', set: { rating: 9 } }); // conflicts with b
    await a.delete({ where: 'k = 4' }); // staged after the conflicting one
    await a.append({ k: 10, rating: 10 });
    await b.update({ where: 'k = 1', set: { rating: 7 } });
    await b.commit('b wins row 1');
    await assert.rejects(a.commit('a'), (e) => {
      assert.ok(isQuiverError(e, 'conflict'), String(e));
      assert.deepEqual([e.details.droppedOps, e.details.keptOps, e.details.stagedRows], [2, 1, 1]);
      return true;
    });
    assert.equal(a.stagedRows, 1);
    await a.commit('a again');
    assert.deepEqual(await ratings(a), ['0:0', '1:7', '2:0', '3:3', '4:0', '10:10']);
    await a.close();
    await b.close();
  });

  it('drops every staged append, update and delete on discard', async () => {
    const { a, b } = await seeded();
    await a.append({ k: 5, rating: 5 });
    await a.update({ where: 'k = 0', set: { rating: 1 } });
    await a.discard();
    assert.equal(a.stagedRows, 0);
    await assert.rejects(a.commit('nothing'), (e) => isQuiverError(e, 'invalid_input'));
    await a.update({ where: 'k = 0', set: { rating: 2 } });
    await a.commit('after discard');
    assert.deepEqual(await ratings(a), ['0:2', '1:0', '2:0', '3:0', '4:0']);
    await a.close();
    await b.close();
  });

  it('shows the branch head another handle committed after refresh', async () => {
    const { a, b } = await seeded();
    await b.append({ k: 5, rating: 5 });
    const head = await b.commit('b');
    assert.equal(a.rowCount, 5);
    assert.equal((await a.refresh()).id, head.id);
    assert.deepEqual([a.version.id, a.rowCount], [head.id, 6]);
    await a.close();
    await b.close();
  });
});
