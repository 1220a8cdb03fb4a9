// The local runner: every stage runs in this process or its workers, chained as pull-based
// async streams, so each stage holds at most `batchesInFlightMax` batches and a slow sink
// slows the source. All stages' workers start together and are released when the run ends.

import type * as arrow from 'apache-arrow';
import { backendFor, type Executor } from '../../backend/index.js';
import type { Plan } from '../../plan.js';
import type { RunContext, Runner } from '../runner.js';
import { runStage } from './stage-run.js';

async function openAll(plan: Plan, ctx: RunContext): Promise<Executor[]> {
  const opened = await Promise.allSettled(plan.stages.map((s) => backendFor(s.backend).open(s, ctx.inlineUdfs.get(s.index))));
  const failed = opened.find((r) => r.status === 'rejected');
  const ok = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.allSettled(ok.map((e) => e.close()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return ok;
}

export const localRunner: Runner = {
  name: 'local',
  async *run(plan: Plan, ctx: RunContext): AsyncGenerator<arrow.Table> {
    const execs = await openAll(plan, ctx);
    try {
      execs.forEach((e, i) => (ctx.report.stages[i].initMs = e.stats.initMs));
      let stream: AsyncIterable<arrow.Table> = ctx.source(plan.stages[0]?.batchRows ?? 2048);
      plan.stages.forEach((s, i) => {
        stream = runStage(stream, s, execs[i], ctx.report.stages[i], ctx.progress);
      });
      yield* stream;
    } finally {
      await Promise.allSettled(execs.map((e) => e.close()));
    }
  },
};
