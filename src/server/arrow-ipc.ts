// One Arrow IPC stream out of many record batches, written as they come: the first batch's
// encoding carries the schema message, later ones only their record batch message, and the
// end-of-stream marker closes it. Invariant: the batches share one schema (arrow-batch.ts).

import * as arrow from 'apache-arrow';
import type { StreamBatch } from '../stream/index.js';

/** The end-of-stream marker: continuation token, zero length. */
const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** Bytes of the first message (the schema) of an IPC stream: continuation, length, metadata. */
function schemaMessageBytes(ipc: Uint8Array): number {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  return 8 + dv.getInt32(4, true);
}

/**
 * The parts of one IPC stream of `source`'s batches; a failure midway errors the byte stream.
 * A source of no batches still sends its schema (from `empty`, a batch of no rows).
 */
export async function* arrowStreamParts(source: AsyncIterable<StreamBatch>, toArrow: (b: StreamBatch) => arrow.RecordBatch, empty: () => Promise<StreamBatch>): AsyncGenerator<Uint8Array[]> {
  let first = true;
  for await (const b of source) {
    const ipc = arrow.tableToIPC(new arrow.Table(toArrow(b)), 'stream');
    const body = ipc.subarray(first ? 0 : schemaMessageBytes(ipc), ipc.length - EOS.length);
    first = false;
    yield [body];
  }
  if (first) yield [arrow.tableToIPC(new arrow.Table(toArrow(await empty())), 'stream')];
  else yield [EOS];
}
