// The bullmq runner's face: `configure({ runner: { kind: 'bullmq', connection } })` selects it,
// and `startWorker` (what `quiver worker` runs) serves its jobs. BullMQ and ioredis are loaded
// only when a run starts, so programs that never use the cluster never load them.

import type { Runner } from '../runner.js';
import { resolveOptions } from './options.js';

export type { BullmqRunnerOptions } from './options.js';
export type { WorkerOptions, ClusterWorker } from './worker.js';

export const bullmqRunner: Runner = {
  name: 'bullmq',
  checkOptions: (o) => void resolveOptions(o),
  async *run(plan, ctx) {
    const { runOnCluster } = await import('./coordinator.js');
    yield* runOnCluster(plan, ctx);
  },
};

/** Starts a worker process's job loop; see `WorkerOptions`. */
export async function startWorker(o: import('./worker.js').WorkerOptions): Promise<import('./worker.js').ClusterWorker> {
  const { startWorker: start } = await import('./worker.js');
  return start(o);
}
