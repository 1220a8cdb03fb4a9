import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMetadata, emptyManifest, encodeMetadata, readCommit, readManifest, writeCommit, writeManifest } from '../../src/format/index.js';
import { readContentAddressed, writeContentAddressed } from '../../src/format/metadata.js';
import { MemoryStore } from '../../src/storage/index.js';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';

describe('metadata envelopes', () => {
  it('refuse a body that is not JSON (a circular commit meta) with invalid_input, not a TypeError', async () => {
    const meta: Record<string, unknown> = { source: 'x' };
    meta.self = meta;
    assert.throws(() => encodeMetadata('commit', { message: 'm', meta }), (e) => isQuiverError(e, 'invalid_input') && /^format: a commit must be JSON; Converting circular structure to JSON/.test((e as Error).message));
    const ds = await quiver.create(new MemoryStore(), { schema: { a: 'int' } });
    await ds.append({ a: 1 });
    await assert.rejects(ds.commit('circular', { meta }), (e) => isQuiverError(e, 'invalid_input'));
    // Nothing was published, and the handle still commits the staged row.
    assert.equal((await ds.commit('plain')).stats.rowsAdded, 1);
    assert.deepEqual(await ds.query('select a from dataset'), [{ a: 1 }]);
    await ds.close();
  });

  it('round-trip their body', () => {
    const { bytes } = encodeMetadata('manifest', { a: 1, b: [1n, 'x'] });
    assert.deepEqual(decodeMetadata('manifest', 'k', bytes).body, { a: 1, b: ['1', 'x'] });
  });

  it('detect truncation, bit flips and the wrong kind as corrupt', () => {
    const { bytes } = encodeMetadata('commit', { message: 'hello' });
    const flipped = bytes.slice();
    flipped[flipped.length - 5] ^= 1;
    for (const b of [bytes.subarray(0, bytes.length - 10), flipped]) {
      assert.throws(() => decodeMetadata('commit', 'k', b), (e) => isQuiverError(e, 'corrupt'));
    }
    assert.throws(() => decodeMetadata('manifest', 'k', bytes), (e) => isQuiverError(e, 'corrupt'));
  });

  it('refuses a commit whose content does not match its id', async () => {
    const s = new MemoryStore();
    const c = await writeCommit(s, { manifest: 'm', parents: [], message: 'x', time: '2026-01-01T00:00:00Z', operation: 'create', stats: { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, rows: 0, bytesWritten: 0 } });
    const other = encodeMetadata('commit', { manifest: 'm2', parents: [], message: 'y' }).bytes;
    await s.put(`meta/commits/${c.id}.json`, other);
    await assert.rejects(readCommit(s, c.id), (e) => isQuiverError(e, 'corrupt'));
  });

  it('counts an existing content-addressed object as present only if it verifies', async () => {
    const s = new MemoryStore();
    const body = { message: 'hello' };
    const { bytes, sha } = encodeMetadata('commit', body);
    const key = `meta/commits/${sha.slice(0, 32)}.json`;
    // What a full disk or a crash of an older version left: the object's first bytes only.
    await s.put(key, bytes.subarray(0, 20));
    const id = await writeContentAddressed(s, 'commit', (i) => `meta/commits/${i}.json`, body);
    assert.deepEqual(await readContentAddressed(s, 'commit', key, id), body);
  });

  it('writes a new manifest object for every write of the same manifest', async () => {
    const s = new MemoryStore();
    const m = emptyManifest([]);
    const [a, b] = [await writeManifest(s, m), await writeManifest(s, m)];
    assert.notEqual(a, b);
    assert.deepEqual((await readManifest(s, a)).fragments, (await readManifest(s, b)).fragments);
  });
});
