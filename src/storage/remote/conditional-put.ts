// A conditional put whose attempt failed transiently (timeout, reset, 5xx) is ambiguous: the
// server may have applied it before the failure. Retrying blindly is wrong both ways — a landed
// put-if-absent would then report a conflict against itself, and a landed put-if-match would be
// refused for the etag it changed. So after such a failure we read the key back and decide:
//   - the object holds exactly our bytes  → our put landed (or an identical one did): success;
//   - the condition no longer holds        → someone else won: conflict;
//   - the condition still holds            → nothing landed: attempt again.
// Keys written if-absent are unique or content-addressed, so "identical bytes" means the same state.

import { QuiverError } from '../../errors.js';
import type { ObjectInfo, PutCondition, StoredObject } from '../object-store.js';
import type { RequestRunner } from './request-runner.js';

export interface ConditionalPutSteps {
  /** One attempt of the conditional put; throws QuiverError `conflict` when the store refuses it. */
  attempt(): Promise<ObjectInfo>;
  /** The object as it is now (retried reads), or null when absent. */
  readBack(): Promise<StoredObject | null>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

export async function conditionalPut(runner: RequestRunner, key: string, data: Uint8Array, condition: PutCondition, steps: ConditionalPutSteps, retriesMax: number): Promise<ObjectInfo> {
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      return await steps.attempt();
    } catch (e) {
      if (!runner.isTransient(e) || attempt >= retriesMax) throw e;
      failure = e;
    }
    const now = await steps.readBack();
    if (now && sameBytes(now.data, data)) return now.info;
    const holds = 'ifAbsent' in condition ? now === null : now !== null && now.info.etag === condition.ifMatch;
    if (!holds) {
      throw new QuiverError('conflict', `storage: "${key}" was written by another writer while a put of it was retried`, { key }, { cause: failure });
    }
    await runner.backoff(attempt);
  }
}
