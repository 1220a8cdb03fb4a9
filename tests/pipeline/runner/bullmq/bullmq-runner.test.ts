// The bullmq runner against a real Redis and real `quiver worker` processes: the same relation
// gives the same bytes as under `local`; actors, resources and the cluster-wide concurrency
// bound hold; a run leaves nothing in Redis or the store; a worker without the UDF module says so.

import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configure, connect, type Connection, type Relation } from '../../../../src/pipeline/index.js';
import { ipcFromTable } from '../../../../src/pipeline/ipc.js';
import { withRedis } from '../../../helpers/servers.js';
import { startWorkerProcess, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const fixtures = new URL('../../fixtures/', import.meta.url).href;
const udfs = { module: `${fixtures}udfs.ts` };
const cudfs = { module: `${fixtures}cluster-udfs.ts` };

async function bytesOf(rel: Relation): Promise<Buffer> {
  return Buffer.from(ipcFromTable(await rel.toArrow()));
}

withRedis('bullmq runner', (redisUrl) => {
  describe('bullmq runner', () => {
    const tmp = tempDir('bullmq');
    const prefix = uniquePrefix();
    const env = { QUIVER_TEST_MARKER_DIR: tmp.path };
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
    after(async () => {
      restore();
      await con?.close();
      await Promise.all(workers.map((w) => w.stop()));
      tmp.dispose();
    });

    /** The same stages under local (subprocess backends) and bullmq (cluster backends). */
    const pipeline = (cluster: boolean) =>
      con.sql('select range as x from range(300)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 16, backend: cluster ? 'cluster_task' : 'subprocess_task', concurrency: 3 })
        .map({ ...udfs, export: 'parity' }, { schema: { x: 'BIGINT', parity: 'VARCHAR' }, batchSize: 50, backend: cluster ? 'cluster_actor' : 'subprocess_actor', concurrency: 2 })
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
