// writeDataset under the bullmq runner: the last cluster stage's workers write the fragments
// themselves, only the files' metadata comes back, and the coordinator commits once. Checked
// against real `quiver worker` processes: the same dataset contents as under `local` (row ids
// aside), no row bytes through the coordinator, a worker killed -9 at a marker still gives one
// commit with every row once, and a failing stage commits nothing.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, open } from '../../../../src/dataset/index.js';
import { connect, type Connection } from '../../../../src/pipeline/index.js';
import { withRedis } from '../../../helpers/servers.js';
import { startWorkerProcess, tearDown, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const fixtures = new URL('../../fixtures/', import.meta.url).href;
const udfs = { module: `${fixtures}udfs.ts` };
const cudfs = { module: `${fixtures}cluster-udfs.ts` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the pid in the first `held-<pid>` marker in `dir`. */
async function heldBy(dir: string): Promise<number> {
  for (;;) {
    const m = readdirSync(dir).find((n) => n.startsWith('held-'));
    if (m) return Number(m.slice(5));
    await sleep(10);
  }
}

/** Commits of a dataset, newest first. */
async function logOf(url: string): Promise<{ message: string; meta?: Record<string, unknown> }[]> {
  const ds = await open(url);
  try {
    const log = [];
    for await (const c of ds.log()) log.push(c as { message: string; meta?: Record<string, unknown> });
    return log;
  } finally {
    await ds.close();
  }
}

withRedis('bullmq writeDataset', (redisUrl) => {
  describe('bullmq writeDataset: workers write the fragments', { timeout: 300_000 }, () => {
    const tmp = tempDir('bullmq-write');
    const prefix = uniquePrefix();
    const markers = join(tmp.path, 'markers');
    const env = { QUIVER_TEST_MARKER_DIR: markers, QUIVER_TEST_HOLD_AT: '41' };
    let workers: WorkerProcess[] = [];
    let con: Connection;
    let restore = () => undefined as void;
    const source = join(tmp.path, 'source');

    before(async () => {
      mkdirSync(markers);
      // A source of two fragments with a delete, so the run reads fragment scans on the workers too.
      const ds = await create(source, { schema: { x: 'int64' }, write: { fragmentRowsMax: 50, autoCompact: false } });
      try {
        await ds.append(Array.from({ length: 100 }, (_, i) => ({ x: BigInt(i) })));
        await ds.commit('source');
        await ds.delete({ where: 'x = 17' });
        await ds.commit('delete 17');
      } finally {
        await ds.close();
      }
      workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', `w-write-${i}`, '--lock-duration-ms', '1000'], { env })));
      con = await connect({ terminal: 'off' });
    });
    after(() => tearDown(restore, con, workers, tmp));

    /** Dataset → blobs (64 KiB each, a large column in its own files) → dataset. */
    const pipeline = (cluster: boolean) =>
      con.dataset(source)
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 20, backend: cluster ? 'cluster_task' : 'inline', concurrency: 2 })
        .mapBatches({ ...cudfs, export: 'blobOf' }, { schema: { x: 'BIGINT', blob: 'BLOB' }, batchSize: 15, backend: cluster ? 'cluster_task' : 'inline', concurrency: 2 });

    /**
     * A dataset's rows in its one order (fragment by fragment, file order) without row ids: every
     * value, the blobs byte for byte. (Not the Arrow IPC of the read: its record batches follow
     * fragment boundaries, which differ, one fragment per job against the local run's one.)
     */
    const contents = async (url: string) => (await con.dataset(url).rows()).map(({ row_id: _id, ...r }) => r);
    const sameContents = async (a: string, b: string, what: string) => {
      const [x, y] = [await contents(a), await contents(b)];
      assert.equal(x.length, y.length, what);
      x.forEach((r, i) => assert.deepStrictEqual(r, y[i], `${what}: row ${i}`));
    };

    it('gives the local runner\'s contents, with no row byte through the coordinator, in one commit', async () => {
      writeFileSync(join(markers, 'release'), '');
      try {
        await checkContents();
      } finally {
        rmSync(join(markers, 'release'));
      }
    });

    const checkContents = async () => {
      const local = join(tmp.path, 'local');
      await pipeline(false).writeDataset(local, { message: 'blobs' });
      // Every batch between stages goes through the store (none inline in a job), so any row byte the coordinator moved would show.
      restore = useCluster(redisUrl, prefix, tmp.url, { inlineBytesMax: 0 });
      const remote = join(tmp.path, 'remote');
      const { report } = await pipeline(true).writeDataset(remote, { message: 'blobs' });
      assert.equal(report.rowsOut, 99);
      await sameContents(remote, local, 'the dataset written by workers differs from the local one');
      const { sent, received, scanDescriptions, writtenMeta } = report.coordinatorBytes!;
      assert.equal(sent, 0, 'no source row went from the coordinator to a worker');
      assert.equal(received, 0, 'no output row came back to the coordinator');
      assert.ok(scanDescriptions > 0 && writtenMeta > 0);
      assert.ok(writtenMeta < 99 * 65_536 / 100, `only file metadata came back (${writtenMeta} bytes)`);
      const log = await logOf(remote);
      assert.deepEqual(log.map((c) => c.message), ['blobs', 'create dataset']);
      assert.equal((log[0].meta as { pipeline: { runner: string } }).pipeline.runner, 'bullmq');
      const [ids] = await con.sql('select count(distinct row_id)::int as n, count(*)::int as rows from d', { datasets: { d: remote } }).rows();
      assert.deepEqual(ids, { n: 99, rows: 99 });
    };

    it('commits nothing when a stage fails under onError fail', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const bad = join(tmp.path, 'bad');
      await assert.rejects(con.dataset(source)
        .mapBatches({ ...cudfs, export: 'blobOf' }, { schema: { x: 'BIGINT', blob: 'BLOB' }, batchSize: 10, backend: 'cluster_task', concurrency: 2 })
        .mapBatches({ ...udfs, export: 'failOn6Mod7' }, { schema: { x: 'BIGINT', blob: 'BLOB' }, batchSize: 10, backend: 'cluster_task', onError: 'fail' })
        .writeDataset(bad, { message: 'never' }), /bad row 6/);
      assert.deepEqual((await logOf(bad)).map((c) => c.message), ['create dataset']);
      assert.equal((await con.dataset(bad).rows()).length, 0);
    });

    it('commits every row exactly once when a worker is killed -9 mid-batch', async () => {
      restore = useCluster(redisUrl, prefix, tmp.url);
      const target = join(tmp.path, 'killed');
      const run = pipeline(true).writeDataset(target, { message: 'after a kill' });
      const pid = await heldBy(markers);
      const victim = workers.find((w) => w.pid === pid);
      assert.ok(victim, `the held batch runs on one of the workers (pid ${pid})`);
      process.kill(pid, 'SIGKILL');
      writeFileSync(join(markers, 'release'), '');
      const { report } = await run;
      assert.equal(report.rowsOut, 99);
      assert.deepEqual((await logOf(target)).map((c) => c.message), ['after a kill', 'create dataset']);
      const [counts] = await con.sql('select count(*)::int as rows, count(distinct x)::int as xs, count(distinct row_id)::int as ids from d', { datasets: { d: target } }).rows();
      assert.deepEqual(counts, { rows: 99, xs: 99, ids: 99 });
      await sameContents(target, join(tmp.path, 'local'), 'the dataset after the kill differs from the local one');
      assert.ok(existsSync(join(markers, 'release')));
    });
  });
});
