// ds.stream() over a real dataset: the rows of the pinned version that pass `where`, once per
// epoch across ranks and workers, in an order that does not depend on them, resumable from a
// cursor, images decoded to the asked shape, bad inputs refused before anything streams.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { CountingStore, LocalStore } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drain, imageDataset, numbers, pngOf, recordOf } from './fixture.js';

const FRAGMENTS = 3;
const ROWS = 40; // per fragment: 120 rows, numbered 0..119
let ds: quiver.Dataset;

before(async () => {
  ds = await imageDataset(tempDir('quiver-stream-'), FRAGMENTS, ROWS);
});
after(() => ds.close());

const base = { columns: ['prompt', 'rating'], batchRows: 7, shuffle: { seed: 7, blockRows: 5, windowBlocks: 3 } } as const;

describe('Dataset.stream', () => {
  it('yields every row passing where exactly once across ranks and workers, with equal batch counts per rank', async () => {
    const expected = Array.from({ length: FRAGMENTS * ROWS }, (_, n) => n).filter((n) => n % 5 >= 2);
    for (const remainder of ['pad', 'drop'] as const) {
      const seen: number[] = [];
      const perRank: number[] = [];
      for (let rank = 0; rank < 3; rank++) {
        let n = 0;
        for (let worker = 0; worker < 2; worker++) {
          for (const b of await drain(ds.stream({ ...base, where: 'rating >= 2', remainder, shard: { rank, worldSize: 3, worker, workers: 2 } }))) {
            n++;
            seen.push(...numbers(b));
            assert.equal(b.rows, 7);
          }
        }
        perRank.push(n);
      }
      assert.ok(perRank.every((n) => n === perRank[0]), `${remainder}: ranks got ${perRank}`);
      const distinct = [...new Set(seen)].sort((a, b) => a - b);
      if (remainder === 'pad') assert.deepEqual(distinct, expected);
      else assert.equal(distinct.length, seen.length);
      assert.ok(Math.abs(seen.length - expected.length) < 7 * 3, remainder);
    }
  });

  it('orders rows the same whatever the world size, and differently per epoch', async () => {
    const sequence = async (worldSize: number, epoch = 0) => {
      const byIndex = new Map<number, number[]>();
      for (let rank = 0; rank < worldSize; rank++) for (const b of await drain(ds.stream({ ...base, epoch, remainder: 'drop', shard: { rank, worldSize } }))) byIndex.set(b.index, numbers(b));
      return [...byIndex.keys()].sort((a, b) => a - b).flatMap((k) => byIndex.get(k)!);
    };
    const one = await sequence(1);
    const four = await sequence(4);
    assert.deepEqual(four, one.slice(0, four.length));
    assert.notDeepEqual(await sequence(1, 1), one);
    assert.notDeepEqual(one, [...one].sort((a, b) => a - b), 'shuffled');
  });

  it('resumes from a cursor with exactly the batches not yet yielded, in the same order', async () => {
    const opts = { ...base, shard: { rank: 1, worldSize: 2 } };
    const all = (await drain(ds.stream(opts))).map(numbers);
    const s = ds.stream(opts);
    const firstPart: number[][] = [];
    for await (const b of s) {
      firstPart.push(numbers(b));
      if (firstPart.length === 3) break;
    }
    const cursor = JSON.parse(JSON.stringify(s.state()));
    const rest = (await drain(ds.stream({ ...opts, resume: cursor }))).map(numbers);
    assert.deepEqual([...firstPart, ...rest], all);
  });

  it('resumes a rank read round-robin from its workers: every worker continues from the last consumed batch', async () => {
    const opts = (worker: number, resume?: quiver.StreamCursor) => ({ ...base, shard: { rank: 0, worldSize: 2, worker, workers: 2 }, ...(resume ? { resume: { ...resume, worker } } : {}) });
    const roundRobin = async (streams: quiver.Stream[], stopAfter = Infinity) => {
      const its = streams.map((s) => s[Symbol.asyncIterator]());
      const out: { b: quiver.StreamBatch; s: quiver.Stream }[] = [];
      for (let i = 0, done = 0; done < its.length && out.length < stopAfter; i++) {
        const n = await its[i % its.length].next();
        if (n.done) done++;
        else out.push({ b: n.value, s: streams[i % its.length] });
      }
      return out;
    };
    const all = (await roundRobin([ds.stream(opts(0)), ds.stream(opts(1))])).map((x) => x.b.index);
    const first = await roundRobin([ds.stream(opts(0)), ds.stream(opts(1))], 3);
    const cursor = first.at(-1)!.s.state();
    const rest = (await roundRobin([ds.stream(opts(0, cursor)), ds.stream(opts(1, cursor))])).map((x) => x.b.index);
    assert.deepEqual([...first.map((x) => x.b.index), ...rest], all);
  });

  it('pins the version it starts at while writers commit', async () => {
    const dir = tempDir('quiver-stream-pin-');
    const w = await imageDataset(dir, 1, 10);
    try {
      const s = w.stream({ columns: ['prompt'], batchRows: 1 });
      await w.append([await recordOf(99, new Set())]);
      await w.commit('one more');
      await w.delete({ where: 'rating = 0' });
      await w.commit('one less');
      assert.deepEqual((await drain(s)).flatMap(numbers).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const later = (await drain(w.stream({ columns: ['prompt'], batchRows: 1 }))).flatMap(numbers).sort((a, b) => a - b);
      assert.deepEqual(later, [1, 2, 3, 4, 6, 7, 8, 9, 99]);
    } finally {
      await w.close();
    }
  });

  it('streams an updated row once, with its new values', async () => {
    const w = await imageDataset(tempDir('quiver-stream-upd-'), 2, 5);
    try {
      await w.update({ where: 'rating = 1', set: { prompt: 'p1000' } });
      await w.commit('rename');
      const got = (await drain(w.stream({ columns: ['prompt', 'image'], batchRows: 1 }))).flatMap(numbers).sort((a, b) => a - b);
      assert.deepEqual(got, [0, 2, 3, 4, 5, 7, 8, 9, 1000, 1000]);
    } finally {
      await w.close();
    }
  });

  it('streams a row whose image was updated with the new image, and a compacted version the same rows', async () => {
    const w = await imageDataset(tempDir('quiver-stream-img-'), 3, 4);
    try {
      await w.update({ where: "prompt = 'p5'", set: { image: await pngOf(77) } });
      await w.commit('new image for p5');
      const red = async () => {
        const out = new Map<number, number>();
        for (const b of await drain(w.stream({ columns: ['image', 'prompt'], batchRows: 1, decode: { image: { width: 2, height: 2 } } }))) {
          const img = b.columns.image;
          assert.ok(img.kind === 'tensor');
          out.set(numbers(b)[0], Number(img.data[0]));
        }
        return out;
      };
      const before = await red();
      assert.equal(before.size, 12);
      assert.equal(before.get(5), 77);
      assert.equal(before.get(6), 6);
      await w.compact();
      assert.deepEqual(await red(), before);
    } finally {
      await w.close();
    }
  });

  it('evaluates where before reading media: only the selected rows\' image pages are fetched', async () => {
    const dir = tempDir('quiver-stream-count-');
    // Noise images of about 40 KB: a media page (64 KiB) holds one or two of them.
    const noisy = (n: number) => sharp({ create: { width: 120, height: 110, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
    const w = await quiver.create(dir, { schema: { image: 'image', prompt: 'text' } });
    await w.append(await Promise.all(Array.from({ length: 20 }, async (_, n) => ({ image: new Uint8Array(await noisy(n)), prompt: `p${n}` }))));
    await w.commit('noise');
    await w.close();
    const counting = new CountingStore(new LocalStore(dir));
    const r = await quiver.open(counting);
    try {
      const imageBytes = () => [...counting.keysRead].filter(([k]) => k.endsWith('.image.parquet')).reduce((n, [, b]) => n + b, 0);
      counting.keysRead.clear();
      await drain(r.stream({ columns: ['image'], where: 'prompt = \'p3\'' }));
      const one = imageBytes();
      counting.keysRead.clear();
      await drain(r.stream({ columns: ['image'] }));
      const all = imageBytes();
      assert.ok(one * 5 < all && one > 0, `one row read ${one} image bytes, all rows ${all}`);
      counting.keysRead.clear();
      await drain(r.stream({ columns: ['prompt'] }));
      assert.equal(imageBytes(), 0, 'a stream without the image column reads no image file');
    } finally {
      await r.close();
    }
  });

  it('reads at most prefetchBatches batches ahead of a consumer that holds one', async () => {
    const dir = tempDir('quiver-stream-ahead-');
    (await imageDataset(dir, 1, 30)).close();
    const counting = new CountingStore(new LocalStore(dir));
    const r = await quiver.open(counting);
    try {
      for (const prefetchBatches of [1, 3]) {
        const s = r.stream({ columns: ['image'], batchRows: 1, prefetchBatches });
        await s.info(); // selects and locates the rows: what follows reads only image pages
        counting.reset();
        const it = s[Symbol.asyncIterator]();
        await it.next();
        // However long the consumer holds its batch, the stream reads no further ahead (one page per batch here).
        for (let i = 0; i < 50; i++) await new Promise((done) => setImmediate(done));
        assert.ok(counting.counts.gets >= 1 && counting.counts.gets <= 1 + prefetchBatches, `prefetch ${prefetchBatches}: ${counting.counts.gets} reads`);
        await it.return!();
      }
    } finally {
      await r.close();
    }
  });

  it('decodes read-ahead batches in turn and builds none after the consumer stops', async () => {
    const dir = tempDir('quiver-stream-turn-');
    (await imageDataset(dir, 1, 30)).close();
    const r = await quiver.open(dir);
    try {
      const decode = { image: { width: 4, height: 4 } };
      const held = r.stream({ columns: ['image'], batchRows: 1, prefetchBatches: 3, decode });
      const it = held[Symbol.asyncIterator]();
      await it.next();
      // A consumer holding its batch still gets the read-ahead built: batch 0 and the 3 ahead
      // (waited for however long the machine takes; the test's own timeout ends a hang).
      while (held.stats.built < 4) await new Promise((done) => setTimeout(done, 5));
      assert.equal(held.stats.built, 4);
      await it.return!();

      const stopped = r.stream({ columns: ['image'], batchRows: 1, prefetchBatches: 3, decode });
      const it2 = stopped[Symbol.asyncIterator]();
      await it2.next();
      await it2.return!();
      // Built so far: batch 0, and at most the one whose turn had come; the 2 still queued never are.
      // Give a wrong build of them time to show (a short wait can only make this pass more easily).
      for (let i = 0; i < 100 && stopped.stats.built < 4; i++) await new Promise((done) => setTimeout(done, 5));
      assert.ok(stopped.stats.built <= 2, `${stopped.stats.built} batches built after the consumer stopped at the first`);
    } finally {
      await r.close();
    }
  });

  it('decodes images to the asked shape, layout and dtype', async () => {
    const [b] = await drain(ds.stream({ columns: ['image', 'prompt'], batchRows: 4, decode: { image: { width: 6, height: 5 } } }));
    const img = b.columns.image;
    assert.ok(img.kind === 'tensor' && img.data instanceof Uint8Array);
    assert.deepEqual(img.shape, [4, 5, 6, 3]);
    numbers(b).forEach((n, i) => assert.deepEqual([...img.data.subarray(i * 90, i * 90 + 3)], [n % 256, 0, 200]));
    const [c] = await drain(ds.stream({ columns: ['image', 'prompt'], batchRows: 4, decode: { image: { width: 6, height: 5, layout: 'chw', dtype: 'float32' } } }));
    const chw = c.columns.image;
    assert.ok(chw.kind === 'tensor' && chw.data instanceof Float32Array);
    assert.deepEqual(chw.shape, [4, 3, 5, 6]);
    const px = chw.data;
    numbers(c).forEach((n, i) => {
      assert.ok(Math.abs(px[i * 90] - (n % 256) / 255) < 1e-6);
      assert.ok(Math.abs(px[i * 90 + 60] - 200 / 255) < 1e-6, 'the third plane is blue');
    });
  });

  it('skips undecodable images with a count, or fails naming the row id', async () => {
    const w = await imageDataset(tempDir('quiver-stream-bad-'), 1, 10, new Set([3, 7]));
    try {
      const decode = { image: { width: 4, height: 4 } };
      const s = w.stream({ columns: ['image', 'prompt'], batchRows: 5, decode, onUndecodable: 'skip' });
      const batches = await drain(s);
      assert.deepEqual(batches.flatMap(numbers), [0, 1, 2, 4, 5, 6, 8, 9]);
      for (const b of batches) {
        const img = b.columns.image;
        assert.ok(img.kind === 'tensor');
        assert.deepEqual(img.shape, [b.rows, 4, 4, 3]);
        numbers(b).forEach((n, i) => assert.equal(img.data[i * 48], n, 'the kept images keep their own pixels'));
      }
      assert.equal(s.stats.skipped, 2);
      const ids = (await w.query("select row_id from dataset where prompt = 'p3'"))[0].row_id;
      await assert.rejects(drain(w.stream({ columns: ['image'], decode })), (e: unknown) => quiver.isQuiverError(e, 'corrupt') && e.message.includes(`row id ${ids}`));
    } finally {
      await w.close();
    }
  });

  it('lowers rows per batch so a batch fits batchBytesMax', async () => {
    const s = ds.stream({ columns: ['image'], batchRows: 64, batchBytesMax: 224 * 224 * 3 * 10, decode: { image: { width: 224, height: 224 } } });
    assert.equal(s.batchRows, 9); // 10 images' pixels minus the row ids and validity
    const [b] = await drain(s);
    assert.equal(b.rows, 9);
  });

  it('refuses bad inputs with typed errors before anything streams', async () => {
    const code = (c: quiver.ErrorCode) => (e: unknown) => quiver.isQuiverError(e, c);
    assert.throws(() => ds.stream({ columns: ['nope'] }), code('not_found'));
    assert.equal(ds.stream({ columns: ['row_id', 'rating'] }).state().columns.join(), 'rating', 'row_id is always there');
    assert.throws(() => ds.stream({ columns: [] }), code('invalid_input'));
    assert.throws(() => ds.stream({ shard: { rank: 3, worldSize: 3 } }), code('invalid_input'));
    assert.throws(() => ds.stream({ shard: { rank: 0, worldSize: 2, worker: 2, workers: 2 } }), code('invalid_input'));
    assert.throws(() => ds.stream({ columns: ['rating'], decode: { rating: { width: 4, height: 4 } } }), code('invalid_input'));
    assert.throws(() => ds.stream({ columns: ['image'], decode: { image: { width: 0, height: 4 } } }), code('invalid_input'));
    assert.throws(() => ds.stream({ columns: ['image'], decode: { image: { width: 4, height: 4, fit: 'inside' as 'cover' } } }), code('invalid_input'));
    const cursor = ds.stream(base).state();
    assert.throws(() => ds.stream({ ...base, shuffle: { ...base.shuffle, seed: 8 }, resume: cursor }), code('invalid_input'));
    assert.throws(() => ds.stream({ ...base, resume: { ...cursor, version: 'f'.repeat(32) } }), code('invalid_input'));
    assert.throws(() => ds.stream({ ...base, batchRows: 8, resume: cursor }), code('invalid_input'));
    const badWhere = ds.stream({ ...base, where: 'rating >>>= 2' });
    await assert.rejects(drain(badWhere), code('invalid_sql'));
    await assert.rejects(drain(ds.stream({ ...base, where: 'prompt' })), code('invalid_sql'));
  });
});
