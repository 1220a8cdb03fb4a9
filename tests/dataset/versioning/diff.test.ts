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

describe('Dataset.diff tables', () => {
  it('keeps the rows of the last 8 diffs of a handle and says so of an older one, instead of holding every diff ever made', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { prompt: 'text' } });
    await ds.append([{ prompt: 'a' }]);
    const v1 = await ds.commit('v1');
    await ds.append([{ prompt: 'b' }]);
    const v2 = await ds.commit('v2');
    const diffs = [];
    for (let i = 0; i < 9; i++) diffs.push(await ds.diff(v1.id, v2.id));
    await assert.rejects(collect(diffs[0].rows()), (e: unknown) => quiver.isQuiverError(e, 'closed'));
    for (const d of diffs.slice(1)) assert.equal((await collect(d.rows())).length, 1);
    // The tables live in the writer's session, which queries (read lanes) do not see: count them
    // by rows() — the 8 newest answer, and a 10th diff releases the 2nd.
    await ds.diff(v1.id, v2.id);
    await assert.rejects(collect(diffs[1].rows()), (e: unknown) => quiver.isQuiverError(e, 'closed'));
    await ds.close();
  });
});
