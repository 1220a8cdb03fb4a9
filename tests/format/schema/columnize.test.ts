import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { columnize, parseSchema, readImageHeader } from '../../../src/format/index.js';
import { isQuiverError } from '../../../src/errors.js';

const schema = parseSchema({ prompt: 'text!', image: 'image', emb: 'emb-3', rating: 'int', tags: 'list<text>', big: 'int64' });
const png = await sharp({ create: { width: 5, height: 3, channels: 3, background: 'blue' } }).png().toBuffer();
const ids = (n: number) => new BigInt64Array(n);

describe('columnize', () => {
  it('splits small and large columns and records image metadata', () => {
    const b = columnize(schema, [{ prompt: 'p', image: png, emb: [1, 2, 3], rating: 4, tags: ['a'], big: 2n ** 40n }], ids(1));
    assert.deepEqual(b.scalar.map((c) => c.name), ['row_id', 'prompt', 'image_format', 'image_width', 'image_height', 'rating', 'tags', 'big']);
    assert.deepEqual([...b.large.keys()], ['image', 'emb']);
    assert.deepEqual(b.scalar.slice(2, 5).map((c) => c.values[0]), ['png', 5, 3]);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a missing required column', { image: png }, /row 0, column "prompt" is required but missing/],
    ['a wrong type', { prompt: 'p', rating: 'five' }, /row 0, column "rating" expects int32, got "five"/],
    ['an embedding of the wrong length', { prompt: 'p', emb: [1, 2] }, /expects 3 floats, got 2/],
    ['an embedding with NaN', { prompt: 'p', emb: [1, NaN, 2] }, /non-finite value \(NaN\) at position 1/],
    ['bytes that are not an image', { prompt: 'p', image: new Uint8Array([1, 2, 3, 4]) }, /expects PNG, JPEG, WebP or GIF bytes/],
    ['an unknown column', { prompt: 'p', colour: 'red' }, /unknown column "colour"/],
    ['an int out of range', { prompt: 'p', rating: 2 ** 40 }, /expects int32/],
  ];
  for (const [what, rec, msg] of bad) {
    it(`refuses ${what} with a schema_mismatch naming row and column`, () => {
      assert.throws(() => columnize(schema, [{ prompt: 'ok' }, rec], ids(2)), (e) => isQuiverError(e, 'schema_mismatch') && msg.test((e as Error).message.replace('row 1', 'row 0')));
    });
  }
});

describe('readImageHeader', () => {
  it('reads format and size of PNG, JPEG, WebP and GIF', async () => {
    const base = sharp({ create: { width: 33, height: 17, channels: 3, background: 'red' } });
    for (const [fmt, buf] of [
      ['png', await base.clone().png().toBuffer()],
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['webp', await base.clone().webp().toBuffer()],
      ['webp', await base.clone().webp({ lossless: true }).toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
    ] as const) {
      assert.deepEqual(readImageHeader(buf), { format: fmt, width: 33, height: 17 }, fmt);
    }
    assert.equal(readImageHeader(new Uint8Array(40)), null);
  });
});
