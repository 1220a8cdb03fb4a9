// The requests `open` makes on a store where each one is a round trip: the branch's ref is
// asked for while the marker is still being read, not after it.
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { ForwardingStore } from '../../src/storage/forwarding-store.js';
import { MemoryStore, type ByteRange, type StoredObject } from '../../src/storage/index.js';

/** Event-loop turns the held marker read waits for the ref request before it answers anyway. */
const HOLD_TURNS_MAX = 200;

/** A real store whose marker read answers only once the ref is asked for (or after HOLD_TURNS_MAX turns). */
class HeldMarker extends ForwardingStore {
  /** Whether the ref had been asked for when the marker read answered. */
  refAskedBeforeMarker = false;
  private refAsked = false;
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (key !== '_quiver.json') return this.inner.get(key, range);
    for (let i = 0; i < HOLD_TURNS_MAX && !this.refAsked; i++) await turn();
    this.refAskedBeforeMarker = this.refAsked;
    return this.inner.get(key, range);
  }
  override getWithInfo(key: string): Promise<StoredObject> {
    if (key.startsWith('refs/')) this.refAsked = true;
    return this.inner.getWithInfo(key);
  }
}

describe('Dataset.open', () => {
  it('reads the branch ref together with the marker, not one round trip after it', async () => {
    const url = `memory://open-requests-${Math.random()}`;
    const ds = await quiver.create(new MemoryStore(url), { schema: { n: 'int' } });
    await ds.append([{ n: 1 }]);
    await ds.commit('one');
    await ds.close();
    const store = new HeldMarker(new MemoryStore(url));
    const opened = await quiver.open(store);
    try {
      assert.ok(store.refAskedBeforeMarker, 'the ref was asked for only after the marker came back');
      assert.deepEqual(await opened.query('select n from dataset'), [{ n: 1 }]);
    } finally {
      await opened.close();
    }
  });

  it('still names a missing dataset, whatever the ref read finds', async () => {
    await assert.rejects(quiver.open(new MemoryStore(`memory://open-requests-missing-${Math.random()}`)), { code: 'not_found', message: /no dataset at/ });
  });
});
