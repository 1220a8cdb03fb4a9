// import, export and verify against the object-store servers (S3 on radosgw, Azure on Azurite):
// the io layer uses only the store seam, so the same round trip and the same damage report hold.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportVersion, importFiles, verify } from '../../src/index.js';
import { openStore } from '../../src/storage/index.js';
import { withServer } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { contents, datasetWith, records } from './fixtures.js';

for (const name of ['s3', 'azure'] as const) {
  withServer(name, `io on ${name}`, (server) => {
    describe(`io on ${name}`, () => {
      it('imports a WebDataset export into a remote dataset, verifies it clean, then names a deleted file', async () => {
        await server.prepare();
        const dir = tempDir();
        const local = join(dir, 'src');
        await (await datasetWith(local, await records(6))).close();
        await exportVersion(local, join(dir, 'shards'), { to: 'webdataset', shardRows: 4 });
        const url = server.url('io');
        await importFiles(url, join(dir, 'shards'), { storage: server.options, schema: { image: 'image', prompt: 'text', rating: 'int64?', emb: 'emb-4', meta: 'json?' } });
        const back = join(dir, 'back.parquet');
        await exportVersion(url, back, { to: 'parquet', storage: server.options });
        const again = join(dir, 'again');
        await (await datasetWith(again, [])).close();
        await importFiles(again, back);
        assert.deepEqual(await contents(again), await contents(local));
        const clean = await verify(url, { storage: server.options });
        assert.deepEqual(clean.problems, []);
        const store = openStore(url, server.options);
        let victim = '';
        for await (const o of store.list('data/')) if (o.key.endsWith('.image.parquet')) victim = o.key;
        await store.delete(victim);
        const report = await verify(url, { storage: server.options });
        assert.deepEqual(report.problems.map((p) => [p.key, p.problem]), [[victim, 'missing']]);
      });
    });
  });
}
