// The index pack (QPAK in the parts container): files round-trip byte for byte under their keys;
// every flipped byte and every truncation is refused as corrupt; a pack up to 1 MiB is one read,
// a larger one two.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeIndexPack, readIndexPack } from '../../src/index/index.js';
import { isQuiverError } from '../../src/errors.js';
import { prng } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261204);

function files(count: number, bytes: number, seed: number): Map<string, Uint8Array> {
  const r = prng(seed);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const b = Uint8Array.from({ length: bytes + (i % 7) }, () => Math.floor(r() * 256));
    out.set(`index/${i.toString(16).padStart(32, '0')}.scl-${'ab'.repeat(16)}.qscl`, b);
  }
  return out;
}

const joined = (pieces: Uint8Array[]) => Uint8Array.from(Buffer.concat(pieces));

/** A ranged reader over `bytes` that counts its reads (a range past the end returns what exists). */
function reader(bytes: Uint8Array) {
  const reads: { offset: number; length: number }[] = [];
  const get = async (r?: { offset: number; length: number }) => {
    if (!r) return bytes;
    reads.push(r);
    return bytes.slice(r.offset, r.offset + r.length);
  };
  return { get, reads };
}

describe('index pack', () => {
  it('gives back every file byte for byte under its key', async () => {
    const want = files(23, 900, SEED);
    const got = await readIndexPack(reader(joined(encodeIndexPack(want))).get);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [k, b] of want) assert.deepEqual(got.get(k), b, k);
  });

  it('is one read up to 1 MiB, two past it', async () => {
    const small = reader(joined(encodeIndexPack(files(20, 20_000, SEED + 1))));
    await readIndexPack(small.get);
    assert.equal(small.reads.length, 1);
    const large = reader(joined(encodeIndexPack(files(40, 40_000, SEED + 2))));
    assert.equal((await readIndexPack(large.get)).size, 40);
    assert.equal(large.reads.length, 2, JSON.stringify(large.reads));
  });

  it('refuses every flipped byte and every truncation as corrupt', async () => {
    const bytes = joined(encodeIndexPack(files(3, 40, SEED + 3)));
    const corrupt = async (b: Uint8Array, what: string) =>
      assert.rejects(readIndexPack(reader(b).get), (e: unknown) => isQuiverError(e, 'corrupt') || assert.fail(`${what}: ${String(e)}`), what);
    // The zero padding that aligns each part (bytes no CRC covers, and no reader uses) is skipped.
    const head = JSON.parse(Buffer.from(bytes.subarray(12, 12 + new DataView(bytes.buffer).getUint32(8, true))).toString()) as { parts: { offset: number; bytes: number }[] };
    // So are the 4 zero bytes after the header's CRC.
    const padding = new Set<number>([1, 2, 3, 4].map((d) => head.parts[0].offset - d));
    head.parts.forEach((p, i) => {
      const next = head.parts[i + 1]?.offset ?? p.offset + p.bytes;
      for (let at = p.offset + p.bytes; at < next; at++) padding.add(at);
    });
    for (let i = 0; i < bytes.length; i++) {
      if (padding.has(i)) continue;
      const bad = bytes.slice();
      bad[i] ^= 0x20;
      await corrupt(bad, `byte ${i} flipped`);
    }
    for (let n = 0; n < bytes.length; n++) await corrupt(bytes.slice(0, n), `truncated to ${n}`);
  });
});
