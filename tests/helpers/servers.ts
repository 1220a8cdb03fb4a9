// Test servers (S3 on radosgw, Azure Blob on Azurite, Redis for the bullmq runner) booted by scripts/servers/up.sh, which
// writes their connection facts to servers.env. A test that needs one calls `withServer`: when the
// server is missing it FAILS under CI=true and skips with the printed reason otherwise.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { StoreOptions } from '../../src/storage/index.js';

export const serversEnvPath = join(process.env.QUIVER_SERVERS_DIR ?? join(process.env.TMPDIR ?? tmpdir(), 'quiver-servers'), 'servers.env');

function readEnv(path = serversEnvPath): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export interface TestServer {
  name: 's3' | 'azure';
  /** A fresh URL under the test bucket or container, unique to this call. */
  url(label?: string): string;
  /** The `storage` options that reach the server. */
  options: StoreOptions;
  /** Creates the test bucket or container when missing. */
  prepare(): Promise<void>;
}

const unique = (label: string) => `${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
export const TEST_BUCKET = 'quiver-test';

function s3Server(env: Record<string, string>): TestServer | string {
  if (!env.QUIVER_S3_ENDPOINT) return `no S3 test server (${serversEnvPath} has no QUIVER_S3_ENDPOINT): run bash scripts/servers/up.sh`;
  const options: StoreOptions = {
    endpoint: env.QUIVER_S3_ENDPOINT,
    region: env.QUIVER_S3_REGION,
    credentials: { accessKeyId: env.QUIVER_S3_ACCESS_KEY!, secretAccessKey: env.QUIVER_S3_SECRET_KEY! },
  };
  return {
    name: 's3',
    options,
    url: (label = 't') => `s3://${TEST_BUCKET}/${unique(label)}`,
    async prepare() {
      const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
      const c = new S3Client({ region: options.region, endpoint: options.endpoint, forcePathStyle: true, credentials: options.credentials });
      await c.send(new CreateBucketCommand({ Bucket: TEST_BUCKET })).catch((e) => {
        if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
      });
      c.destroy();
    },
  };
}

function azureServer(env: Record<string, string>): TestServer | string {
  if (!env.QUIVER_AZURE_CONNECTION_STRING) return `no Azure test server (${serversEnvPath} has no QUIVER_AZURE_CONNECTION_STRING): run bash scripts/servers/up.sh`;
  const options: StoreOptions = { connectionString: env.QUIVER_AZURE_CONNECTION_STRING };
  return {
    name: 'azure',
    options,
    url: (label = 't') => `az://${TEST_BUCKET}/${unique(label)}`,
    async prepare() {
      const { BlobServiceClient } = await import('@azure/storage-blob');
      await BlobServiceClient.fromConnectionString(options.connectionString!).getContainerClient(TEST_BUCKET).createIfNotExists();
    },
  };
}

/** The named server, or the reason it is missing. */
export function testServer(name: 's3' | 'azure'): TestServer | string {
  const env = readEnv();
  return name === 's3' ? s3Server(env) : azureServer(env);
}

/** Under CI=true one failing test says why the server is missing; elsewhere a skipped suite prints the reason. */
function missingServer(name: string, title: string, reason: string): void {
  if (process.env.CI === 'true') {
    describe(title, () => it(`needs the ${name} test server`, () => assert.fail(reason)));
  } else {
    console.log(`# skipped ${title}: ${reason}`);
    describe(title, { skip: reason }, () => undefined);
  }
}

/**
 * Registers `body` when the server is up. When it is missing: under CI=true one failing test says
 * why; elsewhere a skipped suite prints the reason.
 */
export function withServer(name: 's3' | 'azure', title: string, body: (server: TestServer) => void): void {
  const s = testServer(name);
  if (typeof s === 'string') return missingServer(name, title, s);
  body(s);
}

/** The test Redis's URL (scripts/servers/redis.sh), or the reason it is missing. */
export function redisUrl(): { url: string } | string {
  // redis.sh's own file too: servers.env is rewritten by whichever up.sh ran last.
  const url = readEnv().QUIVER_REDIS_URL ?? readEnv(join(dirname(serversEnvPath), 'redis.env')).QUIVER_REDIS_URL;
  return url ? { url } : `no Redis test server (${serversEnvPath} has no QUIVER_REDIS_URL): run bash scripts/servers/up.sh`;
}

/** Registers `body` with the test Redis's URL when it is up; otherwise as `withServer`. */
export function withRedis(title: string, body: (url: string) => void): void {
  const r = redisUrl();
  if (typeof r === 'string') return missingServer('redis', title, r);
  body(r.url);
}
