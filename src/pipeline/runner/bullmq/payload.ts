// Batches between the coordinator and workers: small ones inline in the job (base64 Arrow IPC),
// larger ones as objects named by their sha256 and written put-if-absent, so a batch computed
// twice (at-least-once delivery) is stored once and a reader verifies what it got.

import { createHash } from 'node:crypto';
import { QuiverError, isQuiverError } from '../../../errors.js';
import type { ObjectStore } from '../../../storage/index.js';
import { isSourcePayload, type Payload, type SourcePayload } from './protocol.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function writePayload(store: ObjectStore, prefix: string, ipc: Uint8Array, inlineBytesMax: number): Promise<Payload> {
  if (ipc.byteLength <= inlineBytesMax) return { ipc: Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength).toString('base64') };
  const key = `${prefix}/${sha256(ipc)}.arrow`;
  try {
    await store.put(key, ipc, { ifAbsent: true });
  } catch (e) {
    // Present already: the same bytes, since the key is their hash.
    if (!isQuiverError(e, 'conflict')) throw e;
  }
  return { key, bytes: ipc.byteLength };
}

export async function readPayload(store: ObjectStore, p: Exclude<Payload, SourcePayload>): Promise<Uint8Array> {
  if ('ipc' in p) return new Uint8Array(Buffer.from(p.ipc, 'base64'));
  const bytes = await store.get(p.key);
  const want = /([0-9a-f]{64})\.arrow$/.exec(p.key)?.[1];
  if (bytes.byteLength !== p.bytes || sha256(bytes) !== want) {
    throw new QuiverError('corrupt', `pipeline: cluster batch ${p.key} does not match its name (${bytes.byteLength} bytes, expected ${p.bytes})`, { key: p.key });
  }
  return bytes;
}

/** The bytes a payload carries, for the coordinator's byte counts. */
export function payloadBytes(p: Payload): { inline: number; stored: number } {
  if (isSourcePayload(p)) return { inline: 0, stored: 0 };
  return 'ipc' in p ? { inline: Math.floor((p.ipc.length * 3) / 4), stored: 0 } : { inline: 0, stored: p.bytes };
}
