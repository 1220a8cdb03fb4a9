// The subprocess_task backend: a pool of child processes (one per concurrency slot), reused
// across batches. Batches cross as Arrow IPC bytes. A class is constructed per batch, so
// tasks share no state even though their process lives on.

import { openPool } from '../pool/slot-pool.js';
import { processChannel } from '../pool/channel.js';
import type { Backend } from '../backend.js';

export const subprocessTaskBackend: Backend = {
  name: 'subprocess_task',
  open: (stage) => openPool(stage, processChannel, 'task'),
};
