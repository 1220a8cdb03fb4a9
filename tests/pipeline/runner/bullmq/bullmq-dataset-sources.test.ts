// Dataset sources the workers read themselves beyond a plain version: a row-wise SELECT over a
// dataset bound into SQL (`con.sql(…, { datasets })`) and `since` (rows added after a version),
// split by fragment. Checked against real `quiver worker` processes: the local runner's bytes,
// no source row through the coordinator (`coordinatorBytes.sent` 0), and a SELECT that mixes
// rows kept on the coordinator path with the same output.

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { create } from '../../../../src/dataset/index.js';
import { connect, type Connection, type Relation } from '../../../../src/pipeline/index.js';
import { ipcFromTable } from '../../../../src/pipeline/ipc.js';
import { withRedis } from '../../../helpers/servers.js';
import { startWorkerProcess, tearDown, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const fixtures = new URL('../../fixtures/', import.meta.url).href;
const cudfs = { module: `${fixtures}cluster-udfs.ts` };
const udfs = { module: `${fixtures}udfs.ts` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ x: BigInt(from + i), tag: `t${(from + i) % 5}`, blob: new Uint8Array(65_536).fill((from + i) % 251) }));

/**
 * Five fragments of 16 rows or fewer with 64 KiB blobs in their own files: 60 rows, deletes,
 * then (after `base`) 30 more rows and an update that moves row x = 5 into a new fragment under
 * its old row id (so it is not "added since"). Returns the commit id of `base`.
 */
async function growingDataset(url: string): Promise<string> {
  const ds = await create(url, { schema: { x: 'int64', tag: 'text', blob: 'binary' }, write: { fragmentRowsMax: 16, autoCompact: false } });
  try {
    await ds.append(rows(0, 60));
    await ds.commit('first');
    await ds.delete({ where: 'x % 7 = 3' });
    const base = await ds.commit('base');
    await ds.append(rows(60, 30));
    await ds.commit('more');
    await ds.update({ where: 'x = 5', set: { tag: 'moved' } });
    await ds.commit('update');
    return base.id;
  } finally {
    await ds.close();
  }
}

async function bytesOf(rel: Relation): Promise<Buffer> {
  return Buffer.from(ipcFromTable(await rel.toArrow()));
}

withRedis('bullmq dataset sources', (redisUrl) => {
  describe('bullmq runner: bound-SQL and since dataset sources', { timeout: 300_000 }, () => {
    const tmp = tempDir('bullmq-dsrc');
    const prefix = uniquePrefix();
    const url = join(tmp.path, 'growing');
    let base = '';
    let workers: WorkerProcess[] = [];
    let con: Connection;
    let restore = () => undefined as void;

    before(async () => {
      base = await growingDataset(url);
      workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', `w-dsrc-${i}`])));
      con = await connect({ terminal: 'off' });
    });
    after(() => tearDown(restore, con, workers, tmp));

    /**
     * Runs `rel` under local (inline stage) and bullmq (cluster_task), checks the same Arrow bytes,
     * the row count, and that only scan descriptions — no source row — crossed the coordinator.
     */
    /** How many times workers served a run's source-count stage (their log names it). */
    const countStagesServed = () => workers.reduce((n, w) => n + (w.output().match(/stage 0 "source count"/g) ?? []).length, 0);

    const checkSplit = async (rel: (cluster: boolean) => Relation, expectRows: number) => {
      const counted = countStagesServed();
      restore();
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      const got = await bytesOf(cluster);
      if (!got.equals(local)) assert.deepEqual(tableFromIPC(got).toArray().map((r) => r.toJSON()), tableFromIPC(local).toArray().map((r) => r.toJSON()));
      assert.ok(got.equals(local), 'the same Arrow bytes');
      const rep = cluster.lastReport!;
      assert.equal(rep.stages[0].rowsIn, expectRows);
      const { sent, scanDescriptions } = rep.coordinatorBytes!;
      assert.equal(sent, 0, 'no source row went from the coordinator to a worker');
      assert.ok(scanDescriptions > 0, 'fragment scans went to the workers');
      // Every case here filters, so its pieces were counted by workers, not by the coordinator's
      // DuckDB; a worker logs the count stage before it answers a count the run waits on.
      while (countStagesServed() === counted) await sleep(10);
      return rep;
    };

    const sizeStage = (r: Relation, cluster: boolean) =>
      r.map({ ...cudfs, export: 'sizeOf' }, { schema: { x: 'BIGINT', n: 'INTEGER', first: 'INTEGER' }, batchSize: 7, backend: cluster ? 'cluster_task' : 'inline', concurrency: 3 });

    it('has workers read a filtered SELECT over a bound dataset fragment by fragment, with the local bytes', async () => {
      // 90 rows less 9 deleted (x % 7 = 3 below 60); of those, x % 3 <> 0 keeps 53.
      const want = Array.from({ length: 90 }, (_, x) => x).filter((x) => !(x < 60 && x % 7 === 3) && x % 3 !== 0).length;
      await checkSplit((c) => sizeStage(con.sql('select x + 0 as x, blob from ds where x % 3 <> 0', { datasets: { ds: url } }), c), want);
    });

    it('has workers read only the rows added since a version: appended rows, not the row an update moved', async () => {
      await checkSplit((c) => sizeStage(con.dataset(url, { since: base }), c), 30);
    });

    it('has workers read a bound SELECT with since, its WHERE applied to the added rows', async () => {
      await checkSplit((c) => sizeStage(con.sql('select x, blob from ds where tag <> \'t0\'', { datasets: { ds: url }, since: base }), c), 24);
    });

    it('reads a SELECT over a bound dataset that mixes rows (group by) on the coordinator, with the local output', async () => {
      restore();
      const rel = (cluster: boolean) => con.sql('select tag, count(*)::BIGINT as x from ds group by tag order by tag', { datasets: { ds: url } })
        .map({ ...udfs, export: 'parity' }, { schema: { x: 'BIGINT', parity: 'VARCHAR' }, batchSize: 4, backend: cluster ? 'cluster_task' : 'inline' });
      const local = await bytesOf(rel(false));
      restore = useCluster(redisUrl, prefix, tmp.url);
      const cluster = rel(true);
      assert.ok((await bytesOf(cluster)).equals(local));
      assert.ok(cluster.lastReport!.coordinatorBytes!.sent > 0, 'the grouped rows went from the coordinator');
      assert.equal(cluster.lastReport!.coordinatorBytes!.scanDescriptions, 0);
    });
  });
});
