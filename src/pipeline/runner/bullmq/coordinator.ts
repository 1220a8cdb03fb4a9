// The bullmq runner's run: the source is read here, `cluster_task` / `cluster_actor` stages run
// as jobs on workers, any other stage runs here as under `local`, all chained by the same stage
// runner (batching, retries, onError, ordering, counts). Nothing outlives the run: its queues,
// announcement and stored batches are removed when it ends, however it ends.

import type * as arrow from 'apache-arrow';
import { assert } from '../../../errors.js';
import { backendFor, clusterMode, type Executor } from '../../backend/index.js';
import type { Plan, StagePlan } from '../../plan.js';
import { runStages } from '../local/local-runner.js';
import type { RunContext } from '../runner.js';
import { ClusterRun } from './cluster-run.js';
import { resolveOptions } from './options.js';
import { checkReachable } from './redis.js';
import { describeModule } from './udf-module.js';

async function clusterExecutor(run: ClusterRun, s: StagePlan, mode: 'task' | 'actor'): Promise<Executor> {
  assert(s.udf.kind === 'module', 'a cluster stage names its UDF by module (stagePlan refuses closures)');
  await run.addStage(s, {
    index: s.index, name: s.name, kind: s.kind, mode, module: describeModule(s.udf.module), export: s.udf.export,
    columns: s.columns, ctorArgs: s.ctorArgs, resources: s.resources, concurrency: s.concurrency,
    restartsMax: s.restartsMax, batchTimeoutMs: s.batchTimeoutMs,
  });
  // Calls per batch: a retry or a row-by-row call is a new call, so a new job id; a redelivered
  // job keeps its id and its first answer.
  const calls = new Map<number, number>();
  return {
    stats: { restarts: 0, initMs: 0 },
    call(batch, where) {
      const n = calls.get(where.batch) ?? 0;
      calls.set(where.batch, n + 1);
      return run.call(s.index, where.batch, n, batch);
    },
    async close() {},
  };
}

export async function* runOnCluster(plan: Plan, ctx: RunContext): AsyncGenerator<arrow.Table> {
  const o = resolveOptions(ctx.options);
  await checkReachable(o.connection, 'the bullmq runner');
  const run = new ClusterRun(o);
  try {
    await run.start();
    yield* runStages(plan, ctx, (s) => {
      const mode = clusterMode(s.backend);
      return mode ? clusterExecutor(run, s, mode) : backendFor(s.backend).open(s, ctx.inlineUdfs.get(s.index));
    });
  } finally {
    ctx.report.coordinatorBytes = { ...run.bytes };
    await run.end();
  }
}
