// The thread_task backend: a pool of worker threads (one per concurrency slot) in this process.
// Batches are transferred, not copied, as Arrow IPC buffers. A class is constructed per batch.

import { openPool } from '../pool/slot-pool.js';
import { threadChannel } from '../pool/channel.js';
import type { Backend } from '../backend.js';

export const threadTaskBackend: Backend = {
  name: 'thread_task',
  open: (stage) => openPool(stage, threadChannel, 'task'),
};
