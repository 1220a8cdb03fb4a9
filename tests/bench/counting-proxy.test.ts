// The benchmark's meter: the counting proxy in front of the real S3 test server records each
// exchange with its key and bytes, and s3-meter turns exchanges into per-kind counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCountingProxy, type Exchange } from '../../bench/lib/counting-proxy.js';
import { keyKind, meter } from '../../bench/lib/s3-meter.js';
import { TEST_BUCKET, withServer } from '../helpers/servers.js';

withServer('s3', 'counting proxy', (server) => {
  it('records each request once with its decoded key, range and the bytes each way', async () => {
    await server.prepare();
    const proxy = await startCountingProxy(server.options.endpoint!);
    const client = new S3Client({ region: server.options.region, endpoint: proxy.url, forcePathStyle: true, credentials: server.options.credentials as { accessKeyId: string; secretAccessKey: string } });
    const key = `${new URL(server.url('proxy')).pathname.slice(1)}/a b.bin`;
    try {
      await client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: new Uint8Array(3000).fill(7) }));
      const got = await client.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key, Range: 'bytes=100-199' }));
      assert.equal((await got.Body!.transformToByteArray()).length, 100);
      await client.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
      await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: key }));
      await client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
      assert.deepEqual(proxy.log.map((e) => [e.op, e.key, e.range, e.sentBytes]), [
        ['put', key, undefined, 3000],
        ['get', key, 'bytes=100-199', 0],
        ['head', key, undefined, 0],
        ['list', '', undefined, 0],
        ['delete', key, undefined, 0],
      ]);
      assert.equal(proxy.log[1]!.receivedBytes, 100);
      assert.ok(proxy.log.every((e) => e.status < 300));
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});

describe('s3 meter', () => {
  it('names the column of a Quiver data file, and index, LanceDB data and metadata keys', () => {
    assert.equal(keyKind('data/0a1b.image.parquet'), 'image');
    assert.equal(keyKind('data/0a1b.scalar.parquet'), 'scalar');
    assert.equal(keyKind('data/0a1b.deletes-3.parquet'), 'deletes');
    assert.equal(keyKind('index/0a1b.qvix'), 'index');
    assert.equal(keyKind('gen.lance/_indices/u/index.idx'), 'index');
    assert.equal(keyKind('gen.lance/data/0101.lance'), 'data');
    assert.equal(keyKind('meta/manifests/0a1b.json'), 'meta');
    assert.equal(keyKind('gen.lance/_versions/1.manifest'), 'meta');
  });

  it('counts only the given prefix and bucket-level requests, and data requests only for reads of data files', () => {
    const ex = (op: Exchange['op'], key: string, receivedBytes: number): Exchange => ({ op, method: op.toUpperCase(), bucket: 'b', key, status: 200, sentBytes: 0, receivedBytes, startMs: 0, endMs: 0 });
    const m = meter([ex('get', 'q/data/f.image.parquet', 500), ex('get', 'q/refs/heads/main', 40), ex('list', '', 300), ex('put', 'q/data/g.scalar.parquet', 0), ex('get', 'other/data/f.image.parquet', 9)], 'q/');
    assert.equal(m.requests, 4);
    assert.equal(m.dataRequests, 1);
    assert.equal(m.receivedBytes, 840);
    assert.deepEqual([...m.bytesByKind], [['image', 500], ['meta', 340], ['scalar', 0]]);
  });
});
