// ds.stream() over object storage (S3 on radosgw, Azure Blob on Azurite): the same rows and
// pixels as on a local folder, read by ranged requests of the pages the batches need.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CountingStore, openStore } from '../../src/storage/index.js';
import { withServer } from '../helpers/servers.js';
import { drain, imageDataset, numbers } from './fixture.js';

for (const name of ['s3', 'azure'] as const) {
  const label = name === 's3' ? 'stream from s3:// (radosgw)' : 'stream from az:// (Azurite)';
  withServer(name, label, (server) => {
    describe(label, () => {
      before(() => server.prepare());

      it('streams every row once, decoded, with ranged reads of only the streamed columns', async () => {
        const store = new CountingStore(openStore(server.url('stream'), server.options));
        const ds = await imageDataset(store, 2, 12);
        try {
          store.keysRead.clear();
          const s = ds.stream({ columns: ['image', 'prompt'], batchRows: 5, remainder: 'drop', shuffle: { seed: 3, blockRows: 4 }, decode: { image: { width: 3, height: 2 } } });
          const batches = await drain(s);
          const got = batches.flatMap(numbers);
          assert.equal(new Set(got).size, 20);
          for (const b of batches) {
            const img = b.columns.image;
            assert.ok(img.kind === 'tensor');
            numbers(b).forEach((n, i) => assert.equal(img.data[i * 18], n % 256));
          }
          const keys = [...store.keysRead.keys()];
          assert.ok(keys.every((k) => !k.startsWith('data/') || k.endsWith('.scalar.parquet') || k.endsWith('.image.parquet')), keys.join(', '));
        } finally {
          await ds.close();
        }
      });
    });
  });
}
