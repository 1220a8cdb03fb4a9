import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const png = (color: string) => sharp({ create: { width: 4, height: 4, channels: 3, background: color } }).png().toBuffer();

describe('Dataset.diff', () => {
  it('returns old and new values of changed large columns with largeValues, and only flags them without', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { prompt: 'text', image: 'image', emb: 'emb-2', rating: 'int' } });
    const red = await png('red');
    const blue = await png('blue');
    const { rowIds } = await ds.append([{ prompt: 'a', image: red, emb: [1, 0], rating: 1 }, { prompt: 'b', image: red, emb: [0, 1], rating: 2 }]);
    const v1 = await ds.commit('v1');
    await ds.update({ rowIds: [rowIds[0]], set: { image: blue, rating: 5 } });
    const v2 = await ds.commit('v2');

    const plain = await ds.diff(v1.id, v2.id);
    const [row] = await collect(plain.rows());
    assert.equal(row.rowId, rowIds[0]);
    assert.deepEqual(row.columns?.rating, { old: 1, new: 5 });
    assert.deepEqual(row.columns?.image, { old: undefined, new: undefined, large: true });

    const full = await ds.diff(v1.id, v2.id, { largeValues: true });
    const [r2] = await collect(full.rows());
    assert.deepEqual([...(r2.columns!.image.old as Uint8Array)], [...red]);
    assert.deepEqual([...(r2.columns!.image.new as Uint8Array)], [...blue]);
    assert.equal(full.counts.changed, 1);
    await ds.close();
  });
});
