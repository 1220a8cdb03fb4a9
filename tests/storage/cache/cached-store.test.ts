import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CachedStore, CountingStore, MemoryStore, ObjectCache, openStore } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { objectStoreCases } from '../object-store.case.js';
import { prng, tempDir } from '../../helpers/tmp.js';

// The suite's overwritten keys (refs, races) are mutable; the rest stand for data files.
const suiteImmutable = (k: string) => k.startsWith('data/') || k.startsWith('a/') || k === 'p';
objectStoreCases('CachedStore(MemoryStore)', {
  make: () => new CachedStore(new MemoryStore(), new ObjectCache({ blockBytes: 4 }), suiteImmutable),
  again: (s) => new CachedStore(openStore(s.url), new ObjectCache({ blockBytes: 4 }), suiteImmutable),
});

function bytesOf(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function setup(blockBytes: number, memoryBytesMax = 1 << 20) {
  const counting = new CountingStore(new MemoryStore());
  const cache = new ObjectCache({ blockBytes, memoryBytesMax, dir: tempDir() });
  const store = new CachedStore(counting, cache, (k) => !k.startsWith('refs/'));
  return { counting, cache, store };
}

describe('CachedStore', () => {
  it('returns exactly the stored bytes for any range, with any block size and memory bound', async () => {
    const seed = 20261202;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3200 }), fc.integer({ min: 0, max: 3200 })), { maxLength: 12 }),
        async (size, blockBytes, memoryBytesMax, ranges) => {
          const { counting, store } = setup(blockBytes, memoryBytesMax);
          const data = bytesOf(size, size + blockBytes);
          await counting.inner.put('data/f', data);
          for (const [offset, length] of ranges) {
            const want = data.subarray(Math.min(offset, size), Math.min(size, offset + length));
            assert.deepEqual(await store.get('data/f', { offset, length }), want);
          }
          assert.deepEqual(await store.get('data/f'), data);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('answers a repeated read from memory with no request', async () => {
    const { counting, store } = setup(1024);
    await counting.inner.put('data/a', bytesOf(10_000, 1));
    await store.get('data/a', { offset: 100, length: 5000 });
    counting.reset();
    await store.get('data/a', { offset: 2000, length: 2000 });
    await store.head('data/a');
    assert.deepEqual([counting.counts.gets, counting.counts.heads], [0, 0]);
  });

  it('fetches the missing blocks of one read in one request per gap', async () => {
    const { counting, store } = setup(100);
    await counting.inner.put('data/g', bytesOf(1000, 2));
    await store.get('data/g', { offset: 300, length: 100 }); // block 3
    await store.get('data/g', { offset: 600, length: 100 }); // block 6
    counting.reset();
    await store.get('data/g', { offset: 0, length: 1000 }); // gaps 0-2, 4-5, 7-9
    assert.equal(counting.counts.gets, 3);
    assert.equal(counting.counts.getBytes, 800);
  });

  it('shares one request between concurrent reads of the same blocks', async () => {
    const { counting, store } = setup(256);
    await counting.inner.put('data/c', bytesOf(4096, 3));
    counting.reset();
    const reads = await Promise.all(Array.from({ length: 8 }, () => store.get('data/c', { offset: 0, length: 4096 })));
    assert.equal(counting.counts.gets, 1);
    for (const r of reads) assert.equal(r.length, 4096);
  });

  it('keeps memory within its bound by evicting the least recently used blocks', async () => {
    const { counting, cache, store } = setup(100, 1000);
    await counting.inner.put('data/e', bytesOf(5000, 4));
    for (let off = 0; off < 5000; off += 100) await store.get('data/e', { offset: off, length: 100 });
    assert.ok(cache.stats.memoryBytes <= 1000, `${cache.stats.memoryBytes} bytes held`);
    assert.equal(cache.stats.evictedBlocks, 40);
    counting.reset();
    await store.get('data/e', { offset: 4900, length: 100 }); // most recent: still held
    assert.equal(counting.counts.gets, 0);
  });

  it('never caches a mutable key', async () => {
    const { counting, store } = setup(64);
    await store.put('refs/main', new TextEncoder().encode('v1'));
    await store.get('refs/main');
    await counting.inner.put('refs/main', new TextEncoder().encode('v2'));
    assert.equal(new TextDecoder().decode(await store.get('refs/main')), 'v2');
  });

  it('reports a store that returns fewer bytes than the object holds as corrupt', async () => {
    const inner = new MemoryStore();
    await inner.put('data/t', bytesOf(500, 5));
    const short = Object.assign(Object.create(inner) as MemoryStore, {
      get: async (k: string, r?: { offset: number; length: number }) => (await inner.get(k, r)).subarray(0, 10),
    });
    const store = new CachedStore(short, new ObjectCache({ blockBytes: 128, dir: tempDir() }), () => true);
    await assert.rejects(store.get('data/t', { offset: 0, length: 300 }), (e) => isQuiverError(e, 'corrupt'));
  });

  it('forgets an object it deleted', async () => {
    const { store } = setup(64);
    await store.put('data/d', bytesOf(100, 6));
    await store.get('data/d');
    await store.delete('data/d');
    await assert.rejects(store.get('data/d'), (e) => isQuiverError(e, 'not_found'));
  });
});

describe('ObjectCache local copies', () => {
  it('copies a remote object to disk once and shares the path', async () => {
    const { counting, cache } = setup(64);
    const data = bytesOf(3000, 7);
    await counting.inner.put('data/l', data);
    counting.reset();
    const copy = () => cache.localCopy(counting.inner.url, 'data/l', () => counting.get('data/l'));
    const [a, b] = await Promise.all([copy(), copy()]);
    assert.equal(a.path, b.path);
    assert.equal(counting.counts.gets, 1);
    assert.deepEqual(new Uint8Array(readFileSync(a.path)), data);
    await a.release();
    await b.release();
  });

  it('evicts unpinned copies past its bound and never a pinned one', async () => {
    const cache = new ObjectCache({ diskBytesMax: 2500, dir: tempDir() });
    const inner = new MemoryStore();
    const copy = (k: string) => cache.localCopy(inner.url, k, () => inner.get(k));
    for (const k of ['x', 'y', 'z']) await inner.put(k, bytesOf(1000, k.charCodeAt(0)));
    const x = await copy('x');
    const y = await copy('y');
    await y.release();
    const z = await copy('z');
    await z.release(); // 3000 bytes > 2500: y goes (oldest unpinned), x stays pinned
    assert.ok(existsSync(x.path));
    assert.ok(!existsSync(y.path));
    assert.ok(cache.stats.diskBytes <= 2500);
    await x.release();
  });

  it('copies again after an eviction', async () => {
    const cache = new ObjectCache({ diskBytesMax: 0, dir: tempDir() });
    const inner = new CountingStore(new MemoryStore());
    await inner.put('k', bytesOf(10, 8));
    const copy = () => cache.localCopy(inner.url, 'k', () => inner.get('k'));
    const a = await copy();
    await a.release();
    const b = await copy();
    assert.ok(existsSync(b.path));
    assert.equal(inner.counts.gets, 2);
    await b.release();
  });
});
