// S3Store's data reads go the lean way (lean-get.ts), not through S3Client.send, and still build
// the SDK's URL, use the client's credential provider, and fail with the SDK path's errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isQuiverError, type QuiverError } from '../../../src/errors.js';
import { openStore } from '../../../src/storage/index.js';
import { encodeKeyPath, resolveLeanTarget } from '../../../src/storage/s3/lean-get.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { withServer } from '../../helpers/servers.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const creds = { accessKeyId: 'a', secretAccessKey: 'b' };

/** The path and host the SDK itself builds for a GetObject, stopped before signing and sending. */
async function sdkRequest(client: S3Client, Bucket: string, Key: string): Promise<{ host: string; path: string; protocol: string }> {
  const cmd = new GetObjectCommand({ Bucket, Key });
  let seen: { host: string; path: string; protocol: string } | undefined;
  const stop = new Error('stop');
  cmd.middlewareStack.add(
    () => async (args) => {
      const r = args.request as { hostname: string; path: string; protocol: string };
      seen = { host: r.hostname, path: r.path, protocol: r.protocol };
      throw stop;
    },
    { step: 'build', priority: 'low' },
  );
  await client.send(cmd).catch((e) => assert.equal(e, stop));
  return seen!;
}

/** Counts S3Client.send calls while `fn` runs: the lean path makes none. */
async function sdkSends(fn: () => Promise<void>): Promise<number> {
  const send = S3Client.prototype.send;
  let n = 0;
  S3Client.prototype.send = function (this: S3Client, ...args: Parameters<typeof send>) {
    n++;
    return send.apply(this, args);
  } as typeof send;
  try {
    await fn();
  } finally {
    S3Client.prototype.send = send;
  }
  return n;
}

describe('lean GET addressing', () => {
  const keys = ['k', 'a b/c+d', "x/!'()*~.-_/é€/%20", 'deep/er/key.parquet'];
  const clients = {
    'path-style, custom http endpoint': new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: creds }),
    'virtual-hosted AWS': new S3Client({ region: 'eu-west-1', credentials: creds }),
    'path-style AWS': new S3Client({ region: 'ap-south-1', forcePathStyle: true, credentials: creds }),
  };
  for (const [label, client] of Object.entries(clients)) {
    it(`builds the SDK's own URL for each key (${label})`, async () => {
      const t = await resolveLeanTarget(client, GetObjectCommand, 'my-bucket');
      for (const key of keys) {
        const sdk = await sdkRequest(client, 'my-bucket', key);
        assert.equal(t.hostname, sdk.host);
        assert.equal(t.protocol, sdk.protocol);
        assert.equal(t.basePath + '/' + encodeKeyPath(key), sdk.path, key);
      }
      assert.equal(t.signingRegion, await client.config.region());
      assert.equal(t.signingName, 's3');
    });
  }
});

describe('lean GET over https', () => {
  it('keeps the default TLS checks: a server whose certificate no CA signed is refused', async () => {
    // A throwaway self-signed certificate for 127.0.0.1 (tests/storage/s3/fixtures), made by
    // openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
    const dir = new URL('./fixtures/', import.meta.url);
    let answered = 0;
    const server = https.createServer({ key: readFileSync(new URL('self-signed.key', dir)), cert: readFileSync(new URL('self-signed.crt', dir)) }, (_req, res) => {
      answered++;
      res.writeHead(206, { etag: '"e"', 'content-length': '1' }).end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const s = openStore('s3://b/p', { endpoint, region: 'us-east-1', credentials: creds, retriesMax: 0 });
      await assert.rejects(s.get('k', { offset: 0, length: 1 }), (e) => isQuiverError(e, 'io') && /self[- ]signed/i.test(String((e as Error).cause)));
      assert.equal(answered, 0, 'a request was answered over an unverified connection');
    } finally {
      server.close();
    }
  });
});

withServer('s3', 'lean GET on radosgw', (server) => {
  describe('lean GET on radosgw', () => {
    let proxy: FaultProxy;
    before(async () => {
      await server.prepare();
      proxy = await startFaultProxy(server.options.endpoint!);
    });
    after(() => proxy.close());

    it('serves ranged and whole gets without S3Client.send, with the etag head reports', async () => {
      const s = openStore(server.url(), server.options);
      const data = new Uint8Array(100_000).map((_, i) => (i * 13) % 251);
      await s.put('odd key/é+(1)', data);
      await s.get('odd key/é+(1)', { offset: 0, length: 1 }); // builds the lean path (its one SDK call, unsent)
      let info: Awaited<ReturnType<typeof s.getWithInfo>> | undefined;
      const sends = await sdkSends(async () => {
        assert.deepEqual(await s.get('odd key/é+(1)', { offset: 8192, length: 8192 }), data.subarray(8192, 16384));
        assert.deepEqual(await s.get('odd key/é+(1)', { offset: 99_990, length: 100 }), data.subarray(99_990));
        assert.deepEqual(await s.get('odd key/é+(1)'), data);
        info = await s.getWithInfo('odd key/é+(1)');
      });
      assert.equal(sends, 0, 'a data read went through S3Client.send');
      const head = await s.head('odd key/é+(1)');
      assert.equal(info!.info.etag, head!.etag);
      assert.equal(info!.info.size, data.length);
      assert.equal(info!.info.lastModified, head!.lastModified);
    });

    it('signs with the credentials the client resolves from its provider, session token included', async () => {
      let calls = 0;
      const good = server.options.credentials as { accessKeyId: string; secretAccessKey: string };
      const s = openStore(server.url(), { ...server.options, endpoint: proxy.url, credentials: async () => (calls++, good) });
      await s.put('p', bytes('provided'));
      assert.equal(text(await s.get('p', { offset: 0, length: 8 })), 'provided');
      assert.ok(calls > 0, 'the provider was never asked');
      const get = (r: { method: string; path: string }) => r.method === 'GET' && r.path.includes('/t?');
      const withToken = openStore(server.url(), { ...server.options, endpoint: proxy.url, credentials: async () => ({ ...good, sessionToken: 'tok-123' }) });
      const mark = proxy.seen.length;
      // radosgw knows no such session: it refuses, but the token went out signed.
      await assert.rejects(withToken.get('t', { offset: 0, length: 1 }), (e) => isQuiverError(e));
      const sent = proxy.seen.slice(mark).filter(get);
      assert.ok(sent.length > 0);
      assert.equal(sent[0]!.headers['x-amz-security-token'], 'tok-123');
      assert.match(String(sent[0]!.headers.authorization), /SignedHeaders=[^,]*x-amz-security-token/);
    });

    it('maps a missing key, wrong credentials and an unreachable endpoint as the SDK path did', async () => {
      const url = server.url();
      const s = openStore(url, server.options);
      await assert.rejects(s.get('missing', { offset: 0, length: 10 }), (e) => isQuiverError(e, 'not_found') && (e as Error).message.includes(url));
      await assert.rejects(s.get('missing'), (e) => isQuiverError(e, 'not_found'));
      const wrong = openStore(url, { ...server.options, credentials: { accessKeyId: 'quiver-test', secretAccessKey: 'not-the-secret' } });
      await assert.rejects(wrong.get('missing', { offset: 0, length: 10 }), (e) => isQuiverError(e, 'invalid_input') && (e as QuiverError).details.reason === 'credentials');
      const dead = openStore(url, { ...server.options, endpoint: 'http://127.0.0.1:1', retriesMax: 1, retryBaseMs: 1, retryDelayMsMax: 2 });
      await assert.rejects(dead.get('x', { offset: 0, length: 10 }), (e) => isQuiverError(e, 'io') && (e as QuiverError).details.reason === 'unreachable');
    });
  });
});
