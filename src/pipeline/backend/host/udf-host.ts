// The entry point of a worker thread or child process that hosts one stage's UDF. It loads the
// module export once, builds the batch call (constructing an actor's class once), then answers
// call messages one at a time with Arrow IPC. It exits when its parent disconnects.
// It imports nothing from the query layer, so a host never loads DuckDB.

import { parentPort } from 'node:worker_threads';
import type * as arrow from 'apache-arrow';
import { ipcFromTable, tableFromIpc, transferable } from '../../ipc.js';
import { tableFromUdfOutput } from '../../schema.js';
import { batchCallFor, type BatchCall } from '../../udf-call.js';
import { loadUdf } from '../../udf-ref.js';
import type { HostMessage, InitMessage, ParentMessage } from './protocol.js';
import { wireError } from './wire-error.js';

function send(m: HostMessage): void {
  if (!parentPort) {
    process.send!(m);
  } else if (m.t === 'result') {
    const t = transferable(m.ipc);
    parentPort.postMessage({ ...m, ipc: t.bytes }, [t.buffer]);
  } else parentPort.postMessage(m);
}

let init: InitMessage | undefined;
let call: BatchCall | undefined;
let schema: arrow.Schema | undefined;

async function onMessage(m: ParentMessage): Promise<void> {
  if (m.t === 'init') {
    const started = performance.now();
    try {
      init = m;
      schema = tableFromIpc(m.schemaIpc).schema;
      call = batchCallFor(await loadUdf(m.ref), m.kind, m.mode, m.ctorArgs);
      send({ t: 'ready', initMs: performance.now() - started });
    } catch (e) {
      send({ t: 'init_error', error: wireError(e) });
    }
    return;
  }
  try {
    const where = { stage: init!.stage, stageName: init!.stageName, batch: m.batch };
    const out = tableFromUdfOutput(await call!(tableFromIpc(m.ipc)), schema!, where);
    send({ t: 'result', id: m.id, ipc: ipcFromTable(out) });
  } catch (e) {
    send({ t: 'error', id: m.id, error: wireError(e) });
  }
}

if (parentPort) {
  parentPort.on('message', (m: ParentMessage) => void onMessage(m));
} else {
  process.on('message', (m: ParentMessage) => void onMessage(m));
  process.on('disconnect', () => process.exit(0));
}
