// The bullmq runner's settings without a Redis: what `configure` refuses, what a cluster backend
// does under `local`, how a stage's resources are checked, and how slots are given to a worker.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isQuiverError } from '../../../../src/errors.js';
import { configure, connect } from '../../../../src/pipeline/index.js';
import { resolveOptions } from '../../../../src/pipeline/runner/bullmq/options.js';
import { slotsFor } from '../../../../src/pipeline/runner/bullmq/protocol.js';

const udf = { module: new URL('../../fixtures/udfs.ts', import.meta.url).href, export: 'double' };

describe('bullmq runner options', () => {
  it('are checked by configure, which keeps the previous runner when it refuses them', () => {
    assert.throws(() => configure({ runner: { kind: 'bullmq', connection: 'http://x' } }), (e) => isQuiverError(e, 'invalid_input') && /needs connection: a redis:\/\/ URL/.test(e.message));
    assert.throws(() => configure({ runner: { kind: 'bullmq', connection: 'redis://h:1', workerWaitMs: -1 } }), /workerWaitMs must be an integer >= 0, got -1/);
    assert.throws(() => configure({ runner: { kind: 'bullmq', connection: 'redis://h:1', colour: 'red' } }), /has no option "colour"/);
    assert.equal(configure({}).runner, 'local');
    const c = configure({ runner: { kind: 'bullmq', connection: 'redis://h:1' } });
    assert.deepEqual([c.runner, c.runnerOptions], ['bullmq', { connection: 'redis://h:1' }]);
    assert.equal(configure({ runner: 'local' }).runner, 'local');
  });

  it('fill in their defaults', () => {
    const o = resolveOptions({ connection: 'redis://h:1' });
    assert.deepEqual({ ...o, store: undefined }, { connection: 'redis://h:1', store: undefined, prefix: 'quiver', workerWaitMs: 60_000, inlineBytesMax: 65_536, watchIntervalMs: 500, announcementTtlMs: 0, redisDownMsMax: 30_000 });
    assert.match(o.store, /^file:\/\/.*quiver-cluster$/);
  });
});

describe('cluster backends', () => {
  it('fail under the local runner, naming the setting that runs them', async () => {
    const con = await connect({ terminal: 'off' });
    try {
      const rel = con.sql('select 1::bigint as x').mapBatches(udf, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'cluster_task' });
      await assert.rejects(rel.toArrow(), (e) => isQuiverError(e, 'unsupported') && /backend cluster_task, which runs only on a cluster runner; configure\(\{ runner: \{ kind: 'bullmq'/.test(e.message));
    } finally {
      await con.close();
    }
  });

  it('take resources as names to positive counts, sorted in the plan', async () => {
    const con = await connect({ terminal: 'off' });
    try {
      const base = con.sql('select 1::bigint as x');
      const plan = await base.mapBatches(udf, { schema: { x: 'BIGINT', y: 'BIGINT' }, backend: 'cluster_actor', resources: { mem_gb: 8, gpus: 1 } }).plan();
      assert.deepEqual(Object.entries(plan.stages[0].resources), [['gpus', 1], ['mem_gb', 8]]);
      assert.throws(() => base.mapBatches(udf, { schema: { x: 'BIGINT' }, resources: { gpus: 0 } }), /resources.gpus must be an integer >= 1, got 0/);
      assert.throws(() => base.mapBatches(udf, { schema: { x: 'BIGINT' }, resources: { 'g p u': 1 } }), /a resource name must be an identifier/);
    } finally {
      await con.close();
    }
  });
});

describe('slotsFor', () => {
  it('gives a worker the least of its concurrency, the stage\'s, and whole multiples of each resource', () => {
    const w = { name: 'w', concurrency: 4, resources: { gpus: 2 } };
    assert.equal(slotsFor(w, { concurrency: 8, resources: {} }), 4);
    assert.equal(slotsFor(w, { concurrency: 3, resources: {} }), 3);
    assert.equal(slotsFor(w, { concurrency: 8, resources: { gpus: 1 } }), 2);
    assert.equal(slotsFor(w, { concurrency: 8, resources: { gpus: 3 } }), 0);
    assert.equal(slotsFor(w, { concurrency: 8, resources: { tpus: 1 } }), 0);
  });
});
