// Row-id leases: ids are never handed out twice, even when the lease object has gone missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { layout, RowIdAllocator } from '../../src/format/index.js';
import { CountingStore, MemoryStore } from '../../src/storage/index.js';

describe('RowIdAllocator', () => {
  it('hands out disjoint ranges to allocators sharing a store', async () => {
    const s = new MemoryStore();
    const [a, b] = [new RowIdAllocator(s, { leaseSize: 4 }), new RowIdAllocator(s, { leaseSize: 4 })];
    const ids = [...(await a.take(3)), ...(await b.take(6)), ...(await a.take(3))];
    assert.equal(new Set(ids).size, ids.length);
  });

  it('leases whole leases, so a take larger than one leaves ids for the next without a lease request', async () => {
    const s = new CountingStore(new MemoryStore());
    const a = new RowIdAllocator(s, { leaseSize: 4 });
    const first = await a.take(6); // one lease of 8
    s.reset();
    const next = await a.take(2);
    assert.deepEqual({ gets: s.counts.gets, puts: s.counts.puts }, { gets: 0, puts: 0 });
    assert.deepEqual([...first, ...next], [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    await a.take(1); // the lease is used up: a new one
    assert.equal(s.counts.puts, 1);
  });

  it('refuses to restart at 0 when the lease is missing from a dataset that has rows', async () => {
    const s = new MemoryStore();
    const ds = await quiver.create(s, { schema: { a: 'int' } });
    await ds.append([{ a: 1 }, { a: 2 }]);
    await ds.commit('rows');
    await ds.close();
    await s.delete(layout.rowIdLease);
    const again = await quiver.open(s);
    await assert.rejects(again.append({ a: 3 }), (e) => quiver.isQuiverError(e, 'corrupt') && e.message.includes(layout.rowIdLease));
    assert.equal(again.stagedRows, 0);
    await again.close();
  });
});
