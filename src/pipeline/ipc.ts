// Arrow IPC framing for batches that cross a thread or process boundary: one IPC stream per
// batch, so a batch crosses as a few contiguous buffers, never row by row.

import * as arrow from 'apache-arrow';

export function ipcFromTable(t: arrow.Table): Uint8Array {
  return arrow.tableToIPC(t, 'stream');
}

export function tableFromIpc(bytes: Uint8Array): arrow.Table {
  return arrow.tableFromIPC(bytes);
}

/** The ArrayBuffer to transfer for `bytes`, copying only when it is a view on a larger buffer. */
export function transferable(bytes: Uint8Array): { bytes: Uint8Array; buffer: ArrayBuffer } {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return { bytes, buffer: bytes.buffer };
  }
  const copy = bytes.slice();
  return { bytes: copy, buffer: copy.buffer as ArrayBuffer };
}
