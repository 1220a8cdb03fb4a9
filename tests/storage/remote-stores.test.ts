// S3 (radosgw) and Azure (Azurite) stores against their real servers, with faults injected by a
// proxy in front: each environment fault is a typed error naming the URL, writes are refused where
// conditions are not enforced, and retries never turn a landed conditional put into a conflict.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isQuiverError, type QuiverError } from '../../src/errors.js';
import { openStore, type ObjectStore, type StoreOptions } from '../../src/storage/index.js';
import { crc32Checksum } from '../../src/storage/s3/s3-store.js';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { TEST_BUCKET, withServer, type TestServer } from '../helpers/servers.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const MiB = 1024 * 1024;

/** Options that reach the server through the proxy instead of directly. */
function viaProxy(server: TestServer, proxy: FaultProxy, extra: StoreOptions = {}): StoreOptions {
  const fast = { retryBaseMs: 1, retryDelayMsMax: 5, ...extra };
  if (server.name === 's3') return { ...server.options, endpoint: proxy.url, ...fast };
  const cs = server.options.connectionString!.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=${proxy.url}`);
  return { connectionString: cs, ...fast };
}

/** The same store's options with a wrong secret. */
function wrongCredentials(server: TestServer): StoreOptions {
  if (server.name === 's3') return { ...server.options, credentials: { accessKeyId: 'quiver-test', secretAccessKey: 'not-the-secret' } };
  return { connectionString: server.options.connectionString!.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('wrong').toString('base64')}`) };
}

const isPut = (r: SeenRequest) => r.method === 'PUT';
const conditional = (r: SeenRequest) => isPut(r) && (r.headers['if-none-match'] !== undefined || r.headers['if-match'] !== undefined);
/** Data requests on one key: not the probe's (which lives under .quiver-probe/). */
const onKey = (key: string) => (r: SeenRequest) => r.path.split('?')[0]!.endsWith('/' + key);

function hasReason(reason: string, url: string) {
  return (e: unknown) => {
    const q = e as QuiverError;
    assert.ok(isQuiverError(e), String(e));
    assert.equal(q.details.reason, reason, q.message);
    assert.ok(q.message.includes(url), `"${q.message}" does not name ${url}`);
    return true;
  };
}

describe('crc32Checksum', () => {
  it('is the big-endian CRC-32 in base64 that x-amz-checksum-crc32 carries', () => {
    assert.equal(crc32Checksum(bytes('123456789')), 'y/Q5Jg=='); // 0xCBF43926, the CRC-32 check value
    assert.equal(crc32Checksum(new Uint8Array(0)), 'AAAAAA==');
  });
});

for (const name of ['s3', 'azure'] as const) {
  const label = name === 's3' ? 'S3Store on radosgw' : 'AzureStore on Azurite';
  withServer(name, label, (server) => {
    describe(label, () => {
      let proxy: FaultProxy;
      const target = name === 's3' ? server.options.endpoint! : server.options.connectionString!.match(/BlobEndpoint=([^;]+)/)![1]!;
      before(async () => {
        await server.prepare();
        proxy = await startFaultProxy(target);
      });
      after(() => proxy.close());

      it('names the bucket or container and the URL when it does not exist', async () => {
        const url = server.url().replace(`://${TEST_BUCKET}/`, '://no-such-bucket-q/');
        const s = openStore(url, server.options);
        await assert.rejects(s.get('x'), hasReason('no_bucket', url));
        await assert.rejects(s.put('x', bytes('1')), hasReason('no_bucket', url));
      });

      it('says the credentials were refused, naming the URL', async () => {
        const url = server.url();
        await assert.rejects(openStore(url, wrongCredentials(server)).get('x'), hasReason('credentials', url));
      });

      it('says an unreachable endpoint cannot be reached, naming it and the URL', async () => {
        const url = server.url();
        const dead = { ...viaProxy(server, { ...proxy, url: proxy.url.replace(/:\d+/, ':1') }), retriesMax: 1 };
        await assert.rejects(openStore(url, dead).get('x'), (e) => hasReason('unreachable', url)(e) && /127\.0\.0\.1:1\b/.test((e as Error).message));
      });

      it('refuses writes where the endpoint ignores conditional puts, unless single-writer mode is on', async () => {
        // A fresh proxy port is a fresh endpoint to the process-wide probe cache.
        const liar = await startFaultProxy(target);
        liar.rule = () => 'ignore-conditions';
        try {
          const url = server.url();
          const refusal = (e: unknown) => isQuiverError(e, 'unsupported') && (e as Error).message.includes(url) && (e as Error).message.includes(liar.url.replace(/\/devstoreaccount1$/, ''));
          await assert.rejects(openStore(url, viaProxy(server, liar)).put('k', bytes('1')), refusal);
          const s = openStore(url, viaProxy(server, liar, { singleWriter: true }));
          await s.put('k', bytes('2'));
          assert.equal(text(await s.get('k')), '2');
        } finally {
          await liar.close();
        }
      });

      it('treats a put-if-absent whose answer was lost as done, not as a conflict with itself', async () => {
        const s = openStore(server.url(), viaProxy(server, proxy));
        await s.put('warm', bytes('probe first'));
        let dropped = 0;
        proxy.rule = (r) => (conditional(r) && onKey('once')(r) && dropped++ === 0 ? 'drop-after' : 'pass');
        try {
          const info = await s.put('once', bytes('mine'), { ifAbsent: true });
          assert.equal(dropped, 1, 'the put was not re-sent after its answer was lost');
          assert.equal(info.etag, (await s.head('once'))!.etag);
        } finally {
          proxy.rule = () => 'pass';
        }
      });

      it('treats a put-if-match whose answer was lost as done, and still refuses a stale etag', async () => {
        const s = openStore(server.url(), viaProxy(server, proxy));
        const a = await s.put('ref', bytes('v1'));
        let dropped = 0;
        proxy.rule = (r) => (conditional(r) && onKey('ref')(r) && dropped++ === 0 ? 'drop-after' : 'pass');
        try {
          await s.put('ref', bytes('v2'), { ifMatch: a.etag });
        } finally {
          proxy.rule = () => 'pass';
        }
        assert.equal(text(await s.get('ref')), 'v2');
        await assert.rejects(s.put('ref', bytes('v3'), { ifMatch: a.etag }), (e) => isQuiverError(e, 'conflict'));
      });

      it('retries a conditional put the server never saw, and reports a rival that won meanwhile as a conflict', async () => {
        const s = openStore(server.url(), viaProxy(server, proxy));
        await s.put('warm', bytes('probe first'));
        let failed = 0;
        proxy.rule = (r) => (conditional(r) && onKey('lost')(r) && failed++ < 2 ? 'unavailable' : 'pass');
        try {
          await s.put('lost', bytes('x'), { ifAbsent: true });
          assert.equal(text(await s.get('lost')), 'x');
          const rival = openStore(s.url, server.options);
          // The rival's put lands before ours is dropped unseen: our re-check must then see it.
          proxy.rule = async (r) => {
            if (!(conditional(r) && onKey('taken')(r))) return 'pass';
            await rival.put('taken', bytes('rival'), { ifAbsent: true }).catch(() => undefined);
            return 'drop-before';
          };
          await assert.rejects(s.put('taken', bytes('mine'), { ifAbsent: true }), (e) => isQuiverError(e, 'conflict'));
        } finally {
          proxy.rule = () => 'pass';
        }
      });

      it('retries reads through throttling answers and fails with an io error after retriesMax', async () => {
        const s = openStore(server.url(), viaProxy(server, proxy, { retriesMax: 3 }));
        await s.put('r', bytes('abc'));
        let n = 0;
        proxy.rule = (r) => (r.method === 'GET' && onKey('r')(r) && n++ < 3 ? 'unavailable' : 'pass');
        try {
          assert.equal(text(await s.get('r')), 'abc');
          n = 0;
          proxy.rule = (r) => (r.method === 'GET' && onKey('r')(r) ? (n++, 'unavailable') : 'pass');
          await assert.rejects(s.get('r'), (e) => isQuiverError(e, 'io'));
          assert.equal(n, 4, 'one attempt and three retries');
        } finally {
          proxy.rule = () => 'pass';
        }
      });

      it('abandons a request that gets no answer within requestTimeoutMs, as a timeout naming the URL', async () => {
        const s = openStore(server.url(), viaProxy(server, proxy, { requestTimeoutMs: 300, retriesMax: 1 }));
        proxy.rule = (r) => (r.method === 'GET' ? 'hang' : 'pass');
        try {
          await assert.rejects(s.get('x'), hasReason('timeout', s.url));
        } finally {
          proxy.rule = () => 'pass';
        }
      });

      it('uploads a put above the threshold in parts and reads it back whole and by range', async () => {
        const s = openStore(server.url(), { ...server.options, multipartThresholdBytes: 5 * MiB, partBytes: 5 * MiB });
        const big = new Uint8Array(6 * MiB + 7).map((_, i) => i % 251);
        await s.put('big', big);
        assert.deepEqual(await s.get('big'), big);
        assert.deepEqual(await s.get('big', { offset: 5 * MiB - 3, length: 10 }), big.subarray(5 * MiB - 3, 5 * MiB + 7));
        await s.put('big-once', big, { ifAbsent: true });
        await assert.rejects(s.put('big-once', big.subarray(1), { ifAbsent: true }), (e) => isQuiverError(e, 'conflict'));
        assert.equal((await s.head('big-once'))!.size, big.length);
      });

      if (name === 's3') {
        it('sends the CRC-32 it computed of each put and part, so the SDK computes none', async () => {
          const s = openStore(server.url(), viaProxy(server, proxy, { multipartThresholdBytes: 5 * MiB, partBytes: 5 * MiB }));
          const small = bytes('checked bytes');
          const big = new Uint8Array(6 * MiB + 7).map((_, i) => (i * 7) % 251);
          const mark = proxy.seen.length;
          await s.put('crc-small', small, { ifAbsent: true });
          await s.put('crc-big', big);
          const sent = proxy.seen.slice(mark).filter((r) => isPut(r) && /\/crc-/.test(r.path));
          // One put, then the big one's two parts (an unconditional put above the threshold), in parallel.
          const crcs = sent.map((r) => String(r.headers['x-amz-checksum-crc32']));
          assert.deepEqual(crcs.sort(), [crc32Checksum(small), crc32Checksum(big.subarray(0, 5 * MiB)), crc32Checksum(big.subarray(5 * MiB))].sort());
          // The SDK names the algorithm only when it computed the checksum itself.
          assert.deepEqual(sent.map((r) => r.headers['x-amz-sdk-checksum-algorithm']), [undefined, undefined, undefined]);
          assert.deepEqual(await s.get('crc-big'), big);
        });
      }

      it('keeps at most requestsInFlightMax requests in flight', async () => {
        const s: ObjectStore = openStore(server.url(), viaProxy(server, proxy, { requestsInFlightMax: 3 }));
        await s.put('warm', bytes('probe first'));
        let open = 0;
        let most = 0;
        proxy.rule = () => {
          most = Math.max(most, ++open);
          return 'pass';
        };
        try {
          await Promise.all(Array.from({ length: 12 }, (_, i) => s.put(`par/${i}`, bytes(String(i))).finally(() => open--)));
        } finally {
          proxy.rule = () => 'pass';
        }
        assert.ok(most >= 2 && most <= 3, `saw ${most} puts in flight at once`);
      });
    });
  });
}
