// The local runner: every stage runs in this process or its workers, chained as pull-based
// async streams, so each stage holds at most `batchesInFlightMax` batches and a slow sink
// slows the source. All stages' workers start together and are released when the run ends.

import type * as arrow from 'apache-arrow';
import { backendFor, type Executor } from '../../backend/index.js';
import type { Plan, StagePlan } from '../../plan.js';
import type { RunContext, Runner } from '../runner.js';
import { runStage } from './stage-run.js';

/** Opens one stage's executor; a runner chooses where each stage runs. */
export type StageOpener = (stage: StagePlan) => Promise<Executor>;

/** Opens every stage at once; when one fails, closes those that opened and throws its error. */
export async function openAll<T extends { close(): Promise<void> }>(plan: Plan, open: (stage: StagePlan) => Promise<T>): Promise<T[]> {
  const opened = await Promise.allSettled(plan.stages.map(open));
  const failed = opened.find((r) => r.status === 'rejected');
  const ok = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.allSettled(ok.map((e) => e.close()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return ok;
}

/** Opens every stage's executor, chains the stages over the source, and closes them all at the end. */
export async function* runStages(plan: Plan, ctx: RunContext, open: StageOpener): AsyncGenerator<arrow.Table> {
  const execs = await openAll(plan, open);
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
}

export const localRunner: Runner = {
  name: 'local',
  run: (plan: Plan, ctx: RunContext) => runStages(plan, ctx, (s) => backendFor(s.backend).open(s, ctx.inlineUdfs.get(s.index))),
};
