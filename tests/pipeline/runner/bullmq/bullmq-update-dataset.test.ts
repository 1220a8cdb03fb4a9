// writeDataset(…, { update: { on: 'row_id' } }) under the bullmq runner: a backfill whose rows
// never pass through the coordinator. Workers store their output pieces, merge jobs (one per
// fragment or large-column file) write them into the dataset's files, and the coordinator
// commits once. Checked against real `quiver worker` processes: the local runner's dataset (same
// rows, same values), 0 B of rows sent or received, a worker killed -9 at a marker inside a merge
// job (its files written, its answer not sent) still gives one correct commit, and an update
// whose row ids match no row commits nothing.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, open } from '../../../../src/dataset/index.js';
import { isQuiverError } from '../../../../src/errors.js';
import { connect, type Connection } from '../../../../src/pipeline/index.js';
import { withRedis } from '../../../helpers/servers.js';
import { startWorkerProcess, tearDown, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const fixtures = new URL('../../fixtures/', import.meta.url).href;
const cudfs = { module: `${fixtures}cluster-udfs.ts` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ x: BigInt(from + i), tag: `t${(from + i) % 5}`, blob: new Uint8Array(16_384).fill((from + i) % 251) }));

/**
 * Six fragments of 16 rows or fewer, blobs in their own files: 60 rows, deletes, 30 more rows,
 * and an update that moves row x = 5 into a new fragment under its old row id, so two
 * fragments' row-id ranges hold it and only one has it live; and a large column `fresh` added as
 * NULL before any row, so no file holds it. The same steps give the same row ids.
 */
async function backfillSource(url: string): Promise<void> {
  const ds = await create(url, { schema: { x: 'int64', tag: 'text', blob: 'binary' }, write: { fragmentRowsMax: 16, autoCompact: false } });
  try {
    // Issue 15's flow: a large column added as NULL (no file holds it), then backfilled.
    await ds.addColumn('fresh', 'binary');
    await ds.append(rows(0, 60));
    await ds.commit('first');
    await ds.delete({ where: 'x % 7 = 3' });
    await ds.commit('deletes');
    await ds.append(rows(60, 30));
    await ds.commit('more');
    await ds.update({ where: 'x = 5', set: { tag: 'moved' } });
    await ds.commit('update');
  } finally {
    await ds.close();
  }
}

/** Live rows in 0..89 less x % 7 = 3 below 60. */
const liveRows = 90 - 9;

async function messages(url: string): Promise<string[]> {
  const ds = await open(url);
  try {
    const out: string[] = [];
    for await (const c of ds.log()) out.push(c.message);
    return out;
  } finally {
    await ds.close();
  }
}

/** Resolves with the pid in the first `<prefix><pid>` marker in `dir`. */
async function heldBy(dir: string, prefix: string): Promise<number> {
  for (;;) {
    const m = readdirSync(dir).find((n) => n.startsWith(prefix));
    if (m) return Number(m.slice(prefix.length));
    await sleep(10);
  }
}

withRedis('bullmq update writeDataset', (redisUrl) => {
  describe('bullmq writeDataset update on row_id: workers merge the rows into the files', { timeout: 300_000 }, () => {
    const tmp = tempDir('bullmq-update');
    const prefix = uniquePrefix();
    const markers = join(tmp.path, 'markers');
    let workers: WorkerProcess[] = [];
    let con: Connection;
    let restore = () => undefined as void;
    let copies = 0;
    /** A fresh copy of the source dataset. */
    const copy = async () => {
      const url = join(tmp.path, `ds-${copies++}`);
      await backfillSource(url);
      return url;
    };

    before(async () => {
      mkdirSync(markers);
      // Claimed up front: no merge job holds until the kill test removes the claim.
      writeFileSync(join(markers, 'merge-claim'), '');
      const preload = `${fixtures}hold-merge.ts`;
      const env = { QUIVER_TEST_MARKER_DIR: markers };
      workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', `w-update-${i}`, '--lock-duration-ms', '1000'], { env, preload })));
      con = await connect({ terminal: 'off' });
    });
    after(() => tearDown(restore, con, workers, tmp));

    const schemas = { backfillBlob: { row_id: 'BIGINT', blob: 'BLOB' }, backfillFresh: { row_id: 'BIGINT', fresh: 'BLOB' }, backfillTag: { row_id: 'BIGINT', tag: 'VARCHAR' }, strayTag: { row_id: 'BIGINT', tag: 'VARCHAR' } };
    /** Issue 15's backfill: select row_id and an input column, compute a column, write it back by row id. */
    const backfill = (url: string, udf: keyof typeof schemas, cluster: boolean) =>
      con.sql('select row_id, x from ds', { datasets: { ds: url } })
        .mapBatches({ ...cudfs, export: udf }, { schema: schemas[udf], batchSize: 10, backend: cluster ? 'cluster_task' : 'inline', concurrency: 2 })
        .writeDataset(url, { update: { on: 'row_id' }, message: 'backfill' });

    const contents = (url: string) => con.sql('select * from d order by row_id', { datasets: { d: url } }).rows();
    const sameContents = async (a: string, b: string, what: string) => {
      const [x, y] = [await contents(a), await contents(b)];
      assert.equal(x.length, y.length, what);
      x.forEach((r, i) => assert.deepStrictEqual(r, y[i], `${what}: row ${i}`));
    };

    /** The local runner's result of a backfill, on a copy of its own. */
    const localResults = new Map<string, string>();
    const localResult = async (udf: keyof typeof schemas) => {
      let url = localResults.get(udf);
      if (!url) {
        url = await copy();
        await backfill(url, udf, false);
        localResults.set(udf, url);
      }
      return url;
    };

    for (const udf of ['backfillBlob', 'backfillFresh', 'backfillTag'] as const) {
      it(`gives the local runner's dataset with no row byte through the coordinator, in one commit (${udf})`, async () => {
        const local = await localResult(udf);
        // Every batch between stages goes through the store (none inline in a job), so any row byte the coordinator moved would show.
        restore = useCluster(redisUrl, prefix, tmp.url, { inlineBytesMax: 0 });
        const remote = await copy();
        const { report } = await backfill(remote, udf, true);
        assert.equal(report.rowsOut, liveRows);
        await sameContents(remote, local, 'the dataset the workers updated differs from the local one');
        const { sent, received, writtenMeta } = report.coordinatorBytes!;
        assert.equal(sent, 0, 'no source row went from the coordinator to a worker');
        assert.equal(received, 0, 'no output row came back to the coordinator');
        assert.ok(writtenMeta > 0, 'pieces, merge tasks and file metadata are counted');
        assert.ok(writtenMeta < (liveRows * 16_384) / 4, `only metadata passed through the coordinator (${writtenMeta} bytes)`);
        assert.deepEqual(await messages(remote), ['backfill', 'update', 'more', 'deletes', 'first', 'add column fresh', 'create dataset']);
        restore();
      });
    }

    it('commits nothing when the output\'s row ids match no row, like the local runner', async () => {
      const local = await copy();
      await assert.rejects(backfill(local, 'strayTag', false), (e) => isQuiverError(e, 'not_found'));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const remote = await copy();
      await assert.rejects(backfill(remote, 'strayTag', true), (e) => isQuiverError(e, 'not_found') && /match no row/.test((e as Error).message));
      assert.deepEqual(await messages(remote), ['update', 'more', 'deletes', 'first', 'add column fresh', 'create dataset']);
      await sameContents(remote, local, 'a failed update changed the dataset');
      restore();
    });

    it('commits every row exactly once when a worker is killed -9 inside a merge job', async () => {
      const local = await localResult('backfillBlob');
      restore = useCluster(redisUrl, prefix, tmp.url);
      const target = await copy();
      rmSync(join(markers, 'merge-claim'));
      const run = backfill(target, 'backfillBlob', true);
      // The held job has written its files; its worker dies before it answers, so the job is re-run elsewhere.
      const pid = await heldBy(markers, 'merge-held-');
      const victim = workers.find((w) => w.pid === pid);
      assert.ok(victim, `the held merge job runs on one of the workers (pid ${pid})`);
      process.kill(pid, 'SIGKILL');
      writeFileSync(join(markers, 'merge-release'), '');
      const { report } = await run;
      assert.equal(report.rowsOut, liveRows);
      assert.deepEqual((await messages(target)).slice(0, 2), ['backfill', 'update']);
      await sameContents(target, local, 'the dataset after the kill differs from the local one');
      assert.ok(existsSync(join(markers, 'merge-release')));
      restore();
    });
  });
});
