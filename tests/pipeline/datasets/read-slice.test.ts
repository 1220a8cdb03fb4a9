// A cluster worker's slice of one dataset fragment (`Dataset.readSlice`, what
// `QuiverDatasets.readScanSlice` calls): on an s3:// dataset (radosgw, under a CountingStore) it
// reads the slice's large values by byte range, where slicing the fragment's whole scan with
// DuckDB (the worker's way before) copied every large-column file of the fragment first; and it
// gives the sliced scan's Arrow bytes, with deletes and with `since`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { Engine } from '../../../src/query/engine.js';
import { ipcFromTable } from '../../../src/pipeline/ipc.js';
import { sliceSql } from '../../../src/pipeline/runner/bullmq/source-split.js';
import { LARGE_ROW_GROUP_ROWS } from '../../../src/format/index.js';
import { CountingStore, openStore } from '../../../src/storage/index.js';
import { withServer } from '../../helpers/servers.js';
import { prng } from '../../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 16);
const BLOB_BYTES = 32 * 1024;

/** Rows x = from … from + n − 1 with incompressible blobs, so a blob file's size is its blobs'. */
function rows(rand: () => number, from: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({ x: BigInt(from + i), tag: `t${(from + i) % 5}`, blob: Uint8Array.from({ length: BLOB_BYTES }, () => Math.floor(rand() * 256)) }));
}

/** Bytes read from the store's blob files since the last reset. */
const blobBytes = (store: CountingStore) => [...store.keysRead].filter(([k]) => k.endsWith('.blob.parquet')).reduce((n, [, b]) => n + b, 0);

withServer('s3', 'Dataset.readSlice on s3:// (radosgw, counted)', (server) =>
  describe('Dataset.readSlice on s3:// (radosgw, counted)', { timeout: 120_000 }, () => {
    it('reads a slice of a 64-row fragment: its 8 blobs by range, not the fragment\'s blob file, in the sliced scan\'s Arrow bytes', async () => {
      await server.prepare();
      const rand = prng(SEED);
      const store = new CountingStore(await openStore(server.url('slice'), server.options));
      const ds = await quiver.create(store, { schema: { x: 'int64', tag: 'text', blob: 'binary' }, write: { autoCompact: false } });
      await ds.append(rows(rand, 0, 64));
      await ds.commit('first');
      await ds.delete({ where: 'x % 7 = 3' });
      const v1 = await ds.commit('deletes');
      await ds.update({ where: 'x = 5', set: { tag: 'moved' } }); // row 5 moves to a new fragment, not "added since"
      await ds.append(rows(rand, 64, 24));
      await ds.commit('more');
      await ds.close();

      const reader = await quiver.open(store);
      const engine = await Engine.create({ threads: 1 });
      try {
        const { fragments } = await reader.fragmentRows();
        const first = fragments[0];
        assert.equal(first.rows, 64 - 9 - 1, 'the first fragment less its deletes and the moved row');
        store.reset();
        const got = await reader.readSlice({ fragment: first.id, offset: 16, rows: 8 });
        const sliceBytes = blobBytes(store);
        assert.equal(got.numRows, 8);
        // 8 blobs of 32 KiB, their pages and the file's footer: under a fifth of the 64-blob file.
        assert.ok(sliceBytes < 64 * BLOB_BYTES / 5, `read ${sliceBytes} B of blob files for 8 rows`);
        assert.ok(sliceBytes >= 8 * BLOB_BYTES, `read ${sliceBytes} B, less than the 8 blobs`);

        const sliced = async (fragment: string, offset: number, n: number, since?: string) => {
          const sql = await reader.scanSql({ fragments: [fragment], ordered: true, ...(since ? { since } : {}) });
          const session = await engine.session();
          try {
            return await session.arrow(sliceSql(sql, offset, n));
          } finally {
            session.close();
          }
        };
        store.reset();
        const whole = await sliced(first.id, 16, 8);
        const scanBytes = blobBytes(store);
        console.log(`# slice of 8 of ${first.rows} rows: ${sliceBytes} B of blob files read by range; the sliced scan read ${scanBytes} B (whole files)`);
        assert.ok(Buffer.from(ipcFromTable(got)).equals(Buffer.from(ipcFromTable(whole))), 'the sliced scan\'s Arrow bytes');

        // Every slice of every fragment, plain and since v1 (which leaves out the moved row 5).
        for (const f of fragments) {
          for (const since of [undefined, v1.id]) {
            for (const [offset, n] of [[0, 5], [3, 7], [Math.max(0, f.rows - 2), 6], [f.rows + 1, 4]]) {
              const a = await reader.readSlice({ fragment: f.id, offset, rows: n, ...(since ? { since } : {}) });
              const b = await sliced(f.id, offset, n, since);
              assert.ok(Buffer.from(ipcFromTable(a)).equals(Buffer.from(ipcFromTable(b))), `fragment ${f.id} (${f.rows} rows) since ${since} [${offset}, +${n}): ${a.numRows} vs ${b.numRows} rows ${JSON.stringify(a.toArray().map((r) => String(r.x)))} vs ${JSON.stringify(b.toArray().map((r) => String(r.x)))}`);
            }
          }
        }
        await assert.rejects(reader.readSlice({ fragment: first.id, offset: -1, rows: 2 }), { code: 'invalid_input' });
      } finally {
        await engine.close();
        await reader.close();
      }
    });

    it('reads a slice across the row groups of a 4,200-row fragment (4,096-row groups in its blob file) by range, in the sliced scan\'s Arrow bytes', async () => {
      await server.prepare();
      const rand = prng(SEED + 1);
      const store = new CountingStore(await openStore(server.url('slice-groups'), server.options));
      const ds = await quiver.create(store, { schema: { x: 'int64', tag: 'text', blob: 'binary' }, write: { autoCompact: false } });
      const n = LARGE_ROW_GROUP_ROWS + 104;
      await ds.append(Array.from({ length: n }, (_, i) => ({ x: BigInt(i), tag: `t${i % 5}`, blob: Uint8Array.from({ length: 2048 }, () => Math.floor(rand() * 256)) })));
      await ds.commit('rows');
      await ds.delete({ where: 'x % 97 = 1' });
      await ds.commit('deletes');
      await ds.close();
      const reader = await quiver.open(store);
      const engine = await Engine.create({ threads: 1 });
      try {
        const [f] = (await reader.fragmentRows()).fragments;
        let blobFile = '';
        for await (const o of store.list('data/')) if (o.key.endsWith('.blob.parquet')) blobFile = o.key;
        const fileBytes = (await store.head(blobFile))!.size;
        store.reset();
        const got = await reader.readSlice({ fragment: f.id, offset: LARGE_ROW_GROUP_ROWS - 60, rows: 32 }); // live rows 4036..4067 straddle the groups' boundary
        const sliceBytes = blobBytes(store);
        assert.equal(got.numRows, 32);
        assert.ok(sliceBytes < fileBytes / 20, `read ${sliceBytes} B of a ${fileBytes} B blob file for 32 rows`);
        const session = await engine.session();
        try {
          const whole = await session.arrow(sliceSql(await reader.scanSql({ fragments: [f.id], ordered: true }), LARGE_ROW_GROUP_ROWS - 60, 32));
          assert.ok(Buffer.from(ipcFromTable(got)).equals(Buffer.from(ipcFromTable(whole))), 'the sliced scan\'s Arrow bytes');
        } finally {
          session.close();
        }
        console.log(`# slice of 32 of ${f.rows} rows across two row groups: ${sliceBytes} B of a ${fileBytes} B blob file`);
      } finally {
        await engine.close();
        await reader.close();
      }
    });
  }),
);
