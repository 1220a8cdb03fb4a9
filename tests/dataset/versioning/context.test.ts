// The versioning caches are bounded: least recently used entries go first, the newest stays.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeletesCache, FragmentRowsCache } from '../../../src/dataset/versioning/context.js';

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => BigInt(from + i));

describe('DeletesCache', () => {
  it('holds at most idsMax ids, dropping the least recently used file first', () => {
    const c = new DeletesCache(10);
    c.set('a', ids(4));
    c.set('b', ids(4, 100));
    assert.ok(c.get('a')); // a is now the most recently used
    c.set('c', ids(4, 200)); // 12 ids: b goes
    assert.equal(c.get('b'), undefined);
    assert.deepEqual(c.get('a'), ids(4));
    assert.ok(c.setOf('c')!.has(203n));
    assert.equal(c.setOf('c')!.has(204n), false);
    c.set('big', ids(50)); // larger than the bound: kept alone
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('c'), undefined);
    assert.equal(c.get('big')!.length, 50);
  });
});

describe('FragmentRowsCache', () => {
  it('keys rows by file and columns and holds at most rowsMax rows', () => {
    const c = new FragmentRowsCache(3);
    const rows = (n: number) => new Map(ids(n).map((id) => [id, { row_id: id }]));
    c.set('f1', 'a,b', rows(2));
    assert.equal(c.get('f1', 'a'), undefined);
    assert.equal(c.get('f1', 'a,b')!.size, 2);
    c.set('f2', 'a,b', rows(2)); // 4 rows: f1 goes
    assert.equal(c.get('f1', 'a,b'), undefined);
    assert.equal(c.get('f2', 'a,b')!.size, 2);
  });
});
