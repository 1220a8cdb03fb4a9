// The cluster backends' names: `cluster_task` and `cluster_actor` stages run on the workers of a
// cluster runner (bullmq), which routes them itself. Opened by any other runner they fail at
// once, naming the setting that would run them.

import { QuiverError } from '../../../errors.js';
import type { Backend, BackendName } from '../backend.js';

/** The mode a worker runs a cluster stage in: an actor's class is constructed once per worker slot. */
export function clusterMode(name: string): 'task' | 'actor' | undefined {
  return name === 'cluster_task' ? 'task' : name === 'cluster_actor' ? 'actor' : undefined;
}

function clusterBackend(name: BackendName): Backend {
  return {
    name,
    async open(stage) {
      throw new QuiverError(
        'unsupported',
        `pipeline: stage ${stage.index} "${stage.name}" uses backend ${name}, which runs only on a cluster runner; configure({ runner: { kind: 'bullmq', connection: 'redis://…' } })`,
        { stage: stage.index, backend: name },
      );
    },
  };
}

export const clusterTaskBackend = clusterBackend('cluster_task');
export const clusterActorBackend = clusterBackend('cluster_actor');
