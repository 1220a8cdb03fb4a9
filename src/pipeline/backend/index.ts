// The backend layer's face: the seam's types and the lookup from a backend name to its implementation.

import { QuiverError } from '../../errors.js';
import type { Backend, BackendName } from './backend.js';
import { clusterActorBackend, clusterTaskBackend } from './cluster/cluster-backend.js';
import { inlineBackend } from './inline/inline-backend.js';
import { subprocessActorBackend } from './subprocess-actor/subprocess-actor-backend.js';
import { subprocessTaskBackend } from './subprocess-task/subprocess-task-backend.js';
import { threadTaskBackend } from './thread-task/thread-task-backend.js';

export { clusterMode } from './cluster/cluster-backend.js';
export type { Backend, BackendName, BackendStage, Executor, ExecutorStats } from './backend.js';

const backends: Record<BackendName, Backend> = {
  inline: inlineBackend,
  thread_task: threadTaskBackend,
  subprocess_task: subprocessTaskBackend,
  subprocess_actor: subprocessActorBackend,
  cluster_task: clusterTaskBackend,
  cluster_actor: clusterActorBackend,
};

export const backendNames = Object.keys(backends) as BackendName[];

export function backendFor(name: string): Backend {
  const b = (backends as Record<string, Backend>)[name];
  if (!b) throw new QuiverError('invalid_input', `pipeline: unknown backend "${name}"; expected one of ${backendNames.join(', ')}`, { backend: name });
  return b;
}
