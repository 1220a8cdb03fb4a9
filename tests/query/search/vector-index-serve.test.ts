// How a persisted vector index serves: on a local disk, as on object storage, the float32
// vectors stay in their column files and a query reads only its candidates' pages (holding them
// would cost the whole column in memory: 3 GB at 1M × 768); a corrupt or truncated index file is
// never used — the query warns QUIVER_CORRUPT_INDEX and answers exactly, whether the damage is
// found at load (codes) or when a plan first walks the graph (read later, by range).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { decodePartsHeader } from '../../../src/index/codec.js';
import { CORRUPT_SEGMENT_WARNING } from '../../../src/query/index.js';
import { CountingStore, LocalStore, MemoryStore, type ObjectStore } from '../../../src/storage/index.js';
import { prng, tempDir } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261204);
// 256-d: 8 vectors to a page, so a candidate's page is a small part of its file, as at 768-d.
const DIM = 256;
const SQL = `select row_id, rating from dataset where rating >= 2 order by cosine_similarity(emb, $1) desc limit 10`;

/** 3 commits × 1,000 rows of clustered vectors with ratings 0..4, and a vector index over them. */
async function indexed(store: ObjectStore, seed: number): Promise<{ query: () => Float32Array }> {
  const rand = prng(seed);
  const centres = Array.from({ length: 8 }, () => Float32Array.from({ length: DIM }, () => rand() - 0.5));
  const vec = () => {
    const c = centres[Math.floor(rand() * centres.length)];
    return Float32Array.from(c, (x) => x + (rand() - 0.5) * 0.2);
  };
  const ds = await quiver.create(store, { schema: { emb: `emb-${DIM}`, rating: 'int' } });
  for (let c = 0; c < 3; c++) {
    await ds.append(Array.from({ length: 1000 }, (_, i) => ({ emb: vec(), rating: i % 5 })));
    await ds.commit(`batch ${c}`);
  }
  await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
  await ds.close();
  return { query: vec };
}

/** The same query answered exactly: a subquery is run by DuckDB alone, with no index. */
const exactly = (ds: quiver.Dataset, q: Float32Array) => ds.query(`select * from (${SQL}) exact_only`, [q]);

async function keysOf(store: ObjectStore, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for await (const o of store.list(prefix)) out.push({ key: o.key, size: o.size });
  return out;
}

/** Runs `fn` and returns the QUIVER_CORRUPT_INDEX warnings it raised (emitted on a later tick). */
async function corruptWarnings(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listen = (w: Error & { code?: string }) => void (w.code === CORRUPT_SEGMENT_WARNING && seen.push(w.message));
  process.on('warning', listen);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listen);
  }
  return seen;
}

describe('vector index serving', () => {
  it('on a local disk reads only candidates\' vector pages, on the first query and every later one', async () => {
    const dir = tempDir();
    const { query } = await indexed(new LocalStore(dir), SEED);
    const store = new CountingStore(new LocalStore(dir));
    const vectorFiles = (await keysOf(store, 'data/')).filter((o) => o.key.includes('.emb'));
    assert.ok(vectorFiles.length >= 3, `vector files: ${vectorFiles.map((o) => o.key)}`);
    const vectorBytes = vectorFiles.reduce((n, o) => n + o.size, 0);
    const ds = await quiver.open(store);
    try {
      const explained = await ds.explain(SQL, [query()]);
      assert.notEqual(explained.signals?.[0].index, 'none (exact)', JSON.stringify(explained.signals));
      store.reset();
      const asked: [Float32Array, unknown[]][] = [];
      for (let i = 0; i < 4; i++) {
        const q = query();
        asked.push([q, await ds.query(SQL, [q])]);
      }
      const read = vectorFiles.reduce((n, o) => n + (store.keysRead.get(o.key) ?? 0), 0);
      // Before, the first query read every vector file whole through DuckDB (a local path each)
      // and kept them: 3 MB here, 3 GB at 1M × 768.
      assert.deepEqual(vectorFiles.filter((o) => store.keysOpened.has(o.key)), [], 'no vector file is opened whole');
      assert.ok(read > 0, 'the candidates\' vectors come from their files');
      assert.ok(read / asked.length < vectorBytes / 4, `read ${read} of ${vectorBytes} bytes of vector files in ${asked.length} queries`);
      for (const [i, [q, got]] of asked.entries()) {
        const want = await exactly(ds, q);
        const hits = got.filter((r) => want.some((w) => w.row_id === (r as { row_id: unknown }).row_id)).length;
        assert.ok(hits >= 9, `query ${i}: ${hits} of 10 exact neighbours`);
      }
    } finally {
      await ds.close();
    }
  });

  it('on a local disk reads the index by range: a plan that scans codes never reads the graph, one that walks it reads it once', async () => {
    const dir = tempDir();
    const { query } = await indexed(new LocalStore(dir), SEED + 2);
    const store = new CountingStore(new LocalStore(dir));
    const [file] = (await keysOf(store, 'index/')).filter((o) => o.key.endsWith('.qvix'));
    const graph = decodePartsHeader(await store.get(file.key), 'QVIX', [5], file.key).parts.find((p) => p.name === 'graph')!;
    assert.ok(graph.bytes > 0, 'the index has a graph');
    // 1,200 of 3,000 rows match: the int8 scan is cheaper than the exact one and than a graph walk
    // at any search depth the recall guard picks (planner.ts costs), so the plan does not depend on the build.
    const scanSql = `select row_id from dataset where rating <= 1 order by cosine_similarity(emb, $1) desc limit 10`;
    const walkSql = `select row_id from dataset order by cosine_similarity(emb, $1) desc limit 10`;
    const ds = await quiver.open(store);
    try {
      store.reset();
      const q = query();
      const scanned = await ds.explain(scanSql, [q]);
      assert.match(String(scanned.signals?.[0].strategy), /^quantized/, JSON.stringify(scanned.signals));
      await ds.query(scanSql, [q]);
      // Before, a local index file was read whole (graph included) and its graph loaded.
      assert.equal(store.keysOpened.has(file.key), false, 'the index file is not read whole');
      const first = store.keysRead.get(file.key) ?? 0;
      assert.ok(first > 0 && first <= file.size - graph.bytes + 64 * 1024, `read ${first} of ${file.size} bytes, the graph being ${graph.bytes}`);
      const walked = await ds.explain(walkSql, [q]);
      assert.match(String(walked.signals?.[0].strategy), /^ann/, JSON.stringify(walked.signals));
      const want = await ds.query(`select * from (${walkSql}) exact_only`, [q]);
      const got = await ds.query(walkSql, [q]);
      assert.ok(got.filter((r) => want.some((w) => w.row_id === r.row_id)).length >= 9, 'the walked graph finds the neighbours');
      const second = store.keysRead.get(file.key) ?? 0;
      assert.ok(second - first >= graph.bytes - 64 * 1024, `the graph is read when a plan walks it (${second - first} bytes)`);
      await ds.query(walkSql, [query()]);
      assert.equal(store.keysRead.get(file.key), second, 'and only once');
    } finally {
      await ds.close();
    }
  });

  for (const [where, make] of [
    ['a local disk', () => new LocalStore(tempDir())],
    ['a store read by range', () => new MemoryStore(`vector-serve-${Math.random()}`)],
  ] as const) {
    for (const damage of ['a flipped byte in its codes', 'a truncation'] as const) {
      it(`answers exactly with a warning when the index on ${where} has ${damage}`, async () => {
        const store = make();
        const { query } = await indexed(store, SEED + 1);
        const [file] = (await keysOf(store, 'index/')).filter((o) => o.key.endsWith('.qvix'));
        assert.ok(file, 'createIndex wrote a vector index file');
        const bytes = await store.get(file.key);
        const codes = decodePartsHeader(bytes, 'QVIX', [5], file.key).parts.find((p) => p.name === 'codes')!;
        const bad = bytes.slice(0, damage === 'a truncation' ? codes.offset + 10 : bytes.length);
        if (damage !== 'a truncation') bad[codes.offset + 17] ^= 0x20;
        await store.put(file.key, bad);
        const ds = await quiver.open(store);
        try {
          const q = query();
          let got: unknown[] = [];
          const warned = await corruptWarnings(async () => void (got = await ds.query(SQL, [q])));
          assert.equal(warned.length, 1, warned.join('\n'));
          assert.match(warned[0], new RegExp(`${file.key.replace(/[.]/g, '\\.')} is corrupt`));
          assert.deepEqual(got, await exactly(ds, q));
          // Dropped for this handle: later queries search exactly without warning again.
          assert.equal((await ds.explain(SQL, [q])).signals?.[0].index, 'none (exact)');
          assert.deepEqual(await corruptWarnings(async () => void (await ds.query(SQL, [query()]))), []);
        } finally {
          await ds.close();
        }
      });
    }
  }

  it('answers exactly with a warning when the graph, read only when a plan walks it, is corrupt', async () => {
    const store = new MemoryStore(`vector-serve-graph-${Math.random()}`);
    const { query } = await indexed(store, SEED + 2);
    const [file] = (await keysOf(store, 'index/')).filter((o) => o.key.endsWith('.qvix'));
    const bytes = await store.get(file.key);
    const graph = decodePartsHeader(bytes, 'QVIX', [5], file.key).parts.find((p) => p.name === 'graph')!;
    const bad = bytes.slice();
    bad[graph.offset + Math.floor(graph.bytes / 2)] ^= 0x04;
    await store.put(file.key, bad);
    const ds = await quiver.open(store);
    try {
      // No filter: every row matches, so the planner walks the graph.
      const sql = `select row_id from dataset order by cosine_similarity(emb, $1) desc limit 10`;
      const q = query();
      assert.match((await ds.explain(sql, [q])).signals?.[0].strategy ?? '', /^ann/);
      let got: unknown[] = [];
      const warned = await corruptWarnings(async () => void (got = await ds.query(sql, [q])));
      assert.equal(warned.length, 1, warned.join('\n'));
      assert.match(warned[0], /part "graph" checksum mismatch/);
      assert.deepEqual(got, await ds.query(`select * from (${sql}) exact_only`, [q]));
    } finally {
      await ds.close();
    }
  });
});
