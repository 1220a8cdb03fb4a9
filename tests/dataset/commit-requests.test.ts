// The requests an append + commit makes after the handle's first commit, counted on a real
// store: the branch ref is checked once (a head) and moved once, never read in between; the
// pending marker is rewritten without a head; and a commit whose remembered ref went stale still
// lands on top of the other writer's commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { CountingStore, MemoryStore } from '../../src/storage/index.js';

const REF = 'refs/heads/main';
const schema = { n: 'int' };
const fresh = () => `memory://commit-requests-${Math.random().toString(36).slice(2)}`;

describe('Dataset append + commit requests', () => {
  it('checks the branch ref with one head and moves it without reading it', async () => {
    const store = new CountingStore(new MemoryStore(fresh()));
    const ds = await quiver.create(store, { schema });
    await ds.append([{ n: 1 }]);
    await ds.commit('one');
    store.reset();
    await ds.append([{ n: 2 }]);
    await ds.commit('two');
    assert.equal(store.requestsRead.get(REF), undefined, `the ref was read: ${[...store.requestsRead.keys()].join(', ')}`);
    assert.equal(store.keysWritten.has(REF), true);
    // The ref check; the pending marker is rewritten with put-if-match, not checked with a head first.
    assert.equal(store.counts.heads, 1);
    assert.deepEqual(await ds.query('select n from dataset order by n'), [{ n: 1 }, { n: 2 }]);
    await ds.close();
  });

  it('reads the ref and commits on top when another writer moved it after the append', async () => {
    const url = fresh();
    const store = new CountingStore(new MemoryStore(url));
    const a = await quiver.create(store, { schema });
    await a.append([{ n: 1 }]);
    await a.commit('a1');
    const b = await quiver.open(new MemoryStore(url));
    await a.append([{ n: 2 }]);
    await b.append([{ n: 3 }]);
    const theirs = await b.commit('b1');
    store.reset();
    const ours = await a.commit('a2');
    assert.deepEqual(ours.parents, [theirs.id]);
    assert.equal(store.requestsRead.get(REF), 1, 'the refused move is followed by one read of the ref');
    assert.deepEqual(await a.query('select n from dataset order by n'), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const h of [a, b]) await h.close();
  });

  it('fails with not_found naming the branch when it was deleted after the append', async () => {
    const url = fresh();
    const main = await quiver.create(new MemoryStore(url), { schema });
    const side = await main.branch('side');
    await side.append([{ n: 1 }]);
    await side.commit('s1');
    await side.append([{ n: 2 }]);
    await main.deleteBranch('side');
    await assert.rejects(side.commit('s2'), (e) => quiver.isQuiverError(e, 'not_found') && /branch "side" was deleted/.test(e.message));
    for (const h of [main, side]) await h.close();
  });
});
