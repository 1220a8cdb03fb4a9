// Scalar indexes persisted per fragment (index/<fragment>.scl-<digest>.qscl): createIndex writes
// one per fragment, a new version writes only its new fragments', a fresh handle reads them by
// range and builds none; a damaged file falls back to the fragment's own file with a warning and
// the same rows; vacuum keeps them and verify checks them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { CORRUPT_SEGMENT_WARNING } from '../../../src/query/index.js';
import { CountingStore, MemoryStore, openStore, type ObjectStore } from '../../../src/storage/index.js';
import { prng, tempDir } from '../../helpers/tmp.js';
import { withServer } from '../../helpers/servers.js';

const schema = { tag: 'text?', rating: 'int?', labels: 'list<text>?', emb: 'emb-2' };
const TAGS = ['cat', 'dog', 'owl', 'ünï'];

function rows(rand: () => number, n: number) {
  return Array.from({ length: n }, () => ({
    tag: rand() < 0.05 ? null : TAGS[Math.floor(rand() * TAGS.length)],
    rating: rand() < 0.05 ? null : Math.floor(rand() * 10),
    labels: rand() < 0.1 ? null : TAGS.filter(() => rand() < 0.3),
    emb: [rand() - 0.5, rand() - 0.5],
  }));
}

const FILTERS = [`rating >= 6 and tag = 'cat'`, `tag in ('dog', 'ünï') and not list_contains(labels, 'owl')`, `rating is null or rating between 2 and 3`];
const sqlOf = (where: string) => `select row_id, tag, rating from dataset where ${where} order by cosine_similarity(emb, [1, 0.5]) desc limit 25`;

/** Each filter's answer through the scalar index, checked against the same query run by DuckDB alone. */
async function answers(ds: quiver.Dataset): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const f of FILTERS) {
    const got = await ds.query(sqlOf(f));
    assert.ok(got.length > 0, f);
    assert.deepEqual(got, await ds.query(`select * from (${sqlOf(f)}) exact_only`), f);
    out.push(got);
  }
  return out;
}

const scalarKeys = (keys: Iterable<string>) => [...keys].filter((k) => k.endsWith('.qscl'));

async function listScalarFiles(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('index/')) if (o.key.endsWith('.qscl')) keys.push(o.key);
  return keys.sort();
}

async function indexed(store: ObjectStore | string, rand: () => number, appends: number): Promise<quiver.Dataset> {
  const ds = await quiver.create(store, { schema });
  for (let i = 0; i < appends; i++) {
    await ds.append(rows(rand, 150));
    await ds.commit(`c${i}`);
  }
  for (const c of ['tag', 'rating', 'labels']) await ds.createIndex(c, { kind: 'scalar' });
  return ds;
}

describe('persisted scalar index files', () => {
  it('are written at createIndex, only for new fragments later, and read (not built) by a fresh handle', async () => {
    const store = new CountingStore(new MemoryStore());
    const ds = await quiver.create(store, { schema });
    const rand = prng(71);
    for (let i = 0; i < 3; i++) {
      await ds.append(rows(rand, 150));
      await ds.commit(`c${i}`);
    }
    store.reset();
    for (const c of ['tag', 'rating', 'labels']) await ds.createIndex(c, { kind: 'scalar' });
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 9, 'three columns over three fragments');
    await answers(ds);
    await ds.append(rows(rand, 150));
    await ds.delete({ where: 'rating = 4' });
    await ds.commit('more');
    store.reset();
    const want = await answers(ds);
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 3, `wrote ${scalarKeys(store.keysWritten.keys())}`);
    // A fresh handle (a restarted server): one request per file, nothing built or written.
    const fresh = await quiver.open(store);
    store.reset();
    assert.deepEqual(await answers(fresh), want);
    const read = scalarKeys(store.requestsRead.keys());
    assert.equal(read.length, 12, `read ${read}`);
    for (const k of read) assert.equal(store.requestsRead.get(k), 1, `${k}: ${store.requestsRead.get(k)} requests`);
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 0);
    await fresh.close();
    // Without the files a fresh handle builds every one from the fragments' files and writes it.
    for (const k of await listScalarFiles(store)) await store.delete(k);
    const rebuilt = await quiver.open(store);
    store.reset();
    assert.deepEqual(await answers(rebuilt), want);
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 12);
    await rebuilt.close();
    await ds.close();
  });

  for (const damage of ['a flipped bit', 'a truncation'] as const) {
    it(`answers right with a warning when a file has ${damage}`, async () => {
      const store = new MemoryStore();
      const ds = await indexed(store, prng(72), 2);
      const want = await answers(ds);
      const keys = await listScalarFiles(store);
      // Damage one file of each column, so every filter meets a bad file.
      const victims = ['tag', 'rating', 'labels'].map((c, i) => keys[i * 2]).filter(Boolean);
      for (const key of keys) {
        if (!victims.includes(key)) continue;
        const bytes = await store.get(key);
        const bad = damage === 'a truncation' ? bytes.subarray(0, bytes.length - 9) : bytes.slice();
        // A bit of the first part (after the prefix, header and its CRC), which every read uses.
        if (damage === 'a flipped bit') bad[12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true) + 8 + 1] ^= 0x10;
        await store.delete(key);
        await store.put(key, bad);
      }
      const warnings: Error[] = [];
      const listen = (w: Error & { code?: string }) => void (w.code === CORRUPT_SEGMENT_WARNING && warnings.push(w));
      process.on('warning', listen);
      try {
        const fresh = await quiver.open(store);
        assert.deepEqual(await answers(fresh), want);
        await fresh.close();
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', listen);
      }
      assert.equal(warnings.length, victims.length, warnings.map((w) => w.message).join('\n'));
      for (const w of warnings) assert.match(w.message, /corrupt scalar index/);
      // The bad objects stay (keys under index/ are immutable); nothing was rewritten over them.
      for (const key of victims) assert.notDeepEqual(await store.get(key), undefined);
      await ds.close();
    });
  }

  it('are kept by vacuum (an orphan one is removed) and checked by verify', async () => {
    const url = join(tempDir(), 'ds');
    const ds = await indexed(url, prng(73), 2);
    const want = await answers(ds);
    const store = openStore(url);
    const files = await listScalarFiles(store);
    assert.equal(files.length, 6);
    const orphan = 'index/00000000000000000000000000000000.scl-00000000000000000000000000000000.qscl';
    await store.put(orphan, await store.get(files[0]));
    await ds.vacuum({ olderThan: new Date(Date.now() + 3_600_000) });
    assert.deepEqual(await listScalarFiles(store), files);
    assert.equal((await quiver.verify(url)).ok, true);
    const bytes = await store.get(files[1]);
    const bad = bytes.slice();
    bad[bad.length >> 1] ^= 0x01;
    await store.delete(files[1]);
    await store.put(files[1], bad);
    const report = await quiver.verify(url);
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map((p) => [p.key, p.problem]), [[files[1], 'corrupt']]);
    assert.match(report.problems[0].reason, /corrupt scalar index/);
    const fresh = await quiver.open(url);
    assert.deepEqual(await answers(fresh), want);
    await fresh.close();
    await ds.close();
  });
});

withServer('s3', 'persisted scalar index files on s3:// (radosgw)', (server) =>
  describe('persisted scalar index files on s3:// (radosgw)', { timeout: 120_000 }, () => {
    it('are read by range: the header and the parts a query uses, not a dense fragment\'s row ids', async () => {
      await server.prepare();
      const rand = prng(74);
      const url = server.url('scl');
      const ds = await quiver.create(await openStore(url, server.options), { schema });
      // 6,000 rows: a number column's file (~126 KB) is larger than the first 64 KiB read.
      await ds.append(rows(rand, 6_000));
      await ds.commit('a');
      await ds.createIndex('rating', { kind: 'scalar' });
      const sql = `select row_id from dataset where rating between 2 and 3 order by cosine_similarity(emb, [1, 0.5]) desc limit 25`;
      const want = await ds.query(`select * from (${sql}) exact_only`);
      await ds.close();
      const store = new CountingStore(await openStore(url, server.options));
      const fresh = await quiver.open(store);
      store.reset();
      assert.deepEqual(await fresh.query(sql), want);
      const [key] = scalarKeys(store.keysRead.keys());
      assert.ok(key, `no scalar file read: ${[...store.keysRead.keys()]}`);
      const size = (await store.head(key))!.size;
      assert.equal(store.requestsRead.get(key), 2, 'the first 64 KiB, then the rest of the parts used');
      // The row ids (8 bytes a row, the last part) are not fetched: the fragment's are dense.
      assert.equal(store.keysRead.get(key), size - 6_000 * 8);
      assert.equal(scalarKeys(store.keysWritten.keys()).length, 0);
      await fresh.close();
    });
  }),
);
