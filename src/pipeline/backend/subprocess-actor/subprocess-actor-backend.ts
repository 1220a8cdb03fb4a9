// The subprocess_actor backend: one long-lived child process per concurrency slot that
// constructs the UDF class once and calls its `call(batch)` method for every batch. A process
// that crashes is restarted (constructing the class again) and its batch is retried.

import { openPool } from '../pool/slot-pool.js';
import { processChannel } from '../pool/channel.js';
import type { Backend } from '../backend.js';

export const subprocessActorBackend: Backend = {
  name: 'subprocess_actor',
  open: (stage) => openPool(stage, processChannel, 'actor'),
};
