// Refs on the storage seam: a ref read is one request whose etag describes the bytes read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRef, moveRef, readRef } from '../../src/format/index.js';
import { CountingStore, MemoryStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('commit-graph refs', () => {
  it('reads a ref in one request', async () => {
    const store = new CountingStore(new MemoryStore());
    await createRef(store, 'branch', 'main', A);
    store.reset();
    assert.equal((await readRef(store, 'branch', 'main'))?.commit, A);
    assert.deepEqual({ gets: store.counts.gets, heads: store.counts.heads }, { gets: 1, heads: 0 });
  });

  it('moves a ref with the etag read and refuses the same etag once it moved', async () => {
    const store = new MemoryStore();
    await createRef(store, 'branch', 'main', A);
    const read = (await readRef(store, 'branch', 'main'))!;
    await moveRef(store, 'branch', 'main', B, read.etag);
    await assert.rejects(moveRef(store, 'branch', 'main', A, read.etag), (e) => isQuiverError(e, 'conflict'));
    assert.equal((await readRef(store, 'branch', 'main'))?.commit, B);
    assert.equal(await readRef(store, 'branch', 'absent'), null);
  });
});
