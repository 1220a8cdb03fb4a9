// The conformance suite every ObjectStore implementation must pass. Cases never name an
// implementation: per-store facts come from the factory (how to open a second instance on the
// same root, how to prepare the server) or its skip-with-reason list.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ObjectStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x.key);
  return out.sort();
}

export interface StoreFactory {
  /** A fresh, empty store. */
  make(): ObjectStore;
  /** A second, independent instance on the same root as `s` (as another handle or process would open it). */
  again(s: ObjectStore): ObjectStore;
  /** Runs once before the cases (e.g. creates the test bucket). */
  prepare?(): Promise<void>;
  /** Keys the store lists per page, when it pages; the listing case writes more than one page. */
  listPageKeys?: number;
  /** Case titles to skip, each with its reason. */
  skip?: Record<string, string>;
}

/** A modification time within this of the test's clock passes: servers here share its clock. */
const clockSkewMsMax = 60_000;

export function objectStoreCases(name: string, f: StoreFactory): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    if (f.prepare) before(() => f.prepare!());
    const c = (title: string, fn: () => Promise<void>) => it(title, { skip: f.skip?.[title] ?? false }, fn);

    c('puts and gets an object, whole and by range', async () => {
      const s = f.make();
      await s.put('a/b.txt', bytes('hello world'));
      assert.equal(text(await s.get('a/b.txt')), 'hello world');
      assert.equal(text(await s.get('a/b.txt', { offset: 6, length: 5 })), 'world');
    });

    c('returns the bytes that exist for a range past the end', async () => {
      const s = f.make();
      await s.put('r', bytes('hello world'));
      assert.equal(text(await s.get('r', { offset: 8, length: 10 })), 'rld');
      assert.equal((await s.get('r', { offset: 11, length: 4 })).length, 0);
      assert.equal((await s.get('r', { offset: 50, length: 4 })).length, 0);
    });

    c('writes parts in order as one object', async () => {
      const s = f.make();
      await s.put('p', [bytes('ab'), bytes('cd'), bytes('e')]);
      assert.equal(text(await s.get('p')), 'abcde');
    });

    c('reports a missing object as not_found', async () => {
      const s = f.make();
      await assert.rejects(s.get('missing'), (e) => isQuiverError(e, 'not_found'));
      await assert.rejects(s.getWithInfo('missing'), (e) => isQuiverError(e, 'not_found'));
      assert.equal(await s.head('missing'), null);
    });

    c('lists by prefix', async () => {
      const s = f.make();
      await s.put('data/1', bytes('1'));
      await s.put('data/sub/2', bytes('2'));
      await s.put('meta/3', bytes('3'));
      assert.deepEqual(await collect(s.list('data/')), ['data/1', 'data/sub/2']);
      assert.deepEqual(await collect(s.list('')), ['data/1', 'data/sub/2', 'meta/3']);
    });

    c('lists by a prefix that ends in the middle of a name', async () => {
      const s = f.make();
      for (const k of ['data/abc1', 'data/abd2', 'data/ab/x', 'data/b']) await s.put(k, bytes(k));
      assert.deepEqual(await collect(s.list('data/ab')), ['data/ab/x', 'data/abc1', 'data/abd2']);
      assert.deepEqual(await collect(s.list('data/abc')), ['data/abc1']);
      assert.deepEqual(await collect(s.list('dat')), ['data/ab/x', 'data/abc1', 'data/abd2', 'data/b']);
    });

    c('lists more than one page of keys', async () => {
      const s = f.make();
      const n = 2 * (f.listPageKeys ?? 10) + 3;
      const keys = Array.from({ length: n }, (_, i) => `many/k${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((k) => s.put(k, bytes(k))));
      assert.deepEqual(await collect(s.list('many/')), keys);
    });

    c('reports modification times in head and list, not decreasing on rewrite', async () => {
      const s = f.make();
      const t0 = Date.now();
      await s.put('t', bytes('1'));
      const h = await s.head('t');
      assert.ok(h && Math.abs(h.lastModified - t0) < clockSkewMsMax, `lastModified ${h?.lastModified} far from ${t0}`);
      const [listed] = await (async () => {
        const out = [];
        for await (const x of s.list('t')) out.push(x);
        return out;
      })();
      assert.equal(listed?.lastModified, h.lastModified);
      await s.put('t', bytes('2'));
      assert.ok((await s.head('t'))!.lastModified >= h.lastModified);
      assert.equal((await s.getWithInfo('t')).info.lastModified, (await s.head('t'))!.lastModified);
    });

    c('gets an object with the etag of exactly those bytes', async () => {
      const s = f.make();
      const a = await s.put('g', bytes('v1'));
      const got = await s.getWithInfo('g');
      assert.equal(text(got.data), 'v1');
      assert.equal(got.info.etag, a.etag);
      assert.equal(got.info.size, 2);
      await s.put('g', bytes('v2'), { ifMatch: got.info.etag });
      assert.equal(text((await s.getWithInfo('g')).data), 'v2');
    });

    c('put-if-absent refuses an existing key and keeps the old content', async () => {
      const s = f.make();
      await s.put('k', bytes('one'), { ifAbsent: true });
      await assert.rejects(s.put('k', bytes('two'), { ifAbsent: true }), (e) => isQuiverError(e, 'conflict'));
      assert.equal(text(await s.get('k')), 'one');
    });

    c('put-if-match succeeds on the current etag and refuses a stale one', async () => {
      const s = f.make();
      const a = await s.put('ref', bytes('v1'));
      const b = await s.put('ref', bytes('v2'), { ifMatch: a.etag });
      assert.notEqual(a.etag, b.etag);
      await assert.rejects(s.put('ref', bytes('v3'), { ifMatch: a.etag }), (e) => isQuiverError(e, 'conflict'));
      assert.equal(text(await s.get('ref')), 'v2');
    });

    c('shows a second instance on the same root every write and refuses its stale etags', async () => {
      const s1 = f.make();
      const s2 = f.again(s1);
      const a = await s1.put('ref', bytes('v1'));
      assert.equal(text(await s2.get('ref')), 'v1');
      await s2.put('ref', bytes('v2'), { ifMatch: a.etag });
      await assert.rejects(s1.put('ref', bytes('v3'), { ifMatch: a.etag }), (e) => isQuiverError(e, 'conflict'));
      assert.equal(text(await s1.get('ref')), 'v2');
    });

    c('lets exactly one of many racing put-if-absent writers on two instances win', async () => {
      const s1 = f.make();
      const s2 = f.again(s1);
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? s2 : s1).put('once', bytes(`w${i}`), { ifAbsent: true })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isQuiverError(r.reason, 'conflict'), String(r.reason));
      assert.equal(text(await s1.get('once')), `w${won[0]}`);
    });

    c('lets exactly one of many racing put-if-match writers on two instances win', async () => {
      const s1 = f.make();
      const s2 = f.again(s1);
      const base = await s1.put('race', bytes('0'));
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? s2 : s1).put('race', bytes(String(i + 1)), { ifMatch: base.etag })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isQuiverError(r.reason, 'conflict'), String(r.reason));
      assert.equal(text(await s2.get('race')), String(won[0]! + 1));
    });

    c('deletes, and deleting a missing key is fine', async () => {
      const s = f.make();
      await s.put('d', bytes('x'));
      await s.delete('d');
      await s.delete('d');
      assert.equal(await s.head('d'), null);
    });

    c('head reports size and an etag that changes with content', async () => {
      const s = f.make();
      const a = await s.put('h', bytes('abc'));
      const h = await s.head('h');
      assert.equal(h?.size, 3);
      assert.equal(h?.etag, a.etag);
    });
  });
}
