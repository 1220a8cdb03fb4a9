// The conformance suite every ObjectStore implementation must pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x.key);
  return out.sort();
}

export function objectStoreCases(name: string, make: () => ObjectStore): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    it('puts and gets an object, whole and by range', async () => {
      const s = make();
      await s.put('a/b.txt', bytes('hello world'));
      assert.equal(text(await s.get('a/b.txt')), 'hello world');
      assert.equal(text(await s.get('a/b.txt', { offset: 6, length: 5 })), 'world');
    });

    it('writes parts in order as one object', async () => {
      const s = make();
      await s.put('p', [bytes('ab'), bytes('cd'), bytes('e')]);
      assert.equal(text(await s.get('p')), 'abcde');
    });

    it('reports a missing object as not_found', async () => {
      const s = make();
      await assert.rejects(s.get('missing'), (e) => isQuiverError(e, 'not_found'));
      assert.equal(await s.head('missing'), null);
    });

    it('lists by prefix', async () => {
      const s = make();
      await s.put('data/1', bytes('1'));
      await s.put('data/sub/2', bytes('2'));
      await s.put('meta/3', bytes('3'));
      assert.deepEqual(await collect(s.list('data/')), ['data/1', 'data/sub/2']);
      assert.deepEqual(await collect(s.list('')), ['data/1', 'data/sub/2', 'meta/3']);
    });

    it('put-if-absent refuses an existing key and keeps the old content', async () => {
      const s = make();
      await s.put('k', bytes('one'), { ifAbsent: true });
      await assert.rejects(s.put('k', bytes('two'), { ifAbsent: true }), (e) => isQuiverError(e, 'conflict'));
      assert.equal(text(await s.get('k')), 'one');
    });

    it('put-if-match succeeds on the current etag and refuses a stale one', async () => {
      const s = make();
      const a = await s.put('ref', bytes('v1'));
      const b = await s.put('ref', bytes('v2'), { ifMatch: a.etag });
      assert.notEqual(a.etag, b.etag);
      await assert.rejects(s.put('ref', bytes('v3'), { ifMatch: a.etag }), (e) => isQuiverError(e, 'conflict'));
      assert.equal(text(await s.get('ref')), 'v2');
    });

    it('lets exactly one of many racing put-if-match writers win', async () => {
      const s = make();
      const base = await s.put('race', bytes('0'));
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.put('race', bytes(String(i + 1)), { ifMatch: base.etag })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('deletes, and deleting a missing key is fine', async () => {
      const s = make();
      await s.put('d', bytes('x'));
      await s.delete('d');
      await s.delete('d');
      assert.equal(await s.head('d'), null);
    });

    it('head reports size and an etag that changes with content', async () => {
      const s = make();
      const a = await s.put('h', bytes('abc'));
      const h = await s.head('h');
      assert.equal(h?.size, 3);
      assert.equal(h?.etag, a.etag);
    });
  });
}
