// The persisted vector index file (format 5, the parts container every index kind uses): whole
// and by range, each part checked, the graph read only when a plan walks it; files of formats 4
// (a SHA-256 per part) and 3 (one SHA-256 over the whole file) written earlier still read.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { vectors } from '../../../bench/lib/datagen.js';
import { decodePartsHeader } from '../../../src/index/codec.js';
import { VectorIndex, type VectorPlan } from '../../../src/index/index.js';
import { INDEX_HEAD_GUESS_BYTES, decodeVectorIndexFile, encodeVectorIndexFile, loadVectorIndex, readGraphPart, readVectorIndexFile } from '../../../src/index/vector/index-file.js';
import type { ByteRange } from '../../../src/storage/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 4);
const N = 600;
const DIM = 16;
const KEY = 'index/test.qvix';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** An index over N clustered vectors and its file bytes. */
function fixture() {
  const data = vectors('clustered', N, DIM, SEED);
  const index = VectorIndex.build(data, DIM, { metric: 'cosine' });
  const rowIds = BigInt64Array.from({ length: N }, (_, i) => BigInt(1000 + i));
  const files = [{ key: 'data/a.emb.parquet', start: 0, rows: N }];
  return { data, index, rowIds, files, bytes: concat(encodeVectorIndexFile(index, rowIds, files)) };
}

/** Ranged reads of `bytes` (a range past the end returns what exists), each recorded. */
function rangedOf(bytes: Uint8Array) {
  const reads: ByteRange[] = [];
  const get = async (r?: ByteRange) => {
    const range = r ?? { offset: 0, length: bytes.length };
    reads.push(range);
    return bytes.slice(range.offset, Math.min(bytes.length, range.offset + range.length));
  };
  return { get, reads, read: () => reads.reduce((n, r) => n + Math.min(r.length, bytes.length - r.offset), 0) };
}

const ann: VectorPlan = { strategy: 'ann', params: { count: 64, countMax: N } };

describe('vector index file', () => {
  it('reads back whole: the same row ids, files and search answers', () => {
    const f = fixture();
    const back = decodeVectorIndexFile(f.bytes, KEY);
    assert.deepEqual(back.rowIds, f.rowIds);
    assert.deepEqual(back.files, f.files);
    const index = loadVectorIndex(back, f.data);
    assert.ok(index.hasGraph);
    const q = f.data.slice(7 * DIM, 8 * DIM);
    assert.deepEqual(index.search(q, 10, { plan: ann }).ordinals, f.index.search(q, 10, { plan: ann }).ordinals);
  });

  it('reads by range without the graph, then loads the graph on demand with the same answers', async () => {
    const f = fixture();
    const graphBytes = f.index.serializeParts({ vectors: false }).sections.graph!.length;
    const r = rangedOf(f.bytes);
    const file = await readVectorIndexFile(r.get, KEY);
    const graph = file.graphPart!;
    assert.equal(graph.bytes, graphBytes);
    // The header's read (a guess at its length) may reach into the graph; nothing after it does,
    // and nothing is read twice.
    assert.ok(r.reads.length <= 2, `reads ${JSON.stringify(r.reads)}`);
    assert.ok(r.reads.slice(1).every((x) => x.offset >= r.reads[0].length && x.offset + x.length <= graph.offset), `reads ${JSON.stringify(r.reads)}, graph at ${graph.offset}`);
    assert.ok(r.read() <= Math.max(INDEX_HEAD_GUESS_BYTES, graph.offset), `read ${r.read()} of ${f.bytes.length} bytes; the graph is ${graphBytes}`);
    const lazy = loadVectorIndex(file, null);
    assert.equal(lazy.hasGraph, false);
    const q = f.data.slice(3 * DIM, 4 * DIM);
    // The int8 scan needs no graph: its candidates equal the eager index's.
    const quant: VectorPlan = { strategy: 'quantized-gather', params: {} } as VectorPlan;
    const c = lazy.candidates(q, 10, { plan: quant })!;
    const eager = VectorIndex.deserialize(f.index.serialize(), undefined);
    const ec = eager.candidates(q, 10, { plan: quant })!;
    assert.deepEqual([...c.ordinals].sort(), [...ec.ordinals].sort());
    assert.throws(() => lazy.candidates(q, 10, { plan: ann }), /loaded without its graph/);
    lazy.loadGraph(await readGraphPart(r.get, file.graphPart!, KEY));
    assert.ok(lazy.hasGraph);
    assert.deepEqual(lazy.candidates(q, 10, { plan: ann })!.ordinals, ec.ordinals.length ? eager.candidates(q, 10, { plan: ann })!.ordinals : c.ordinals);
  });

  it('refuses a damaged header, codes or graph, each as corrupt naming the file', async () => {
    const f = fixture();
    const file = await readVectorIndexFile(rangedOf(f.bytes).get, KEY);
    const flip = (at: number) => {
      const b = f.bytes.slice();
      b[at] ^= 0x40;
      return b;
    };
    await assert.rejects(readVectorIndexFile(rangedOf(flip(20)).get, KEY), /index: index\/test\.qvix is corrupt: header checksum mismatch/);
    await assert.rejects(readVectorIndexFile(rangedOf(flip(1)).get, KEY), /index: index\/test\.qvix is corrupt: bad magic/);
    const graph = file.graphPart!;
    await assert.rejects(readGraphPart(rangedOf(flip(graph.offset + 5)).get, graph, KEY), /corrupt: part "graph" checksum mismatch/);
    // A byte in the codes: the last part before the graph.
    await assert.rejects(readVectorIndexFile(rangedOf(flip(graph.offset - 9)).get, KEY), /corrupt: part "\w+" checksum mismatch/);
    assert.throws(() => decodeVectorIndexFile(flip(graph.offset + 5), KEY), /corrupt: part "graph" checksum mismatch/);
    await assert.rejects(readVectorIndexFile(rangedOf(f.bytes.subarray(0, graph.offset - 9)).get, KEY), /corrupt/);
  });

  it('is the shared parts container: format 5, the graph its last part', () => {
    const f = fixture();
    const h = decodePartsHeader(f.bytes, 'QVIX', [5], KEY);
    assert.equal(h.version, 5);
    assert.deepEqual(h.parts.map((p) => p.name), ['rowIds', 'codes', 'graph']);
    assert.equal(h.totalBytes, f.bytes.length);
    assert.deepEqual(h.header.files, f.files);
  });

  it('refuses every flipped byte outside the padding between parts and every truncation, whole and by range', async () => {
    const f = fixture();
    const h = decodePartsHeader(f.bytes, 'QVIX', [5], KEY);
    // The zero bytes that align parts are covered by no checksum and read by no one.
    const padding = new Set<number>();
    const headerEnd = new DataView(f.bytes.buffer).getUint32(8, true) + 12 + 8;
    for (let at = headerEnd - 4; at < headerEnd; at++) padding.add(at); // after the header's CRC-32
    h.parts.forEach((p, i) => {
      const next = h.parts[i + 1]?.offset ?? p.offset + p.bytes;
      for (let at = p.offset + p.bytes; at < next; at++) padding.add(at);
    });
    // Every 7th byte and every byte of the header: each decode checks ~60 KB, all 60k flips would take a minute.
    for (let at = 0; at < f.bytes.length; at += at < headerEnd ? 1 : 7) {
      if (padding.has(at)) continue;
      const b = f.bytes.slice();
      b[at] ^= 0x01;
      // A flipped version byte names a format no reader knows: unsupported (searched exactly, rebuilt by createIndex).
      const code = at >= 4 && at < 8 ? /^(corrupt|unsupported)$/ : /^corrupt$/;
      assert.throws(() => decodeVectorIndexFile(b, KEY), (e: Error) => code.test(String((e as { code?: string }).code)), `flip at ${at} of ${f.bytes.length}`);
    }
    for (const cut of [0, 5, 12, headerEnd - 1, headerEnd + 3, h.parts[1].offset + 1, h.parts[2].offset, f.bytes.length - 1]) {
      const short = f.bytes.subarray(0, cut);
      assert.throws(() => decodeVectorIndexFile(short, KEY), /corrupt/, `whole, cut at ${cut}`);
      await assert.rejects(
        (async () => {
          const file = await readVectorIndexFile(rangedOf(short).get, KEY);
          await readGraphPart(rangedOf(short).get, file.graphPart!, KEY, file.graphHead);
        })(),
        /corrupt/,
        `by range, cut at ${cut}`,
      );
    }
  });

  it('carries copies of its files\' tails, read with the eager parts, each as written; a damaged one is refused', async () => {
    const f = fixture();
    const tails = [
      { key: 'data/a.emb.parquet', bytes: Uint8Array.from({ length: 1969 }, (_, i) => (i * 31) & 0xff) },
      { key: 'data/b.emb.parquet', bytes: Uint8Array.from({ length: 7 }, (_, i) => i + 1) },
    ];
    const bytes = concat(encodeVectorIndexFile(f.index, f.rowIds, f.files, tails));
    const h = decodePartsHeader(bytes, 'QVIX', [5], KEY);
    assert.deepEqual(h.parts.map((p) => p.name), ['rowIds', 'tails', 'codes', 'graph'], 'the tails before the codes, inside the first span');
    assert.deepEqual(decodeVectorIndexFile(bytes, KEY).tails, tails);
    const r = rangedOf(bytes);
    const ranged = await readVectorIndexFile(r.get, KEY);
    assert.deepEqual(ranged.tails, tails);
    assert.ok(r.read() < h.parts[3].offset + INDEX_HEAD_GUESS_BYTES, 'not the graph');
    // The part is checked: a flipped byte of a tail fails its CRC-32, whole and by range.
    const bad = bytes.slice();
    bad[h.parts[1].offset + 1000] ^= 0x08;
    assert.throws(() => decodeVectorIndexFile(bad, KEY), /corrupt/);
    await assert.rejects(readVectorIndexFile(rangedOf(bad).get, KEY), /corrupt/);
    // Without tails the file is as before (no part, no header field).
    assert.equal(decodeVectorIndexFile(f.bytes, KEY).tails, undefined);
  });

  it('still reads a format-4 file (a SHA-256 per part), whole and by range', async () => {
    const f = fixture();
    const { header: kernel, sections } = f.index.serializeParts({ vectors: false });
    const named: [string, Uint8Array][] = [['rowIds', new Uint8Array(f.rowIds.buffer)], ['codes', sections.codes!], ['graph', sections.graph!]];
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const align8 = (x: number) => (x + 7) & ~7;
    const reserve = 64 * 1024 - 12 - 32; // generous: offsets are laid out after it
    let at = 12 + reserve + 32;
    const parts = named.map(([name, b]) => {
      const e = { name, offset: at, bytes: b.length, sha256: sha(b) };
      at = align8(at + b.length);
      return e;
    });
    const header = new Uint8Array(reserve).fill(0x20);
    header.set(new TextEncoder().encode(JSON.stringify({ files: f.files, rows: N, kernel, parts })));
    const head = new Uint8Array(12);
    head.set(new TextEncoder().encode('QVIX'));
    new DataView(head.buffer).setUint32(4, 4, true);
    new DataView(head.buffer).setUint32(8, reserve, true);
    const v4 = new Uint8Array(at);
    v4.set(head);
    v4.set(header, 12);
    v4.set(createHash('sha256').update(head).update(header).digest(), 12 + reserve);
    for (const [i, [, b]] of named.entries()) v4.set(b, parts[i].offset);
    const q = f.data.slice(5 * DIM, 6 * DIM);
    const whole = loadVectorIndex(decodeVectorIndexFile(v4, KEY), f.data);
    assert.deepEqual(whole.search(q, 10, { plan: ann }).ordinals, f.index.search(q, 10, { plan: ann }).ordinals);
    const file = await readVectorIndexFile(rangedOf(v4).get, KEY);
    assert.deepEqual(file.rowIds, f.rowIds);
    const lazy = loadVectorIndex(file, f.data);
    lazy.loadGraph(await readGraphPart(rangedOf(v4).get, file.graphPart!, KEY, file.graphHead));
    assert.deepEqual(lazy.search(q, 10, { plan: ann }).ordinals, f.index.search(q, 10, { plan: ann }).ordinals);
    const bad = v4.slice();
    bad[parts[2].offset + 3] ^= 0x10;
    assert.throws(() => decodeVectorIndexFile(bad, KEY), /corrupt: part "graph" checksum mismatch/);
  });

  it('still reads a format-3 file (one SHA-256 over the whole file), whole', async () => {
    const f = fixture();
    const header = new TextEncoder().encode(JSON.stringify({ files: f.files, rows: N }));
    const head = new Uint8Array(12);
    head.set(new TextEncoder().encode('QVIX'));
    new DataView(head.buffer).setUint32(4, 3, true);
    new DataView(head.buffer).setUint32(8, header.length, true);
    const pad = new Uint8Array((8 - ((12 + header.length) % 8)) % 8);
    const body = concat([head, header, pad, new Uint8Array(f.rowIds.buffer), f.index.serialize({ vectors: false })]);
    const v3 = concat([body, new Uint8Array(createHash('sha256').update(body).digest())]);
    const r = rangedOf(v3);
    const file = await readVectorIndexFile(r.get, KEY);
    assert.equal(r.read(), Math.min(INDEX_HEAD_GUESS_BYTES, v3.length) + v3.length, 'a guess at the header, then the whole file');
    assert.deepEqual(file.rowIds, f.rowIds);
    const index = loadVectorIndex(file, f.data);
    const q = f.data.slice(0, DIM);
    assert.deepEqual(index.search(q, 10, { plan: ann }).ordinals, f.index.search(q, 10, { plan: ann }).ordinals);
  });
});
