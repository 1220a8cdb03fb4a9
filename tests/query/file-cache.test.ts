import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { FileCache } from '../../src/query/index.js';
import { CountingStore, MemoryStore, ObjectCache } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';

const schema = { prompt: 'text', rating: 'int', emb: 'emb-4' };
const rows = Array.from({ length: 30 }, (_, i) => ({ prompt: `p${i}`, rating: i % 5, emb: [i, 1, 2, 3] }));

describe('FileCache', () => {
  it('serves a second handle on the same store from the process cache, across close()', async () => {
    const store = new CountingStore(new MemoryStore());
    const a = await quiver.create(store, { schema });
    await a.append(rows);
    await a.commit('rows');
    await a.query('select count(*) from dataset where rating > 1');
    await a.close();
    const b = await quiver.open(store);
    store.reset();
    const [{ n }] = await b.query('select count(*) as n from dataset where rating > 1');
    assert.equal(Number(n), 18);
    assert.deepEqual([...store.keysRead.keys()].filter((k) => k.startsWith('data/')), []);
    await b.close();
  });

  it('keeps the copies a handle holds and lets them be evicted once it is disposed', async () => {
    const inner = new MemoryStore();
    await inner.put('data/x.parquet', new Uint8Array(1000));
    await inner.put('data/y.parquet', new Uint8Array(1000));
    const cache = new ObjectCache({ diskBytesMax: 1500, dir: tempDir() });
    const h1 = new FileCache(inner, cache);
    const x = await h1.path('data/x.parquet');
    const h2 = new FileCache(inner, cache);
    const y = await h2.path('data/y.parquet');
    assert.ok(existsSync(x) && existsSync(y), 'both pinned: the bound waits');
    await h1.dispose();
    assert.ok(!existsSync(x), 'released and over the bound: evicted');
    assert.ok(existsSync(y));
    await h2.dispose();
  });
});
