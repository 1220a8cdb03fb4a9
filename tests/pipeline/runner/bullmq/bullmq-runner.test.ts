// The bullmq runner against a real Redis and real `quiver worker` processes: the same relation
// gives the same bytes as under `local`; actors, resources and the cluster-wide concurrency
// bound hold; a run leaves nothing in Redis or the store; a worker without the UDF module says so.

import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { Redis } from 'ioredis';
import { create, open } from '../../../../src/dataset/index.js';
import type { DatasetStorage } from '../../../../src/pipeline/dataset-seam.js';
import { connect, type Connection, type Relation } from '../../../../src/pipeline/index.js';
import { ipcFromTable } from '../../../../src/pipeline/ipc.js';
import { testServer, withRedis } from '../../../helpers/servers.js';
import { startWorkerProcess, tearDown, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const fixtures = new URL('../../fixtures/', import.meta.url).href;
const udfs = { module: `${fixtures}udfs.ts` };
const cudfs = { module: `${fixtures}cluster-udfs.ts` };

/**
 * A dataset of several fragments, a large column (64 KiB blobs in their own files) and deletes
 * in two fragments: 90 rows appended 16 to a fragment, in two commits, then every seventh deleted.
 */
async function fragmentedDataset(url: string, storage?: DatasetStorage): Promise<void> {
  const ds = await create(url, { schema: { x: 'int64', blob: 'binary' }, ...(storage ? { storage } : {}), write: { fragmentRowsMax: 16, autoCompact: false } });
  try {
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ x: BigInt(from + i), blob: new Uint8Array(65_536).fill((from + i) % 251) }));
    await ds.append(rows(0, 60));
    await ds.commit('first');
    await ds.append(rows(60, 30));
    await ds.commit('second');
    await ds.delete({ where: 'x % 7 = 3 and x < 40' });
    await ds.commit('deletes');
  } finally {
    await ds.close();
  }
}

async function bytesOf(rel: Relation): Promise<Buffer> {
  return Buffer.from(ipcFromTable(await rel.toArrow()));
}

withRedis('bullmq runner', (redisUrl) => {
describe('bullmq runner', () => {
    const tmp = tempDir('bullmq');
    const prefix = uniquePrefix();
    const s3 = testServer('s3');
    // Workers sign in to S3 with their own credentials (the SDK's environment); a scan names only the endpoint.
    const creds = typeof s3 === 'string' ? undefined : (s3.options.credentials as { accessKeyId: string; secretAccessKey: string });
    const s3Env: Record<string, string> = creds ? { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey } : {};
    const env = { QUIVER_TEST_MARKER_DIR: tmp.path, QUIVER_TEST_FLAKY_DIR: join(tmp.path, 'flaky-cluster'), ...s3Env };
    let workers: WorkerProcess[] = [];
    let con: Connection;
    let restore = () => undefined as void;

    before(async () => {
      workers = await Promise.all([
        startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', 'w-plain-1'], { env }),
        startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', 'w-plain-2'], { env }),
        startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '1', '--resources', 'gpus=1', '--name', 'w-gpu'], { env }),
      ]);
      con = await connect({ terminal: 'off' });
    });
    after(() => tearDown(restore, con, workers, tmp));

    /** The same stages under local (in-process, the cheapest to compare with) and bullmq (cluster backends). */
    const pipeline = (cluster: boolean) =>
      con.sql('select range as x from range(300)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 16, backend: cluster ? 'cluster_task' : 'inline', concurrency: 3 })
        .map({ ...udfs, export: 'parity' }, { schema: { x: 'BIGINT', parity: 'VARCHAR' }, batchSize: 50, backend: cluster ? 'cluster_actor' : 'inline', concurrency: 2 })
        .flatMap({ ...udfs, export: 'repeatMod3' }, { schema: { x: 'BIGINT', k: 'INTEGER' }, batchSize: 40, backend: 'inline' });

    it('gives byte-identical output to the local runner for task, actor and inline stages', async () => {
      const local = await bytesOf(pipeline(false));
      restore = useCluster(redisUrl, prefix, tmp.url, { inlineBytesMax: 256 });
      const rel = pipeline(true);
      const cluster = await bytesOf(rel);
      assert.ok(cluster.equals(local), 'the cluster output differs from the local one');
      assert.equal(rel.lastReport!.stages[0].rowsOut, 300);
      assert.equal(rel.lastReport!.stages[1].batchesIn, 6);
      assert.ok(rel.lastReport!.coordinatorBytes!.sent > 0);
    });

    it('passes one cluster stage\'s output to the next worker to worker, not through the coordinator', async () => {
      const rel = (cluster: boolean) => con.sql('select range as x from range(48)')
        .mapBatches({ ...cudfs, export: 'blobOf' }, { schema: { x: 'BIGINT', blob: 'BLOB' }, batchSize: 8, backend: cluster ? 'cluster_task' : 'inline', concurrency: 2 })
        .map({ ...cudfs, export: 'sizeOf' }, { schema: { x: 'BIGINT', n: 'INTEGER', first: 'INTEGER' }, batchSize: 12, backend: cluster ? 'cluster_actor' : 'inline', concurrency: 2 });
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(local));
      const { sent, received } = cluster.lastReport!.coordinatorBytes!;
      const blobBytes = 48 * 65_536;
      assert.ok(sent + received < blobBytes / 20, `the coordinator moved ${sent + received} bytes of ${blobBytes} blob bytes`);
    });

    it('has workers read a read_parquet source themselves: only scan descriptions cross the coordinator', async () => {
      restore();
      const dir = join(tmp.path, 'parquet-src');
      mkdirSync(dir);
      for (const f of [0, 1, 2]) await con.sql(`select range + ${f * 20} as x from range(20)`).mapBatches({ ...cudfs, export: 'blobOf' }, { schema: { x: 'BIGINT', blob: 'BLOB' }, backend: 'inline' }).writeParquet(join(dir, `part-${f}.parquet`));
      // Batches of 7 cut across the three files, as the local runner's do.
      const rel = (cluster: boolean) => con.sql(`select x, blob from read_parquet('${dir}/*.parquet') where x % 5 <> 2`)
        .map({ ...cudfs, export: 'sizeOf' }, { schema: { x: 'BIGINT', n: 'INTEGER', first: 'INTEGER' }, batchSize: 7, backend: cluster ? 'cluster_task' : 'inline', concurrency: 3 });
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(local), 'the cluster output differs from the local one');
      const { sent, received, scanDescriptions } = cluster.lastReport!.coordinatorBytes!;
      const batches = cluster.lastReport!.stages[0].batchesIn;
      assert.equal(batches, Math.ceil(48 / 7));
      assert.equal(sent, 0, 'no source row went from the coordinator to a worker');
      assert.ok(scanDescriptions > 0 && scanDescriptions < batches * 2 * 1024, `${scanDescriptions} bytes of scan descriptions for ${batches} jobs`);
      assert.ok(received < (48 * 65_536) / 100, `the coordinator read back only the small output, not the blobs (${received} bytes)`);
    });

    /** The dataset read by a cluster stage under bullmq gives the local bytes, and no source row passes through the coordinator. */
    const checkDatasetSplit = async (url: string, storage?: DatasetStorage) => {
      restore();
      const rel = (cluster: boolean) => con.dataset(url, storage ? { storage } : {})
        .map({ ...cudfs, export: 'sizeOf' }, { schema: { x: 'BIGINT', n: 'INTEGER', first: 'INTEGER' }, batchSize: 7, backend: cluster ? 'cluster_task' : 'inline', concurrency: 3 });
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      const got = await bytesOf(cluster);
      if (!got.equals(local)) assert.deepEqual(tableFromIPC(got).toArray().map((r) => r.toJSON()), tableFromIPC(local).toArray().map((r) => r.toJSON()));
      const { sent, received, scanDescriptions } = cluster.lastReport!.coordinatorBytes!;
      assert.equal(cluster.lastReport!.stages[0].rowsIn, 90 - 6);
      assert.equal(cluster.lastReport!.stages[0].batchesIn, Math.ceil(84 / 7), 'batches cut across fragments as local cuts them');
      assert.equal(sent, 0, 'no source row went from the coordinator to a worker');
      assert.ok(scanDescriptions > 0, 'fragment scans went to the workers');
      assert.ok(received < (84 * 65_536) / 100, `the coordinator read back only the small output (${received} bytes)`);
    };

    it('has workers read a local dataset version fragment by fragment, with the local bytes', async () => {
      const url = join(tmp.path, 'ds-fragments');
      await fragmentedDataset(url);
      await checkDatasetSplit(url);
    });

    it('has workers read an s3 dataset version themselves, with their own credentials and cache', async (t) => {
      if (typeof s3 === 'string') {
        if (process.env.CI === 'true') assert.fail(s3);
        return t.skip(s3);
      }
      await s3.prepare();
      const url = s3.url('bullmq-ds');
      const storage = { endpoint: s3.options.endpoint, region: s3.options.region, credentials: creds };
      await fragmentedDataset(url, storage);
      await checkDatasetSplit(url, storage);
    });

    it('reads a source that mixes rows (order by) on the coordinator, with the same output as local', async () => {
      restore();
      const dir = join(tmp.path, 'parquet-src');
      const rel = (cluster: boolean) => con.sql(`select x from read_parquet('${dir}/*.parquet') order by x desc`)
        .map({ ...udfs, export: 'parity' }, { schema: { x: 'BIGINT', parity: 'VARCHAR' }, batchSize: 16, backend: cluster ? 'cluster_task' : 'inline' });
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(local));
      assert.ok(cluster.lastReport!.coordinatorBytes!.sent > 0);
      assert.equal(cluster.lastReport!.coordinatorBytes!.scanDescriptions, 0);
    });

    it('constructs an actor once per worker slot and serves many batches with it', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const rows = await con.sql('select range as x from range(200)')
        .mapBatches({ ...udfs, export: 'Counter' }, { schema: { x: 'BIGINT', instance: 'INTEGER', calls: 'INTEGER', pid: 'INTEGER' }, batchSize: 10, backend: 'cluster_actor', concurrency: 3 })
        .rows();
      assert.equal(rows.length, 200);
      const byPid = new Map<unknown, typeof rows>();
      for (const r of rows) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
      assert.ok(byPid.size <= 5, `at most one actor per slot of the two plain workers and the gpu worker (${byPid.size} processes)`);
      for (const [pid, rs] of byPid) assert.ok(rs.every((r) => r.instance === 1), `process ${pid} constructed its actor once`);
      assert.equal(Math.max(...rows.map((r) => r.calls as number)) > 1, true, 'an actor served more than one batch');
    });

    it('serves a later run of the same task stage with the UDF processes of the earlier run', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const run = async () => new Set((await con.sql('select range as x from range(40)')
        .map({ ...cudfs, export: 'whichProcess' }, { schema: { x: 'BIGINT', process: 'INTEGER' }, batchSize: 2, backend: 'cluster_task', concurrency: 4 })
        .rows()).map((r) => r.process));
      const first = await run();
      const second = await run();
      // Which workers take the jobs is up to BullMQ, so the bound is that processes were reused, not that every one was.
      assert.ok([...second].some((p) => first.has(p)), `the second run used none of the first run's UDF processes (${[...first]} then ${[...second]})`);
    });

    it('runs a stage that asks for gpus only on the worker offering them', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const rows = await con.sql('select range as x from range(60)')
        .map({ ...cudfs, export: 'whichWorker' }, { schema: { x: 'BIGINT', worker: 'INTEGER' }, batchSize: 5, backend: 'cluster_actor', concurrency: 4, resources: { gpus: 1 } })
        .rows();
      const gpu = workers.find((w) => w.output().includes('w-gpu'))!;
      assert.deepEqual([...new Set(rows.map((r) => r.worker))], [gpu.pid]);
    });

    it('never runs more batches of a stage at once than its concurrency, across all workers', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const rows = await con.sql('select range as x from range(120)')
        .mapBatches({ ...cudfs, export: 'countActive' }, { schema: { x: 'BIGINT', busy: 'INTEGER' }, batchSize: 4, backend: 'cluster_task', concurrency: 2 })
        .rows();
      assert.equal(rows.length, 120);
      assert.ok(Math.max(...rows.map((r) => r.busy as number)) <= 2, 'five worker slots are free, yet at most two batches may run');
    });

    it('skips failing rows under onError skip exactly as the local runner does', async () => {
      const rel = (cluster: boolean) => con.sql('select range as x from range(50)')
        .mapBatches({ ...udfs, export: 'failOn6Mod7' }, { schema: { x: 'BIGINT' }, batchSize: 8, backend: cluster ? 'cluster_task' : 'inline', onError: 'skip' });
      restore();
      const local = rel(false);
      const localBytes = await bytesOf(local);
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(localBytes));
      assert.equal(cluster.lastReport!.stages[0].skippedRows, local.lastReport!.stages[0].skippedRows);
    });

    it('retries a batch whose UDF threw on the worker, maxRetries times, as the local runner does', async () => {
      const rel = (cluster: boolean) => con.sql('select range as x from range(60)')
        .mapBatches({ ...cudfs, export: 'flakyDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 10, backend: cluster ? 'cluster_task' : 'inline', maxRetries: 2, retryBackoffMs: 0, concurrency: 2 });
      restore();
      process.env.QUIVER_TEST_FLAKY_DIR = join(tmp.path, 'flaky-local');
      const local = rel(false);
      const localBytes = await bytesOf(local);
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(localBytes));
      // Batches starting at 0, 20 and 40 fail twice each and succeed on the second retry.
      assert.equal(local.lastReport!.stages[0].retries, 6);
      assert.equal(cluster.lastReport!.stages[0].retries, 6);
      assert.equal(readdirSync(join(tmp.path, 'flaky-cluster')).length, 9);
      const tooFew = con.sql('select range as x from range(60)')
        .mapBatches({ ...cudfs, export: 'flakyDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 10, backend: 'cluster_task', maxRetries: 1, retryBackoffMs: 0 });
      rmSync(join(tmp.path, 'flaky-cluster'), { recursive: true });
      await assert.rejects(tooFew.toArrow(), /flaky on batch 0, call 1/);
    });

    it('commits writeDataset once, with the bullmq runner in its lineage, and nothing when a batch fails', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const good = join(tmp.path, 'ds-good');
      const { report } = await con.sql('select range as x from range(30)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 7, backend: 'cluster_task' })
        .writeDataset(good, { message: 'doubled' });
      assert.equal(report.rowsOut, 30);
      const ds = await open(good);
      try {
        const log = [];
        for await (const c of ds.log()) log.push(c);
        assert.equal(log.filter((c) => c.message === 'doubled').length, 1);
        assert.equal((log[0].meta as { pipeline: { runner: string } }).pipeline.runner, 'bullmq');
      } finally {
        await ds.close();
      }
      const bad = join(tmp.path, 'ds-bad');
      await assert.rejects(con.sql('select range as x from range(30)')
        .mapBatches({ ...udfs, export: 'failOn6Mod7' }, { schema: { x: 'BIGINT' }, batchSize: 7, backend: 'cluster_task' })
        .writeDataset(bad, { message: 'never' }), /failed on batch 0 \(first row id 0\)/);
      assert.equal((await con.dataset(bad).rows()).length, 0);
    });

    it('stops the run\'s jobs when the caller stops reading', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const rel = con.sql('select range as x from range(2000)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 10, backend: 'cluster_task' });
      let batches = 0;
      for await (const _ of rel) if (++batches === 2) break;
      const r = new Redis(redisUrl);
      try {
        assert.deepEqual(await r.keys(`${prefix}:run-*`), [], 'the run\'s queue is gone');
        assert.deepEqual(await r.smembers(`${prefix}:runs`), []);
      } finally {
        r.disconnect();
      }
      assert.ok(rel.lastReport!.stages[0].batchesIn < 200);
    });

    it('leaves no run, queue or stored batch behind once the run is done', async () => {
      const r = new Redis(redisUrl);
      try {
        assert.deepEqual(await r.keys(`${prefix}:run*`), []);
        assert.equal((await r.smembers(`${prefix}:runs`)).length, 0);
      } finally {
        r.disconnect();
      }
      const stored = readdirSync(join(tmp.path), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.parentPath.includes('runs'));
      assert.deepEqual(stored.map((e) => e.name), []);
    });
  });
});
