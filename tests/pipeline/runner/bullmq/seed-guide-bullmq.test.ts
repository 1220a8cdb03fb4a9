// Runs examples/pipeline/seed-guide.ts on the bullmq runner as a user would: a Redis, two
// `quiver worker` processes, then the example with the Redis URL. Its output must match what
// the local run writes (tests/pipeline/seed-guide.test.ts runs it on local).

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeMedia } from '../../../../examples/pipeline/make-media.js';
import { connect } from '../../../../src/pipeline/index.js';
import { withRedis } from '../../../helpers/servers.js';
import { privateRedis, startWorkerProcess, tempDir } from './cluster-harness.js';

// Under withRedis so a machine without redis-server skips (or, under CI, fails) with the reason;
// the example gets a private server, since a run there uses the default key prefix.
withRedis('examples/pipeline/seed-guide.ts on bullmq', () => describe('examples/pipeline/seed-guide.ts on bullmq', () => {
  const tmp = tempDir('seed-bullmq');
  after(() => tmp.dispose());

  it('writes the same curated Parquet on the cluster as on local', async () => {
    const redis = await privateRedis(tmp.path);
    const workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redis.url, ['--concurrency', '2', '--name', `seed-${i}`])));
    try {
      const local = join(tmp.path, 'local');
      const cluster = join(tmp.path, 'cluster');
      await makeMedia(local, 12);
      await makeMedia(cluster, 12);
      const run = (dir: string, ...extra: string[]) => spawnSync(process.execPath, ['--import', 'tsx', resolve('examples/pipeline/seed-guide.ts'), dir, ...extra], { encoding: 'utf8', timeout: 120_000 });
      const l = run(local);
      assert.equal(l.status, 0, l.stderr);
      const c = run(cluster, redis.url);
      assert.equal(c.status, 0, c.stderr);
      assert.equal(c.stdout, l.stdout, 'the printed summary is the same');
      const con = await connect({ terminal: 'off' });
      try {
        const read = (dir: string) => con.sql(`select id, path, media_type, label, score from read_parquet('${dir}/output/classified_media/*.parquet') order by id`).rows();
        const [lr, cr] = [await read(local), await read(cluster)];
        assert.equal(cr.length, lr.length);
        assert.deepEqual(cr.map((r) => [r.id, r.label, r.score]), lr.map((r) => [r.id, r.label, r.score]));
      } finally {
        await con.close();
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await redis.stop();
    }
  });
}));
