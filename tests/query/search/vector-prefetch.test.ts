// The order a cold filtered search asks the store for its files: the vector index's download
// starts before the filter's files are fetched, so the two overlap instead of queueing; the
// vector files' tails come with the index (a later file's is read once the index is in); and the
// files of the large columns it returns (needed last) are asked for after the index's reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { ForwardingStore } from '../../../src/storage/forwarding-store.js';
import { MemoryStore, type ByteRange } from '../../../src/storage/index.js';
import { prng } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);

/** A real store that records the keys of its gets in the order they were asked for, and when each was answered. */
class GetOrder extends ForwardingStore {
  readonly asked: string[] = [];
  /** `ask <key>` and `done <key>` in the order they happened. */
  readonly events: string[] = [];
  /** Every get with its range, in the order asked. */
  readonly ranges: { key: string; range?: ByteRange }[] = [];
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.asked.push(key);
    this.ranges.push({ key, range });
    this.events.push(`ask ${key}`);
    const bytes = await this.inner.get(key, range);
    this.events.push(`done ${key}`);
    return bytes;
  }
}

/** A dataset of `batches` × 100 rows (16-d vectors, ratings 0..4, a small image) with a vector index, on a GetOrder store. */
async function indexedDataset(name: string, seed: number, batches: number): Promise<{ store: GetOrder; vec: () => Float32Array }> {
  const rand = prng(seed);
  const vec = () => Float32Array.from({ length: 16 }, () => rand() - 0.5);
  const store = new GetOrder(new MemoryStore(`memory://${name}-${seed}-${Math.random()}`));
  const ds = await quiver.create(store, { schema: { emb: 'emb-16', rating: 'int', image: 'blob' } });
  for (let c = 0; c < batches; c++) {
    await ds.append(Array.from({ length: 100 }, (_, i) => ({ emb: vec(), rating: i % 5, image: new Uint8Array(64).fill(i) })));
    await ds.commit(`batch ${c}`);
  }
  await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
  await ds.close();
  return { store, vec };
}

describe('vector search prefetch', () => {
  it('asks for the vector index before the files the filter reads, on a cold handle', async () => {
    const { store, vec } = await indexedDataset('vector-prefetch', SEED, 2);
    const cold = await quiver.open(store);
    try {
      store.asked.length = 0;
      const rows = await cold.query('select row_id, rating from dataset where rating >= 3 order by cosine_similarity(emb, $1) desc limit 5', [vec()]);
      assert.equal(rows.length, 5);
      assert.ok(rows.every((r) => (r.rating as number) >= 3));
      const firstIndex = store.asked.findIndex((k) => k.startsWith('index/'));
      const firstScalar = store.asked.findIndex((k) => k.endsWith('.scalar.parquet'));
      assert.ok(firstIndex >= 0 && firstScalar >= 0, `asked for ${store.asked.join(', ')} (QUIVER_SEED=${SEED})`);
      assert.ok(firstIndex < firstScalar, `asked for ${store.asked.join(', ')} (QUIVER_SEED=${SEED})`);
    } finally {
      await cold.close();
    }
  });

  it('takes the indexed vector files\' tails from the index file, and asks for a later file\'s only once the index is in', async () => {
    const { store, vec } = await indexedDataset('vector-prefetch-tails', SEED + 1, 3);
    const writer = await quiver.open(store);
    const rand = prng(SEED + 3);
    await writer.append(Array.from({ length: 100 }, () => ({ emb: Float32Array.from({ length: 16 }, () => rand() - 0.5), rating: 2, image: new Uint8Array(8) })));
    await writer.commit('after the index');
    await writer.close();
    const cold = await quiver.open(store);
    try {
      store.events.length = 0;
      store.ranges.length = 0;
      assert.equal((await cold.query('select row_id from dataset where rating >= 1 order by cosine_similarity(emb, $1) desc limit 5', [vec()])).length, 5);
      // A tail is the end of its file: a read of a vector file that reaches its last byte.
      const sizes = new Map<string, number>();
      for (const r of store.ranges) if (r.key.endsWith('.emb.parquet') && !sizes.has(r.key)) sizes.set(r.key, (await store.inner.head(r.key))!.size);
      const tailReads = store.ranges.filter((r) => r.key.endsWith('.emb.parquet') && (!r.range || r.range.offset + r.range.length >= sizes.get(r.key)!));
      // (That file, which the index does not cover, is also downloaded whole for its exact search.)
      assert.equal(new Set(tailReads.map((r) => r.key)).size, 1, `only the file written after the index: ${JSON.stringify(tailReads)} (QUIVER_SEED=${SEED})`);
      const askTail = store.events.lastIndexOf(`ask ${tailReads[0].key}`);
      const lastIndex = store.events.map((e) => e.startsWith('done index/')).lastIndexOf(true);
      assert.ok(lastIndex >= 0 && lastIndex < askTail, `events ${store.events.join(', ')} (QUIVER_SEED=${SEED})`);
    } finally {
      await cold.close();
    }
  });

  it('asks for the files of a returned large column only after the index file', async () => {
    const { store, vec } = await indexedDataset('vector-prefetch-returned', SEED + 2, 2);
    const cold = await quiver.open(store);
    try {
      store.events.length = 0;
      const rows = await cold.query('select row_id, image from dataset where rating >= 1 order by cosine_similarity(emb, $1) desc limit 5', [vec()]);
      assert.equal(rows.length, 5);
      assert.ok(rows.every((r) => r.image instanceof Uint8Array && r.image.length === 64));
      const firstImage = store.events.findIndex((e) => e.startsWith('ask ') && e.endsWith('.image.parquet'));
      const lastIndex = store.events.map((e) => e.startsWith('ask index/')).lastIndexOf(true);
      assert.ok(firstImage >= 0 && lastIndex >= 0, `events ${store.events.join(', ')} (QUIVER_SEED=${SEED})`);
      assert.ok(lastIndex < firstImage, `events ${store.events.join(', ')} (QUIVER_SEED=${SEED})`);
    } finally {
      await cold.close();
    }
  });
});
