// The versioning caches are bounded (least recently used entries go first, the newest stays)
// and a deletes file extended by a commit answers membership like one read whole.
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

describe('DeletesCache.extend', () => {
  it('answers membership of a file a commit extended from the file it read, at any chain depth', () => {
    const c = new DeletesCache();
    c.set('d0', ids(100));
    assert.ok(c.setOf('d0')!.has(5n));
    let all = ids(100);
    for (let k = 1; k <= 40; k++) {
      const added = [BigInt(1000 + k)];
      all = [...all, ...added];
      c.extend(`d${k}`, all, `d${k - 1}`, added);
      const s = c.setOf(`d${k}`)!;
      assert.ok(s.has(5n) && s.has(BigInt(1000 + k)) && s.has(1001n), `file ${k}`);
      assert.equal(s.has(BigInt(1000 + k + 1)), false);
      assert.equal(c.setOf(`d${k - 1}`)!.has(BigInt(1000 + k)), false); // the older file is unchanged
    }
    c.extend('x', [7n], 'not-cached', [7n]);
    assert.ok(c.setOf('x')!.has(7n));
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
