// The scalar index file (QSCL in the parts container): every kind of column round-trips exactly;
// any flipped byte the reader uses, and every truncation, is refused as corrupt; a ranged read
// fetches the header and the parts it needs (not the row ids of a dense fragment).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeScalarFile, encode, encodeScalarFile, numberColumn, readScalarFile, type ColumnData } from '../../../src/index/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { prng } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261203);

function columns(n: number, seed: number): Record<string, ColumnData> {
  const r = prng(seed);
  const rowIds = BigInt64Array.from({ length: n }, (_, i) => BigInt(7 + 2 * i));
  const values = Float64Array.from({ length: n }, () => (r() < 0.05 ? Number.NaN : Math.floor(r() * 50) - 20));
  const valid = Uint8Array.from({ length: n }, () => (r() < 0.1 ? 0 : 1));
  const words = ['a', 'ünï', '', 'x\u0000y', '🦆', 'safe'];
  const text = encode(Array.from({ length: n }, () => (r() < 0.1 ? null : words[Math.floor(r() * words.length)])));
  const lists = (el: () => number | string | null) => {
    const offsets = new Int32Array(n + 1);
    const valid = new Uint8Array(n);
    const els: (number | string | null)[] = [];
    for (let i = 0; i < n; i++) {
      valid[i] = r() < 0.1 ? 0 : 1;
      if (valid[i]) for (let k = Math.floor(r() * 4); k > 0; k--) els.push(el());
      offsets[i + 1] = els.length;
    }
    const { codes, dict } = encode(els);
    const dictBytes = dict.reduce<number>((s, d) => s + (typeof d === 'string' ? 40 + d.length * 2 : 16), 0);
    return { kind: 'list' as const, rowIds, offsets, codes, dict, valid, bytes: rowIds.byteLength + valid.byteLength + offsets.byteLength + codes.byteLength + dictBytes };
  };
  const dictBytes = text.dict.reduce((s, d) => s + 40 + d.length * 2, 0);
  return {
    number: numberColumn(rowIds, values, valid),
    string: { kind: 'string', rowIds, codes: text.codes, dict: text.dict as string[], bytes: rowIds.byteLength + text.codes.byteLength + dictBytes },
    textList: lists(() => (r() < 0.05 ? null : words[Math.floor(r() * words.length)])),
    numberList: lists(() => Math.floor(r() * 9) / 2),
    empty: numberColumn(new BigInt64Array(0), new Float64Array(0), new Uint8Array(0)),
  };
}

const concat = (pieces: Uint8Array[]) => new Uint8Array(Buffer.concat(pieces));

describe('scalar index file', () => {
  it('round-trips every kind of column exactly, whole and by range', async () => {
    for (const seed of [SEED, SEED + 1]) {
      for (const [name, col] of Object.entries(columns(300, seed))) {
        const bytes = concat(encodeScalarFile('c', col));
        assert.deepEqual(await decodeScalarFile(bytes), col, `${name} (QUIVER_SEED=${seed})`);
        const get = async (r?: { offset: number; length: number }) => (r ? bytes.slice(r.offset, r.offset + r.length) : bytes);
        assert.deepEqual(await readScalarFile(get, { column: 'c', kind: col.kind, rows: col.rowIds.length }), col, `${name} by range`);
      }
    }
  });

  it('refuses every flipped byte it would use and every truncation, as corrupt', async () => {
    const col = columns(40, SEED).textList;
    const bytes = concat(encodeScalarFile('c', col));
    let refused = 0;
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] ^= 0x04;
      try {
        const got = await decodeScalarFile(bad);
        // Only the zero padding between parts is unused: flipping it must leave the column intact.
        assert.deepEqual(got, col, `byte ${i} flipped was accepted with other values`);
        assert.equal(bytes[i], 0, `byte ${i} (not padding) flipped was accepted`);
      } catch (e) {
        assert.ok(isQuiverError(e, 'corrupt'), `byte ${i}: ${(e as Error).message}`);
        refused++;
      }
    }
    assert.ok(refused > bytes.length * 0.9, `${refused} of ${bytes.length} refused`);
    for (let n = 0; n < bytes.length; n++) {
      await assert.rejects(decodeScalarFile(bytes.subarray(0, n)), (e) => isQuiverError(e, 'corrupt'), `truncated to ${n}`);
      const short = bytes.subarray(0, n);
      await assert.rejects(
        readScalarFile(async (r) => (r ? short.subarray(r.offset, r.offset + r.length) : short), { column: 'c', kind: 'list', rows: 40 }),
        (e) => isQuiverError(e, 'corrupt'),
        `ranged read truncated to ${n}`,
      );
    }
  });

  it('refuses a file of another column, kind or row count', async () => {
    const col = columns(30, SEED).string;
    const bytes = concat(encodeScalarFile('c', col));
    const get = async (r?: { offset: number; length: number }) => (r ? bytes.subarray(r.offset, r.offset + r.length) : bytes);
    await assert.rejects(readScalarFile(get, { column: 'd', kind: 'string', rows: 30 }), /corrupt scalar index: its column is "c", expected "d"/);
    await assert.rejects(readScalarFile(get, { column: 'c', kind: 'number', rows: 30 }), /its kind/);
    await assert.rejects(readScalarFile(get, { column: 'c', kind: 'string', rows: 31 }), /its rows/);
  });

  it('reads a large file in two requests, and skips the row ids it is given', async () => {
    const col = columns(50_000, SEED).number;
    const bytes = concat(encodeScalarFile('c', col));
    const asked: { offset: number; length: number }[] = [];
    const get = async (r?: { offset: number; length: number }) => {
      asked.push(r ?? { offset: 0, length: bytes.length });
      return r ? bytes.subarray(r.offset, r.offset + r.length) : bytes;
    };
    const expect = { column: 'c', kind: 'number' as const, rows: 50_000 };
    assert.deepEqual(await readScalarFile(get, expect), col);
    assert.equal(asked.length, 2, JSON.stringify(asked));
    assert.equal(asked.reduce((s, r) => s + Math.min(r.length, bytes.length - r.offset), 0), bytes.length);
    asked.length = 0;
    assert.deepEqual(await readScalarFile(get, expect, col.rowIds), col);
    const read = asked.reduce((s, r) => s + Math.min(r.length, bytes.length - r.offset), 0);
    // The row ids (8 bytes a row) are the last part: given them, the reader stops before them.
    assert.equal(read, bytes.length - col.rowIds.byteLength);
  });
});
