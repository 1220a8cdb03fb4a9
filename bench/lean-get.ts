// Microbenchmark (issue 11): CPU and wall per 8 KB ranged GET, the AWS SDK's way
// (`S3Client.send(GetObjectCommand)` + `transformToByteArray`, response checksums off as S3Store
// has them) against S3Store.get's lean path (src/storage/s3/lean-get.ts: SigV4 by the SDK's
// signer, keep-alive node:http), on the project's radosgw. 200 sequential reads, then 400 with 16
// in flight, after 50 warm-up reads; the paths alternate for --rounds rounds.
// Usage: flock /tmp/quiver-bench.lock npx tsx bench/lean-get.ts [--rounds 3]
// A benchmark, never a test: it prints figures and asserts nothing. Its object is deleted at the end.

import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openStore } from '../src/storage/index.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3);
const envPath = join(process.env.QUIVER_SERVERS_DIR ?? join(process.env.TMPDIR ?? tmpdir(), 'quiver-servers'), 'servers.env');
const env = Object.fromEntries(readFileSync(envPath, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const credentials = { accessKeyId: env.QUIVER_S3_ACCESS_KEY!, secretAccessKey: env.QUIVER_S3_SECRET_KEY! };
const region = env.QUIVER_S3_REGION ?? 'us-east-1';
const bucket = 'quiver-test';
const prefix = `leanbench-${process.pid}`;
const store = openStore(`s3://${bucket}/${prefix}`, { endpoint: env.QUIVER_S3_ENDPOINT, region, credentials });
const sdk = new S3Client({ region, endpoint: env.QUIVER_S3_ENDPOINT, forcePathStyle: true, credentials, maxAttempts: 1, responseChecksumValidation: 'WHEN_REQUIRED' });
await store.put('f', new Uint8Array(1 << 20).fill(7));

const KB8 = 8192;
const paths: Record<string, (i: number) => Promise<unknown>> = {
  sdk: async (i) => {
    const r = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/f`, Range: `bytes=${i * KB8}-${i * KB8 + KB8 - 1}` }));
    return r.Body!.transformToByteArray();
  },
  lean: (i) => store.get('f', { offset: i * KB8, length: KB8 }),
};

async function measure(get: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 50; i++) await get(i % 100);
  let cpu0 = process.cpuUsage();
  let t = performance.now();
  for (let i = 0; i < 200; i++) await get(i % 100);
  const seq = (performance.now() - t) / 200;
  let c = process.cpuUsage(cpu0);
  const seqCpu = (c.user + c.system) / 1000 / 200;
  cpu0 = process.cpuUsage();
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => { while (next < 400) await get(next++ % 100); }));
  const par = (performance.now() - t) / 400;
  c = process.cpuUsage(cpu0);
  const parCpu = (c.user + c.system) / 1000 / 400;
  return `sequential ${seq.toFixed(2)} ms/req wall, ${seqCpu.toFixed(2)} ms/req CPU; 16 in flight ${par.toFixed(2)} ms/req wall, ${parCpu.toFixed(2)} ms/req CPU`;
}

for (let r = 1; r <= rounds; r++) for (const [name, get] of Object.entries(paths)) console.log(`round ${r} ${name.padEnd(4)}: ${await measure(get)}`);
await store.delete('f');
