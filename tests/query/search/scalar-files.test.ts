// Scalar indexes persisted per fragment (index/<fragment>.scl-<digest>.qscl): createIndex writes
// one per fragment and a pack of their copies, a new version writes only its new fragments', a
// fresh handle on a remote store reads the pack and the later files by range and builds none; a
// damaged file falls back to the fragment's own file, a damaged or missing pack to the files,
// each with a warning and the same rows; vacuum keeps them and verify checks them.
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
const packKeys = (keys: Iterable<string>) => [...keys].filter((k) => k.endsWith('.qpak'));

async function listPacks(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('index/')) if (o.key.endsWith('.qpak')) keys.push(o.key);
  return keys.sort();
}

/** Runs `fn` collecting the damaged-index warnings it gives (settled after it returns). */
async function warned<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: Error[] }> {
  const warnings: Error[] = [];
  const listen = (w: Error & { code?: string }) => void (w.code === CORRUPT_SEGMENT_WARNING && warnings.push(w));
  process.on('warning', listen);
  try {
    const value = await fn();
    await new Promise((r) => setImmediate(r));
    return { value, warnings };
  } finally {
    process.off('warning', listen);
  }
}

const quietly = async <T>(fn: () => Promise<T>): Promise<T> => (await warned(fn)).value;

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
    // A fresh handle (a restarted server): the fragments createIndex saw come from the three
    // packs (one request each), the later fragment's files one request each; nothing built or written.
    const fresh = await quiver.open(store);
    store.reset();
    assert.deepEqual(await answers(fresh), want);
    const read = scalarKeys(store.requestsRead.keys());
    assert.equal(read.length, 3, `read ${read}`);
    for (const k of read) assert.equal(store.requestsRead.get(k), 1, `${k}: ${store.requestsRead.get(k)} requests`);
    const packs = packKeys(store.requestsRead.keys());
    assert.equal(packs.length, 3, `packs read: ${packs}`);
    for (const k of packs) assert.equal(store.requestsRead.get(k), 1, `${k}: ${store.requestsRead.get(k)} requests`);
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 0);
    await fresh.close();
    // Without the files (and their packs) a fresh handle builds every one from the fragments' files and writes it.
    for (const k of [...(await listScalarFiles(store)), ...(await listPacks(store))]) await store.delete(k);
    const rebuilt = await quiver.open(store);
    store.reset();
    assert.deepEqual(await quietly(() => answers(rebuilt)), want);
    assert.equal(scalarKeys(store.keysWritten.keys()).length, 12);
    await rebuilt.close();
    await ds.close();
  });

  for (const damage of ['a flipped bit', 'a truncation'] as const) {
    it(`answers right with a warning when a file has ${damage}`, async () => {
      // On a local disk, where a query reads each fragment's own file (packs serve remote stores).
      const store = openStore(join(tempDir(), 'ds'));
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

  for (const damage of ['a flipped bit', 'a truncation', 'gone'] as const) {
    it(`answer from their own files, with one warning a pack, when the pack is ${damage === 'gone' ? 'gone' : `damaged (${damage})`}`, async () => {
      const store = new CountingStore(new MemoryStore());
      const ds = await indexed(store, prng(75), 2);
      const want = await answers(ds);
      const packs = await listPacks(store);
      assert.equal(packs.length, 3, 'one pack per scalar index');
      for (const key of packs) {
        const bytes = await store.get(key);
        await store.delete(key);
        if (damage === 'gone') continue;
        const bad = damage === 'a truncation' ? bytes.subarray(0, bytes.length - 9) : bytes.slice();
        // A bit of the first packed file (after the pack's prefix, header and its CRC).
        if (damage === 'a flipped bit') bad[12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true) + 8 + 1] ^= 0x10;
        await store.put(key, bad);
      }
      const fresh = await quiver.open(store);
      store.reset();
      const { value, warnings } = await warned(() => answers(fresh));
      assert.deepEqual(value, want);
      assert.equal(warnings.length, 3, warnings.map((w) => w.message).join('\n'));
      for (const w of warnings) assert.match(w.message, damage === 'gone' ? /\.qpak\); reading its scalar index files one by one/ : /corrupt index pack/);
      assert.equal(scalarKeys(store.requestsRead.keys()).length, 6, 'every fragment file of the three columns, read instead');
      assert.equal(scalarKeys(store.keysWritten.keys()).length, 0, 'the files were there: nothing built');
      await fresh.close();
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
    const packs = await listPacks(store);
    assert.equal(packs.length, 3);
    await ds.vacuum({ olderThan: new Date(Date.now() + 3_600_000) });
    assert.deepEqual(await listScalarFiles(store), files);
    assert.deepEqual(await listPacks(store), packs, 'a pack is named by its index declaration: kept');
    assert.equal((await quiver.verify(url)).ok, true);
    // verify checks a pack's checksums and decodes every copy in it.
    const packBytes = await store.get(packs[0]);
    const badPack = packBytes.slice();
    badPack[badPack.length - 3] ^= 0x04;
    await store.delete(packs[0]);
    await store.put(packs[0], badPack);
    const packReport = await quiver.verify(url);
    assert.deepEqual(packReport.problems.map((p) => [p.key, p.problem]), [[packs[0], 'corrupt']]);
    assert.match(packReport.problems[0].reason, /corrupt index pack/);
    await store.delete(packs[0]);
    await store.put(packs[0], packBytes);
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
    it('come from the pack in one request, a later fragment\'s file by range without its dense row ids', async () => {
      await server.prepare();
      const rand = prng(74);
      const url = server.url('scl');
      const ds = await quiver.create(await openStore(url, server.options), { schema });
      for (let i = 0; i < 3; i++) {
        await ds.append(rows(rand, 150));
        await ds.commit(`c${i}`);
      }
      await ds.createIndex('rating', { kind: 'scalar' });
      // 6,000 rows after the index: their file (~126 KB, larger than the first 64 KiB read) is
      // written by the first query that filters them and is in no pack.
      await ds.append(rows(rand, 6_000));
      await ds.commit('later');
      const sql = `select row_id from dataset where rating between 2 and 3 order by cosine_similarity(emb, [1, 0.5]) desc limit 25`;
      const want = await ds.query(`select * from (${sql}) exact_only`);
      assert.deepEqual(await ds.query(sql), want);
      await ds.close();
      const store = new CountingStore(await openStore(url, server.options));
      const fresh = await quiver.open(store);
      store.reset();
      assert.deepEqual(await fresh.query(sql), want);
      const packs = packKeys(store.requestsRead.keys());
      assert.equal(packs.length, 1, `read ${[...store.requestsRead.keys()]}`);
      assert.equal(store.requestsRead.get(packs[0]), 1, 'a pack under 1 MiB is one request');
      const read = scalarKeys(store.keysRead.keys());
      assert.equal(read.length, 1, `the three packed fragments' files are not read: ${read}`);
      const size = (await store.head(read[0]))!.size;
      assert.equal(store.requestsRead.get(read[0]), 2, 'the first 64 KiB, then the rest of the parts used');
      // The row ids (8 bytes a row, the last part) are not fetched: the fragment's are dense.
      assert.equal(store.keysRead.get(read[0]), size - 6_000 * 8);
      assert.equal(scalarKeys(store.keysWritten.keys()).length, 0);
      await fresh.close();
    });
  }),
);
