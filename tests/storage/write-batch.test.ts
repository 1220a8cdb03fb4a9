// WriteBatch: put-if-absent writes wait for flush and then go out together; nothing held is
// readable through the batch, and other puts flush what is held first, keeping their order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, WriteBatch } from '../../src/storage/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('WriteBatch', () => {
  it('holds put-if-absent writes until flush, then writes them all', async () => {
    const inner = new MemoryStore();
    const batch = new WriteBatch(inner);
    await batch.put('data/a', bytes('a'), { ifAbsent: true });
    await batch.put('data/b', [bytes('b'), bytes('c')], { ifAbsent: true });
    assert.equal(await inner.head('data/a'), null);
    assert.deepEqual(batch.heldKeys, ['data/a', 'data/b']);
    await batch.flush();
    assert.deepEqual(new TextDecoder().decode(await inner.get('data/b')), 'bc');
    assert.deepEqual(batch.heldKeys, []);
  });

  it('refuses to read a key it holds', async () => {
    const batch = new WriteBatch(new MemoryStore());
    await batch.put('data/a', bytes('a'), { ifAbsent: true });
    await assert.rejects(batch.get('data/a'), /read before its write was flushed/);
  });

  it('flushes what it holds before a put that is not put-if-absent', async () => {
    const inner = new MemoryStore();
    const batch = new WriteBatch(inner);
    await batch.put('data/a', bytes('a'), { ifAbsent: true });
    await batch.put('refs/heads/main', bytes('r'));
    assert.ok(await inner.head('data/a'));
  });

  it('fails the flush when a held key exists already', async () => {
    const inner = new MemoryStore();
    await inner.put('data/a', bytes('old'));
    const batch = new WriteBatch(inner);
    await batch.put('data/a', bytes('a'), { ifAbsent: true });
    await assert.rejects(batch.flush(), (e: Error & { code?: string }) => e.code === 'conflict');
  });
});
