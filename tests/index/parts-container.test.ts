// The parts container (codec.ts): a header larger than the first read, parts past it, only the
// wanted parts fetched and each checked on its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePartsContainer, PARTS_HEAD_GUESS_BYTES, readPartsContainer } from '../../src/index/codec.js';
import { isQuiverError } from '../../src/errors.js';

const bytesOf = (pieces: Uint8Array[]) => new Uint8Array(Buffer.concat(pieces));

function reader(bytes: Uint8Array) {
  const asked: { offset: number; length: number }[] = [];
  const get = async (r?: { offset: number; length: number }) => {
    const range = r ?? { offset: 0, length: bytes.length };
    asked.push(range);
    return bytes.slice(range.offset, range.offset + range.length);
  };
  return { get, asked };
}

describe('parts container', () => {
  it('reads a header longer than the first read, then the wanted parts in one more read', async () => {
    const a = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const b = Float64Array.from({ length: 5_000 }, (_, i) => i / 3);
    const c = Int32Array.from({ length: 9 }, (_, i) => -i);
    const bytes = bytesOf(encodePartsContainer('TEST', 1, { note: 'x'.repeat(PARTS_HEAD_GUESS_BYTES + 10) }, { a, b, c }));
    const { get, asked } = reader(bytes);
    const got = await readPartsContainer(get, 'TEST', [1], 'test file', (n) => n !== 'a');
    assert.equal((got.header as { note: string }).note.length, PARTS_HEAD_GUESS_BYTES + 10);
    assert.deepEqual(new Float64Array(got.got.get('b')!.buffer), b);
    assert.deepEqual(new Int32Array(got.got.get('c')!.buffer), c);
    assert.equal(got.got.has('a'), false);
    assert.equal(asked.length, 3, JSON.stringify(asked));
    // The unwanted first part is not fetched: the last read starts at b.
    assert.equal(asked[2].offset, got.parts.find((p) => p.name === 'b')!.offset);
  });

  it('refuses a damaged wanted part but not a damaged unwanted one', async () => {
    const bytes = bytesOf(encodePartsContainer('TEST', 1, {}, { a: Uint8Array.of(1, 2, 3), b: Uint8Array.of(4, 5, 6) }));
    const { get } = reader(bytes);
    const parts = (await readPartsContainer(get, 'TEST', [1], 'test file')).parts;
    const bad = bytes.slice();
    bad[parts[0].offset + 1] ^= 1;
    const damaged = reader(bad).get;
    await assert.rejects(readPartsContainer(damaged, 'TEST', [1], 'test file'), (e) => isQuiverError(e, 'corrupt') && /part "a" checksum mismatch/.test((e as Error).message));
    const onlyB = await readPartsContainer(damaged, 'TEST', [1], 'test file', (n) => n === 'b');
    assert.deepEqual([...onlyB.got.get('b')!], [4, 5, 6]);
    await assert.rejects(readPartsContainer(get, 'TSET', [1], 'test file'), /bad magic/);
    await assert.rejects(readPartsContainer(get, 'TEST', [2], 'test file'), /unsupported format version 1/);
  });
});
