import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { columnize, imageDefect, parseSchema, readImageHeader, VALUE_BYTES_MAX } from '../../../src/format/index.js';
import { prng } from '../../helpers/tmp.js';
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

describe('columnize value checks', () => {
  const all = parseSchema({ s: 'text', j: 'json', b: 'bool', i8: 'int8', i32: 'int', u32: 'uint32', i64: 'int64', u64: 'uint64', f32: 'float32', f64: 'float64', ts: 'timestamp', bin: 'binary', img: 'image', e: 'emb-2', l: 'list<float32>', t: 'list<text>' });
  const refuse = (rec: Record<string, unknown>, msg: RegExp, limits?: { valueBytesMax: number }) =>
    assert.throws(
      () => columnize(all, [rec], ids(1), limits),
      (e) => isQuiverError(e, 'schema_mismatch') && msg.test((e as Error).message),
    );

  it('names the JS type of every refused value, for every column type', () => {
    const wrong: [string, unknown, RegExp][] = [
      ['s', 5, /column "s" expects text, got 5 \(number\)$/],
      ['j', 1n, /column "j" expects a JSON value, got 1n \(bigint\)$/],
      ['b', 'yes', /column "b" expects bool, got "yes" \(string\)$/],
      ['i8', 300, /column "i8" expects int8 \(-128\.\.127\), got 300 \(number\)$/],
      ['i32', 3.5, /column "i32" expects int32, got 3\.5 \(number\)$/],
      ['i32', 2n ** 40n, /column "i32" expects int32 \(-2147483648\.\.2147483647\), got 1099511627776n \(bigint\)$/],
      ['u32', -1n, /column "u32" expects uint32 \(0\.\.4294967295\), got -1n \(bigint\)$/],
      ['i64', 2 ** 60, /column "i64" expects int64, got 1152921504606847000 \(number, not a safe integer: pass a bigint\)$/],
      ['u64', 2n ** 64n, /column "u64" expects uint64 \(0\.\.18446744073709551615\), got 18446744073709551616n \(bigint\)$/],
      ['f32', '1.5', /column "f32" expects float32, got "1\.5" \(string\)$/],
      ['f64', 2n, /column "f64" expects float64, got 2n \(bigint\)$/],
      ['ts', true, /column "ts" expects a timestamp \(Date, epoch ms or ISO string\), got true \(boolean\)$/],
      ['bin', 'abc', /column "bin" expects binary \(Uint8Array\), got "abc" \(string\)$/],
      ['img', [1, 2], /column "img" expects image bytes \(Uint8Array\), got an array of 2 \(Array\)$/],
      ['e', { x: 1 }, /column "e" expects embedding\(2\), got an object \(Object\)$/],
      ['l', 'abc', /column "l" expects list<float32>, got "abc" \(string\)$/],
    ];
    for (const [column, v, msg] of wrong) refuse({ [column]: v }, msg);
  });

  it('refuses an embedding given as strings, naming the column and position', () => {
    refuse({ e: ['1', '2'] }, /row 0, column "e" expects a number at position 0, got "1" \(string\)$/);
    refuse({ e: [1, 2n] }, /row 0, column "e" expects a number at position 1, got 2n \(bigint\)$/);
  });

  it('accepts bigints that fit a 32-bit or smaller integer column and stores them as numbers', () => {
    const b = columnize(all, [{ i32: 3n, i8: -128n, u32: 4294967295n }], ids(1));
    const col = (name: string) => b.scalar.find((c) => c.name === name)!.values[0];
    assert.deepEqual([col('i32'), col('i8'), col('u32')], [3, -128, 4294967295]);
  });

  it('refuses float32 values that overflow to Infinity, in scalars, lists and embeddings alike', () => {
    refuse({ f32: 1e39 }, /column "f32" expects float32 \(a finite value must stay within ±3\.4028234663852886e\+38\), got 1e\+39 \(number\)$/);
    refuse({ l: [1, -1e39] }, /column "l" expects float32 .*, got -1e\+39 \(number\)$/);
    refuse({ e: [1e39, 0] }, /column "e" has a value out of float32 range \(1e\+39\) at position 0$/);
    const b = columnize(all, [{ f32: 3.4e38, f64: 1e39 }], ids(1));
    assert.equal(b.scalar.find((c) => c.name === 'f32')!.values[0], 3.4e38);
  });

  it('refuses a text, binary or image value, or a list, above valueBytesMax', () => {
    refuse({ s: 'x'.repeat(11) }, /row 0, column "s" holds 11 bytes, above valueBytesMax \(10 bytes\)$/, { valueBytesMax: 10 });
    refuse({ s: 'é'.repeat(6) }, /column "s" holds 12 bytes/, { valueBytesMax: 10 });
    refuse({ bin: new Uint8Array(11) }, /column "bin" holds 11 bytes/, { valueBytesMax: 10 });
    refuse({ j: { a: 'xxxxxxxxxx' } }, /column "j" holds 18 bytes/, { valueBytesMax: 10 });
    refuse({ t: ['éé', 'éé', 'é'] }, /column "t" holds 10 bytes, above valueBytesMax \(9 bytes\)$/, { valueBytesMax: 9 });
    assert.equal(columnize(all, [{ t: ['éé', 'éé', 'é'] }], ids(1), { valueBytesMax: 10 }).rows, 1);
    assert.equal(columnize(all, [{ s: 'x'.repeat(10), bin: new Uint8Array(10) }], ids(1), { valueBytesMax: 10 }).rows, 1);
  });

  it('bounds values by default at 1 GiB, below the 2 GiB Parquet page DuckDB can read', () => {
    assert.equal(VALUE_BYTES_MAX, 2 ** 30);
    // Zero-filled typed arrays are allocated lazily, so this costs no real gigabyte.
    refuse({ bin: new Uint8Array(VALUE_BYTES_MAX + 1) }, /holds 1073741825 bytes, above valueBytesMax \(1073741824 bytes\)$/);
  });
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

describe('imageDefect', () => {
  const SEED = Number(process.env.QUIVER_SEED ?? 7);
  const base = sharp({ create: { width: 33, height: 17, channels: 3, background: 'red' } });
  const images = async () =>
    [
      ['png', await base.clone().png().toBuffer()],
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['jpeg', await base.clone().jpeg({ progressive: true }).toBuffer()],
      ['webp', await base.clone().webp().toBuffer()],
      ['webp', await base.clone().webp({ lossless: true }).toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
    ] as const;

  it('finds nothing wrong with whole images of every format', async () => {
    for (const [fmt, buf] of await images()) assert.equal(imageDefect(buf, fmt), null, fmt);
  });

  it('finds every truncation, wherever it cuts, in every format', async () => {
    const random = prng(SEED);
    for (const [fmt, buf] of await images()) {
      for (let i = 0; i < 20; i++) {
        const cut = 30 + Math.floor(random() * (buf.length - 31));
        assert.notEqual(imageDefect(buf.subarray(0, cut), fmt), null, `seed ${SEED}: ${fmt} cut at ${cut} of ${buf.length}`);
      }
      assert.notEqual(imageDefect(buf.subarray(0, 30), fmt), null, `${fmt}: first 30 bytes`);
    }
  });

  // WebP carries no checksum: garbage inside its VP8/VP8L bitstream keeps the RIFF structure
  // whole, and only a decode would find it (docs/datasets.md says so).
  it('finds a valid PNG, GIF or JPEG header followed by garbage', async () => {
    const random = prng(SEED + 1);
    for (const [fmt, buf] of (await images()).filter(([f]) => f !== 'webp')) {
      const garbage = Uint8Array.from(buf);
      // Keep the header whole: for a JPEG that is every segment up to its first scan.
      const from = fmt === 'jpeg' ? buf.indexOf(Buffer.from([0xff, 0xda])) + 12 : 40;
      for (let i = from; i < garbage.length; i++) garbage[i] = Math.floor(random() * 256);
      assert.ok(readImageHeader(garbage), fmt);
      assert.notEqual(imageDefect(garbage, fmt), null, `seed ${SEED}: ${fmt}`);
    }
  });

  it('makes an append refuse a broken image, saying why', async () => {
    const png = await base.clone().png().toBuffer();
    assert.throws(
      () => columnize(schema, [{ prompt: 'p', image: png.subarray(0, 30) }], ids(1)),
      (e) => isQuiverError(e, 'schema_mismatch') && /row 0, column "image" expects PNG, JPEG, WebP or GIF bytes, got 30 bytes of a broken png: /.test((e as Error).message),
    );
  });
});
