import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { columnize, parseSchema, writeParquet } from '../../../src/format/index.js';
import { Engine } from '../../../src/query/index.js';
import { readColumnData, readDuckColumnData, readOwnColumnData } from '../../../src/query/search/scalar-load.js';
import { prng, tempDir } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);
const SCHEMA = parseSchema({ i8: 'int8', i32: 'int', i64: 'int64', u64: 'uint64', f32: 'float32', f64: 'float64', flag: 'bool', at: 'timestamp', word: 'text', words: 'list<text>', nums: 'list<int>' });
const WORDS = ['safe', 'unsafe', 'cat', 'dog', '', 'ünï'];

/** Seeded records with nulls, empty and null lists, NaN and extreme values. */
function records(n: number, seed: number): Record<string, unknown>[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const maybe = <T>(v: () => T) => (r() < 0.15 ? null : v());
  const list = <T>(el: () => T) => (r() < 0.1 ? null : Array.from({ length: Math.floor(r() * 4) }, el));
  return Array.from({ length: n }, () => ({
    i8: maybe(() => Math.floor(r() * 256) - 128),
    i32: maybe(() => Math.floor(r() * 11) - 5),
    i64: maybe(() => pick([0n, -1n, 2n ** 62n + 1n, -(2n ** 63n), BigInt(Math.floor(r() * 1e6))])),
    u64: maybe(() => pick([0n, 2n ** 64n - 1n, 2n ** 53n + 1n])),
    f32: maybe(() => pick([Number.NaN, -0, 1.5, Math.fround(r() * 100)])),
    f64: maybe(() => pick([Number.NaN, Infinity, -Infinity, r() * 1e300])),
    flag: maybe(() => r() < 0.5),
    at: maybe(() => new Date(Math.floor(r() * 2e12))),
    word: maybe(() => pick(WORDS)),
    words: list(() => pick(WORDS)),
    nums: list(() => Math.floor(r() * 7)),
  }));
}

/** A scalar file as the fragment writer lays it out, with small row groups so several are read. */
function writeFile(dir: string, n: number, seed: number): string {
  const rowIds = BigInt64Array.from({ length: n }, (_, i) => BigInt(100 + 3 * i));
  const batch = columnize(SCHEMA, records(n, seed), rowIds);
  const path = join(dir, `f${seed}.parquet`);
  writeFileSync(path, Buffer.concat(writeParquet(batch.scalar, { rowGroupRowsMax: 37 }).parts));
  return path;
}

describe('readColumnData', () => {
  it('reads every indexable column of our files with our own reader, equal to what DuckDB reads', async () => {
    const dir = tempDir();
    const engine = await Engine.create({ threads: 1 });
    const session = await engine.session();
    try {
      for (const seed of [SEED, SEED + 1]) {
        const path = writeFile(dir, 200, seed);
        for (const def of SCHEMA) {
          const own = readOwnColumnData(path, def);
          assert.deepEqual(own, await readDuckColumnData(session, path, def), `column ${def.name} (QUIVER_SEED=${seed})`);
          assert.deepEqual(await readColumnData(session, path, def), own, `column ${def.name} (QUIVER_SEED=${seed})`);
        }
      }
    } finally {
      session.close();
      engine.close();
    }
  });

  it('falls back to DuckDB for a Parquet file our reader does not take', async () => {
    const dir = tempDir();
    const path = join(dir, 'duck.parquet');
    const engine = await Engine.create({ threads: 1 });
    const session = await engine.session();
    try {
      // DuckDB's own file: snappy-compressed, so our reader refuses it as unsupported.
      await session.run(`COPY (SELECT range::BIGINT AS row_id, (range % 3)::INTEGER AS i32 FROM range(50)) TO '${path}' (FORMAT parquet, COMPRESSION snappy)`);
      const def = SCHEMA.find((c) => c.name === 'i32')!;
      assert.throws(() => readOwnColumnData(path, def), { code: 'unsupported' });
      const col = await readColumnData(session, path, def);
      assert.equal(col.kind, 'number');
      assert.equal(col.rowIds.length, 50);
    } finally {
      session.close();
      engine.close();
    }
  });
});
