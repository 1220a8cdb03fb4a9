// CollectionCache: one byte bound over the key spaces of several handles, least recently used
// of any of them out first, and entries counted at their size now (they may grow once cached).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachedValues, CollectionCache, type CacheEntry } from '../../../src/query/search/collections.js';

const live = (n: number): CacheEntry => ({ kind: 'live', rowIds: new BigInt64Array(n), bytes: n * 8 });

describe('CollectionCache', () => {
  it('keeps the keys of scoped views apart', () => {
    const pool = new CollectionCache(1024);
    const a = pool.scoped('a');
    const b = pool.scoped('b');
    a.set('k', live(1));
    assert.equal(b.get('k'), undefined);
    assert.equal((a.get('k') as { rowIds: BigInt64Array }).rowIds.length, 1);
  });

  it('evicts the least recently used entry of any view once the views together pass the bound', () => {
    const pool = new CollectionCache(300);
    const a = pool.scoped('a');
    const b = pool.scoped('b');
    a.set('x', live(10)); // 80 bytes
    b.set('y', live(10));
    a.set('z', live(10));
    a.get('x'); // x is now more recent than b's y
    b.set('w', live(10)); // 320 bytes: the least recent, b's y, goes
    assert.equal(b.get('y'), undefined);
    assert.ok(a.get('x') && a.get('z') && b.get('w'));
    assert.equal(pool.bytes, 240);
    assert.ok(pool.bytes <= pool.bytesMax);
  });

  it('counts an entry that grew after it was cached at its size now', () => {
    const pool = new CollectionCache(1000);
    const grows = { n: 10 };
    const values = new CachedValues(pool.scoped('v'), 'index', (v: { n: number }) => v.n);
    values.set('g', grows);
    const before = pool.bytes;
    grows.n = 500;
    assert.equal(pool.bytes, before + 490);
    pool.scoped('other').set('k', live(60)); // 480 bytes more: over the bound, so the grown entry (least recent) goes
    assert.equal(values.has('g'), false);
    assert.ok(pool.bytes <= pool.bytesMax);
  });

  it('keeps the newest entry even when it alone is over the bound', () => {
    const pool = new CollectionCache(100);
    pool.set('big', live(100));
    assert.ok(pool.get('big'));
  });
});
