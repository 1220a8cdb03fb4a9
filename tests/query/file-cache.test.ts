import assert from 'node:assert/strict';
import { existsSync, rmSync, truncateSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { CountingStore, LocalStore, MemoryStore, ObjectCache, type ObjectStore } from '../../src/storage/index.js';
import { isQuiverError, type QuiverError } from '../../src/errors.js';
import { readCommit, readManifest, readRef, writeCommit, writeManifest, moveRef, forgetChecksums, openRanged, type Manifest } from '../../src/format/index.js';
import { FileCache, forgetVerifiedFiles } from '../../src/query/file-cache.js';
import { CORRUPT_SEGMENT_WARNING } from '../../src/query/index.js';
import { prng, tempDir } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);
const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: 'red' } }).png().toBuffer();
const rows = Array.from({ length: 40 }, (_, i) => ({ name: `row ${i}`, n: i, img: png, emb: [i, 1, 0, 0] }));
const queries = ['select row_id, name, n, img, emb from dataset order by row_id', 'select count(*)::INT AS c, sum(n)::INT AS s from dataset', 'select row_id from dataset order by l2_distance(emb, [3, 1, 0, 0]) limit 3'];

/** Every object of `from` copied into `to`. */
async function copyStore(from: ObjectStore, to: ObjectStore): Promise<void> {
  for await (const info of from.list('')) await to.put(info.key, await from.get(info.key));
}

/** Whether byte `at` of a Parquet file lies in a row group's `row_id` chunk (its first column). */
async function inRowIdChunk(bytes: Uint8Array, at: number): Promise<boolean> {
  const source = { size: bytes.length, read: async (ranges: readonly { offset: number; length: number }[]) => ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length)) };
  const file = await openRanged(source).catch(() => null);
  return !!file && file.footer.rowGroups.some((g) => at >= g.chunks[0].offset && at < g.chunks[0].offset + g.chunks[0].size);
}

type FileKind = 'scalar' | 'deletes' | 'image' | 'embedding';
function fileOf(m: Manifest, kind: FileKind): string {
  if (kind === 'scalar') return m.fragments[0].key;
  if (kind === 'deletes') return m.fragments.find((f) => f.deletes)!.deletes!.key;
  return m.groups[kind === 'image' ? 'img' : 'emb'][0].key;
}

async function headManifest(store: ObjectStore): Promise<Manifest> {
  return readManifest(store, (await readCommit(store, (await readRef(store, 'branch', 'main'))!.commit)).manifest);
}

/** A fresh store of the kind asked for, holding the template dataset. */
async function copyOf(template: ObjectStore, local: boolean): Promise<ObjectStore> {
  const store = local ? new LocalStore(tempDir('quiver-flip-')) : new MemoryStore();
  await copyStore(template, store);
  return store;
}

/** Every query's outcome on a fresh handle: the rows, or the error. */
async function outcomes(store: ObjectStore): Promise<unknown[]> {
  const ds = await quiver.open(store);
  try {
    const out: unknown[] = [];
    for (const q of queries) out.push(await ds.query(q).catch((e: unknown) => e));
    return out;
  } finally {
    await ds.close();
  }
}

/** Moves main to a copy of its manifest without checksums, as Quiver wrote before it had them. */
async function withoutChecksums(store: ObjectStore): Promise<LocalStore> {
  const m = await headManifest(store);
  const bare: Manifest = {
    ...m,
    fragments: m.fragments.map(({ crc32: _c, deletes, ...f }) => ({ ...f, ...(deletes ? { deletes: { key: deletes.key, count: deletes.count } } : {}) })),
    groups: Object.fromEntries(Object.entries(m.groups).map(([c, files]) => [c, files.map(({ crc32: _c, tail: _t, ...g }) => g)])),
  };
  assert.ok(!JSON.stringify(bare).includes('crc32'));
  const ref = (await readRef(store, 'branch', 'main'))!;
  const { id, ...head } = await readCommit(store, ref.commit);
  const c = await writeCommit(store, { ...head, parents: [id], manifest: await writeManifest(store, bare), message: 'no checksums' });
  await moveRef(store, 'branch', 'main', c.id, ref.etag);
  return store as LocalStore;
}

describe('FileCache verification', () => {
  let template: ObjectStore;
  let expected: unknown[];
  before(async () => {
    template = new MemoryStore();
    const ds = await quiver.create(template, { schema: { name: 'text', n: 'int', img: 'image', emb: 'emb-4' } });
    await ds.append(rows);
    await ds.commit('forty');
    await ds.delete({ where: 'n % 8 = 3' });
    await ds.commit('five fewer');
    await ds.close();
    expected = await outcomes(await copyOf(template, false));
    for (const e of expected) assert.ok(!(e instanceof Error), String(e));
  });

  for (const local of [true, false]) {
    for (const kind of ['scalar', 'deletes', 'image', 'embedding'] as FileKind[]) {
      it(`reports a flipped bit in a ${kind} file as corrupt naming it, never as changed rows (${local ? 'local' : 'memory'} store)`, async () => {
        const random = prng(SEED + kind.length * 7 + (local ? 1 : 0));
        for (let round = 0; round < 3; round++) {
          const store = await copyOf(template, local);
          const key = fileOf(await headManifest(store), kind);
          const bytes = await store.get(key);
          const bit = Math.floor(random() * bytes.length * 8);
          bytes[bit >> 3] ^= 1 << (bit & 7);
          await store.put(key, bytes);
          const got = await outcomes(store);
          got.forEach((g, i) => {
            // A query that does not read the file may still answer, and then it answers right.
            if (!(g instanceof Error)) return assert.deepEqual(g, expected[i], `seed ${SEED}, ${kind}, bit ${bit}, query ${i}`);
            assert.ok(isQuiverError(g, 'corrupt'), `seed ${SEED}, ${kind}, bit ${bit}: ${g.message}`);
            assert.equal((g as QuiverError).details.key, key);
            // Read whole, a file is checked against the manifest; read by range (a large file on a
            // remote store), its tail is, and each page against its header.
            assert.match(g.message, /^format: data file \S+ is corrupt: (page at \d+: )?its crc32 is [0-9a-f]{8}, the (manifest|page header) recorded [0-9a-f]{8}$/);
          });
          // By range, a large file whose row ids are dense is located from the manifest: its row-id
          // pages are never read, so a flip there changes no answer and need not be seen.
          if (!local && kind === 'image' && (await inRowIdChunk(bytes, bit >> 3))) continue;
          assert.ok(got.some((g) => g instanceof Error), `seed ${SEED}: no query read the damaged ${kind} file`);
        }
      });
    }

    it(`reports a missing data file as corrupt naming it, for SQL and vector search alike (${local ? 'local' : 'memory'} store)`, async () => {
      for (const kind of ['scalar', 'embedding', 'deletes'] as FileKind[]) {
        const store = await copyOf(template, local);
        const key = fileOf(await headManifest(store), kind);
        await store.delete(key);
        const got = await outcomes(store);
        for (const g of got.filter((x) => x instanceof Error)) {
          assert.ok(isQuiverError(g, 'corrupt') && (g as QuiverError).details.key === key, `${kind}: ${(g as Error).message}`);
          assert.match((g as Error).message, /^format: data file .* named by the manifest is missing$/);
        }
        assert.ok(got.some((g) => g instanceof Error), kind);
      }
    });
  }

  it('reads a dataset whose manifest records no checksums, as written before them', async () => {
    const store = await withoutChecksums(await copyOf(template, true));
    const reopened = () => outcomes(new LocalStore(store.root));
    assert.deepEqual(await reopened(), expected);
    // A file removed after this process verified it reaches DuckDB, which cannot open it: io.
    const key = (await headManifest(store)).fragments[0].key;
    rmSync(store.localPath(key));
    const [late] = await reopened();
    assert.ok(isQuiverError(late, 'io') && (late as QuiverError).details.path === store.localPath(key), String(late));
    // Checked afresh, a missing file is reported by name even without a checksum.
    forgetVerifiedFiles();
    const [g] = await reopened();
    assert.ok(isQuiverError(g, 'corrupt') && (g as QuiverError).details.key === key, String(g));
  });

  it('reports a Parquet file DuckDB cannot decode as corrupt when no checksum guards it', async () => {
    const store = await withoutChecksums(await copyOf(template, true));
    const key = (await headManifest(store)).fragments[0].key;
    truncateSync(store.localPath(key), 100);
    // This process learnt the checksums of the manifest it read before rewriting it.
    forgetChecksums(store.url);
    const [g] = await outcomes(new LocalStore(store.root));
    assert.ok(isQuiverError(g, 'corrupt') && (g as QuiverError).details.path === store.localPath(key), String(g));
  });

  it('records a checksum for every data and deletes file a manifest names', async () => {
    const m = await headManifest(template);
    const files = [...m.fragments.flatMap((f) => [f.crc32, ...(f.deletes ? [f.deletes.crc32] : [])]), ...Object.values(m.groups).flat().map((g) => g.crc32)];
    assert.ok(files.length >= 4);
    for (const crc of files) assert.equal(typeof crc, 'number');
  });
});

describe('index files a manifest names', () => {
  it('searches exactly, warning with the missing file\'s key, when a vector index file is gone (not a raw ENOENT)', async () => {
    const store = new LocalStore(tempDir('quiver-index-'));
    const ds = await quiver.create(store, { schema: { emb: 'emb-4' } });
    await ds.append(rows.map((r) => ({ emb: r.emb })));
    await ds.commit('rows');
    await ds.createIndex('emb', { kind: 'vector', metric: 'l2' });
    await ds.close();
    const key = (await headManifest(store)).indexes[0].key;
    rmSync(store.localPath(key));
    const h = await quiver.open(store.root);
    const warnings: string[] = [];
    const listen = (w: Error & { code?: string }) => void (w.code === CORRUPT_SEGMENT_WARNING && warnings.push(w.message));
    process.on('warning', listen);
    try {
      const sql = 'select row_id from dataset order by l2_distance(emb, [3, 1, 0, 0]) limit 3';
      // An index is derived data: its rows are all in the column's files, so the answer is exact.
      assert.deepEqual(await h.query(sql), await h.query(`select * from (${sql}) exact_only`));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listen);
      await h.close();
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^format: index file .* named by the manifest is missing; searching its column exactly$/);
    assert.ok(warnings[0].includes(key));
  });
});

const sharedSchema = { prompt: 'text', rating: 'int', emb: 'emb-4' };
const sharedRows = Array.from({ length: 30 }, (_, i) => ({ prompt: `p${i}`, rating: i % 5, emb: [i, 1, 2, 3] }));

describe('FileCache sharing', () => {
  it('serves a second handle on the same store from the process cache, across close()', async () => {
    const store = new CountingStore(new MemoryStore());
    const a = await quiver.create(store, { schema: sharedSchema });
    await a.append(sharedRows);
    await a.commit('rows');
    await a.query('select count(*) from dataset where rating > 1');
    await a.close();
    const b = await quiver.open(store);
    store.reset();
    const [{ n }] = await b.query('select count(*) as n from dataset where rating > 1');
    assert.equal(Number(n), 18);
    assert.deepEqual([...store.keysRead.keys()].filter((k) => k.startsWith('data/')), []);
    await b.close();
  });

  it('keeps the copies a handle holds and lets them be evicted once it is disposed', async () => {
    const inner = new MemoryStore();
    await inner.put('data/x.parquet', new Uint8Array(1000));
    await inner.put('data/y.parquet', new Uint8Array(1000));
    const cache = new ObjectCache({ diskBytesMax: 1500, dir: tempDir() });
    const h1 = new FileCache(inner, cache);
    const x = await h1.path('data/x.parquet');
    const h2 = new FileCache(inner, cache);
    const y = await h2.path('data/y.parquet');
    assert.ok(existsSync(x) && existsSync(y), 'both pinned: the bound waits');
    await h1.dispose();
    assert.ok(!existsSync(x), 'released and over the bound: evicted');
    assert.ok(existsSync(y));
    await h2.dispose();
  });
});
