// The bullmq runner's faults, each against real processes: Redis unreachable, no worker with the
// requested resources, a worker killed -9 mid-batch, Redis restarted mid-run, a worker without the
// UDF module (or with another version of it). Each either fails naming the cause or finishes with
// the local runner's bytes, and none commits anything partial. Markers, not timers, decide when to act.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { isQuiverError } from '../../../../src/errors.js';
import { connect, type Connection, type Relation } from '../../../../src/pipeline/index.js';
import { ipcFromTable } from '../../../../src/pipeline/ipc.js';
import { withRedis } from '../../../helpers/servers.js';
import { freePort, privateRedis, startCoordinatorProcess, startWorkerProcess, tempDir, uniquePrefix, useCluster, type WorkerProcess } from './cluster-harness.js';

const cudfs = { module: new URL('../../fixtures/cluster-udfs.ts', import.meta.url).href };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bytesOf(rel: Relation): Promise<Buffer> {
  return Buffer.from(ipcFromTable(await rel.toArrow()));
}

/** Resolves with the pid in the first `held-<pid>` marker in `dir`. */
async function heldBy(dir: string): Promise<number> {
  for (;;) {
    const m = readdirSync(dir).find((n) => n.startsWith('held-'));
    if (m) return Number(m.slice(5));
    await sleep(10);
  }
}

const held = (con: Connection, backend: 'cluster_task' | 'inline') =>
  con.sql('select range as x from range(400)')
    .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 20, backend, concurrency: 3 });

describe('bullmq runner: redis unreachable', () => {
  it('fails the run with io naming the URL instead of waiting', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const restore = useCluster(url, uniquePrefix(), 'memory://unused');
    const con = await connect({ terminal: 'off' });
    try {
      const rel = con.sql('select 1::bigint as x').mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'cluster_task' });
      await assert.rejects(rel.toArrow(), (e) => isQuiverError(e, 'io') && e.message.includes(`cannot reach redis at ${url}`));
    } finally {
      restore();
      await con.close();
    }
  });

  it('makes quiver worker exit with status 3 and say which URL', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(startWorkerProcess(url, []), (e: Error) => /exited with 3/.test(e.message) && e.message.includes(`cannot reach redis at ${url}`));
  });
});

withRedis('bullmq runner faults', (redisUrl) => {
  describe('bullmq runner faults', () => {
    const tmp = tempDir('bullmq-faults');
    // Three workers shared by the cases on the test Redis (process start-ups are most of their
    // time); the kill case, which kills one, comes last of them.
    const prefix = uniquePrefix();
    const markers = join(tmp.path, 'kill');
    const env = { QUIVER_TEST_MARKER_DIR: markers, QUIVER_TEST_HOLD_AT: '200' };
    let shared: WorkerProcess[] = [];
    let con: Connection;
    before(async () => {
      mkdirSync(markers);
      shared = await Promise.all([1, 2, 3].map((i) => startWorkerProcess(redisUrl, ['--prefix', prefix, '--concurrency', '2', '--name', `w-cpu-${i}`, '--lock-duration-ms', '1000'], { env })));
      con = await connect({ terminal: 'off' });
    });
    after(async () => {
      await con?.close();
      await Promise.all(shared.map((w) => w.stop()));
      tmp.dispose();
    });

    it('fails after workerWaitMs naming the resource no worker offers, and commits nothing', async () => {
      const restore = useCluster(redisUrl, prefix, tmp.url, { workerWaitMs: 300 });
      const target = join(tmp.path, 'no-gpu-dataset');
      try {
        const rel = con.sql('select range as x from range(10)')
          .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'cluster_actor', resources: { gpus: 1 } });
        await assert.rejects(rel.writeDataset(target), (e) => isQuiverError(e, 'unsupported') && /resources gpus=1/.test(e.message) && /w-cpu-1 \[none\]/.test(e.message));
        // writeDataset creates a missing dataset before the run (as under local); the failed run adds no rows to it.
        assert.equal((await con.dataset(target).rows()).length, 0);
      } finally {
        restore();
      }
    });

    it('finishes a run with the local bytes when Redis restarts (empty) mid-run', async () => {
      const markers = join(tmp.path, 'restart');
      mkdirSync(markers);
      const env = { QUIVER_TEST_MARKER_DIR: markers, QUIVER_TEST_HOLD_AT: '100' };
      writeFileSync(join(markers, 'release'), '');
      Object.assign(process.env, env);
      const local = await bytesOf(held(con, 'inline'));
      rmSync(join(markers, 'release'));
      const redis = await privateRedis(markers);
      const workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redis.url, ['--concurrency', '2', '--name', `w-restart-${i}`, '--lock-duration-ms', '1000'], { env })));
      const restore = useCluster(redis.url, 'quiver', tmp.url);
      try {
        const run = bytesOf(held(con, 'cluster_task'));
        await heldBy(markers);
        await redis.restart();
        writeFileSync(join(markers, 'release'), '');
        assert.ok((await run).equals(local), 'the output after the restart differs from the local run');
      } finally {
        restore();
        await Promise.all(workers.map((w) => w.stop()));
        await redis.stop();
      }
    });

    it('lists its run again when a worker\'s sweep unlisted it while it was announced, and finishes with the local bytes', async () => {
      // The end state of a race around a Redis restart: a worker read the run list before the
      // restart and the (not yet re-made) announcement after it, took the run for a dead
      // coordinator's and unlisted it just after the coordinator announced it again. Workers
      // serve only listed runs, so the run hung with live workers. The unlisting is done here.
      const r = new Redis(redisUrl);
      const until = async (ok: () => boolean | Promise<boolean>) => {
        while (!(await ok())) await sleep(10);
      };
      writeFileSync(join(markers, 'release'), '');
      Object.assign(process.env, env);
      const local = await bytesOf(held(con, 'inline'));
      rmSync(join(markers, 'release'));
      const restore = useCluster(redisUrl, prefix, tmp.url);
      const run = bytesOf(held(con, 'cluster_task'));
      let id = '';
      try {
        await heldBy(markers);
        [id] = await r.smembers(`${prefix}:runs`);
        await r.srem(`${prefix}:runs`, id);
        // Three refreshes of the announcement after the unlisting. The first pass to see the run
        // unlisted refreshes it twice (its pexpire, then the announcement's SET … PX) before it
        // lists the run, so a second refresh may be that pass's own SET, seen before its SADD (CI
        // caught exactly that). The third refresh is a later pass's, and passes never overlap.
        for (let refreshes = 0; refreshes < 3; refreshes++) {
          let ttl = await r.pttl(`${prefix}:run:${id}`);
          await until(async () => {
            const now = await r.pttl(`${prefix}:run:${id}`);
            const refreshed = now > ttl;
            ttl = now;
            return refreshed;
          });
        }
        assert.equal(await r.sismember(`${prefix}:runs`, id), 1, 'the coordinator lists its run again');
        id = ''; // listed by its coordinator: not to be listed again after it ends
        writeFileSync(join(markers, 'release'), '');
        assert.ok((await run).equals(local), 'the output differs from the local run');
      } finally {
        // On a failure above, list the run again (workers serve it) so that it ends and this file's process can too.
        if (id) await r.sadd(`${prefix}:runs`, id);
        writeFileSync(join(markers, 'release'), '');
        await run.catch(() => undefined);
        restore();
        for (const m of readdirSync(markers)) rmSync(join(markers, m), { force: true });
        r.disconnect();
      }
    });

    it('sweeps every key of a coordinator killed mid-run once its announcement lapses', async () => {
      const r = new Redis(redisUrl);
      const until = async (ok: () => boolean | Promise<boolean>) => {
        while (!(await ok())) await sleep(20);
      };
      const storedBatches = () => readdirSync(tmp.path, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.arrow')).map((e) => e.name);
      const coordinator = await startCoordinatorProcess(redisUrl, prefix, tmp.url, 1000);
      try {
        await heldBy(markers);
        assert.ok((await r.keys(`${prefix}:run-*`)).length > 0, 'the run has queue keys while it runs');
        assert.ok(storedBatches().length > 0, 'the run has stored batches while it runs');
        const runs = await r.smembers(`${prefix}:runs`);
        assert.equal(runs.length, 1, `one run listed: ${runs}`);
        await coordinator.kill();
        // Workers leave the run once its announcement lapses; the last one out sweeps it. The
        // shared workers' output holds earlier tests' lines too: wait for this run's sweep.
        await until(() => shared.some((w) => w.output().includes(`swept run ${runs[0]} `)));
        assert.deepEqual(await r.keys(`${prefix}:run*`), [], 'no queue, announcement or serving set is left');
        assert.deepEqual(await r.smembers(`${prefix}:runs`), []);
        assert.deepEqual(storedBatches(), [], `the dead run's stored batches are swept too; workers said: ${shared.map((w) => w.output()).join('')}`);
        assert.ok(shared.every((w) => w.output().includes('stopped run-')), 'every worker stopped serving the dead run');
      } finally {
        await coordinator.kill();
        for (const m of readdirSync(markers)) rmSync(join(markers, m), { force: true });
        r.disconnect();
      }
    });

    it('runs again a job an interrupted sweep left in no queue list, and finishes with the local bytes', async () => {
      // The end state of a sweep of a coordinator that stalled past its announcement, cut short
      // (the sweeper died, or the coordinator came back and announced again): SCAN + DEL removed
      // some of the queue's keys — here its wait list — and not yet the job hashes. The job then
      // exists but is in no list, so no worker takes it and adding it again under its id is a no-op.
      const r = new Redis(redisUrl);
      writeFileSync(join(markers, 'release'), '');
      Object.assign(process.env, env);
      const one = (backend: 'cluster_task' | 'inline') => con.sql('select range as x from range(400)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 20, backend, concurrency: 1 });
      const local = await bytesOf(one('inline'));
      rmSync(join(markers, 'release'));
      const restore = useCluster(redisUrl, prefix, tmp.url);
      const run = bytesOf(one('cluster_task'));
      try {
        // Concurrency 1, two batches in flight: batch 10 (x = 200) is held, batch 11 waits behind it.
        await heldBy(markers);
        const [id] = await r.smembers(`${prefix}:runs`);
        const q = new Queue(`run-${id}-s1`, { connection: r, prefix });
        const waiting = await q.getJob('b11');
        assert.equal(await waiting?.getState(), 'waiting');
        await r.del(`${prefix}:run-${id}-s1:wait`);
        assert.equal(await waiting!.getState(), 'unknown', 'batch 11 is in no list');
        writeFileSync(join(markers, 'release'), '');
        assert.ok((await run).equals(local), 'the output differs from the local run');
        await q.close();
      } finally {
        writeFileSync(join(markers, 'release'), '');
        await run.catch(() => undefined);
        restore();
        for (const m of readdirSync(markers)) rmSync(join(markers, m), { force: true });
        r.disconnect();
      }
    });

    it('ends a run whose Redis went away within redisDownMsMax, failing it with io', async () => {
      const markers = join(tmp.path, 'down');
      mkdirSync(markers);
      const env = { QUIVER_TEST_MARKER_DIR: markers, QUIVER_TEST_HOLD_AT: '100' };
      Object.assign(process.env, env);
      const redis = await privateRedis(markers);
      const workers = await Promise.all([1, 2].map((i) => startWorkerProcess(redis.url, ['--concurrency', '2', '--name', `w-down-${i}`], { env })));
      // 2 s, not less: under load (2 cores, loads of 15 seen) one watchdog pass took over 500 ms with Redis up.
      const restore = useCluster(redis.url, 'quiver', tmp.url, { redisDownMsMax: 2000 });
      try {
        const run = bytesOf(held(con, 'cluster_task'));
        const first = await Promise.race([heldBy(markers), run.then(() => 'finished', (e: unknown) => e)]);
        assert.equal(typeof first, 'number', `the run ended before its batch was held: ${String(first)}`);
        await redis.stop();
        // The run's end (queue and event closes among it) is bounded too: the rejection arrives
        // (before, the closes waited for Redis forever). The workers stop too, after their close's deadline.
        await assert.rejects(run, (e) => isQuiverError(e, 'io') && /did not answer/.test(e.message));
      } finally {
        writeFileSync(join(markers, 'release'), '');
        restore();
        await Promise.all(workers.map((w) => w.stop()));
        await redis.stop();
      }
    });

    it('re-runs the batch of a worker killed -9 mid-batch elsewhere, with the local bytes', async () => {
      writeFileSync(join(markers, 'release'), '');
      Object.assign(process.env, env); // the local run (in this process) sees the markers too
      const local = await bytesOf(held(con, 'inline'));
      rmSync(join(markers, 'release'));
      const restore = useCluster(redisUrl, prefix, tmp.url);
      try {
        const run = bytesOf(held(con, 'cluster_task'));
        const pid = await heldBy(markers);
        assert.ok(shared.some((w) => w.pid === pid), `the held batch runs on one of the workers (pid ${pid})`);
        process.kill(pid, 'SIGKILL');
        writeFileSync(join(markers, 'release'), '');
        assert.ok((await run).equals(local), 'the output after the kill differs from the local run');
      } finally {
        restore();
      }
    });

    it('fails naming the worker when it cannot find the UDF module in its install, or has another version', async () => {
      const prefix = uniquePrefix();
      const elsewhere = join(tmp.path, 'other-install');
      mkdirSync(join(elsewhere, 'tests/pipeline/fixtures'), { recursive: true });
      writeFileSync(join(elsewhere, 'package.json'), JSON.stringify({ name: 'not-quiver' }));
      const stale = join(tmp.path, 'stale-install');
      mkdirSync(join(stale, 'tests/pipeline/fixtures'), { recursive: true });
      writeFileSync(join(stale, 'package.json'), JSON.stringify({ name: 'quiver-db' }));
      writeFileSync(join(stale, 'tests/pipeline/fixtures/cluster-udfs.ts'), 'export function holdThenDouble() {}\n');
      const rel = () => con.sql('select range as x from range(4)')
        .mapBatches({ ...cudfs, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'cluster_task' });
      const restore = useCluster(redisUrl, prefix, tmp.url);
      // Workers are stopped in finally: a failed assertion must not leave one running, which
      // kept this file's process (and so the suite) from ending.
      const workers: { stop(): Promise<unknown> }[] = [];
      try {
        const missing = await startWorkerProcess(redisUrl, ['--prefix', prefix, '--name', 'w-missing'], { cwd: elsewhere });
        workers.push(missing);
        await assert.rejects(rel().toArrow(), (e) => isQuiverError(e, 'udf_failed') && /worker w-missing cannot find UDF module tests\/pipeline\/fixtures\/cluster-udfs.ts of package quiver/.test(e.message));
        await missing.stop();
        const old = await startWorkerProcess(redisUrl, ['--prefix', prefix, '--name', 'w-stale'], { cwd: stale });
        workers.push(old);
        await assert.rejects(rel().toArrow(), (e) => isQuiverError(e, 'udf_failed') && /worker w-stale has a different version of UDF module/.test(e.message));
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        restore();
      }
      assert.ok(!existsSync(join(elsewhere, 'runs')));
    });
  });
});
