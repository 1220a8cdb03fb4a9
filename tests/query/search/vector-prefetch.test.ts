// The order a cold filtered search asks the store for its files: the vector index's download
// starts before the filter's files are fetched, so the two overlap instead of queueing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { ForwardingStore } from '../../../src/storage/forwarding-store.js';
import { MemoryStore, type ByteRange } from '../../../src/storage/index.js';
import { prng } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);

/** A real store that records the keys of its gets in the order they were asked for. */
class GetOrder extends ForwardingStore {
  readonly asked: string[] = [];
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.asked.push(key);
    return this.inner.get(key, range);
  }
}

describe('vector search prefetch', () => {
  it('asks for the vector index before the files the filter reads, on a cold handle', async () => {
    const rand = prng(SEED);
    const vec = () => Float32Array.from({ length: 16 }, () => rand() - 0.5);
    const store = new GetOrder(new MemoryStore(`memory://vector-prefetch-${SEED}-${Math.random()}`));
    const ds = await quiver.create(store, { schema: { emb: 'emb-16', rating: 'int' } });
    for (let c = 0; c < 2; c++) {
      await ds.append(Array.from({ length: 100 }, (_, i) => ({ emb: vec(), rating: i % 5 })));
      await ds.commit(`batch ${c}`);
    }
    await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
    await ds.close();
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
});
