// On a store that is not a local folder each read of the branch ref is a round trip, so a query
// runs on the version its handle holds while the ref is read, and answers only once the ref
// says that version is still the newest (or runs again on the new one). Markers, never timers:
// a held ref read answers once the query has reached the data files; a read that waited for the
// ref first would never get there, and the test's timeout reports it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { ForwardingStore } from '../../src/storage/forwarding-store.js';
import { MemoryStore, type ByteRange, type StoredObject } from '../../src/storage/index.js';

/** Fails a query that deadlocks (one that reads data only after its ref read), never a slow one that gets there. */
const DEADLOCK_MS = 120_000;

/** A memory store whose armed ref reads answer only once a data file has been read meanwhile; or fail, when told to. */
class HeldRef extends ForwardingStore {
  armed = false;
  failNext = false;
  /** Whether the last held ref read answered because a data file was read meanwhile. */
  dataReadDuringRef = false;
  refReads = 0;
  #onDataRead: (() => void) | undefined;
  #dataRead(key: string): void {
    if (!key.startsWith('data/')) return;
    this.#onDataRead?.();
    this.#onDataRead = undefined;
  }
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.#dataRead(key);
    return this.inner.get(key, range);
  }
  override async getWithInfo(key: string): Promise<StoredObject> {
    this.#dataRead(key);
    if (!key.startsWith('refs/heads/')) return this.inner.getWithInfo(key);
    this.refReads++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('test: the ref read failed');
    }
    if (this.armed) {
      this.armed = false;
      await new Promise<void>((r) => (this.#onDataRead = r));
      this.dataReadDuringRef = true;
    }
    return this.inner.getWithInfo(key);
  }
}

async function datasetAt(url: string): Promise<void> {
  const ds = await quiver.create(new MemoryStore(url), { schema: { n: 'int', label: 'text' } });
  await ds.append([{ n: 1, label: 'a' }, { n: 2, label: 'b' }]);
  await ds.commit('two rows');
  await ds.close();
}

describe('Dataset reads on object storage', () => {
  it('read the branch ref beside the query, not one round trip before it', { timeout: DEADLOCK_MS }, async () => {
    const url = `memory://read-beside-ref-${Math.random()}`;
    await datasetAt(url);
    const store = new HeldRef(new MemoryStore(url));
    const ds = await quiver.open(store);
    try {
      store.armed = true;
      const refsBefore = store.refReads;
      assert.deepEqual(await ds.query('select sum(n)::INT as s from dataset'), [{ s: 3 }]);
      assert.equal(store.refReads, refsBefore + 1, 'one ref read per query');
      assert.ok(store.dataReadDuringRef);
    } finally {
      await ds.close();
    }
  });

  it('answer from the newest version when the branch moved while the query ran', async () => {
    const url = `memory://read-beside-ref-moved-${Math.random()}`;
    await datasetAt(url);
    const reader = await quiver.open(new HeldRef(new MemoryStore(url)));
    const writer = await quiver.open(new MemoryStore(url));
    try {
      assert.deepEqual(await reader.query('select count(*)::INT as c from dataset'), [{ c: 2 }]);
      await writer.append([{ n: 3, label: 'c' }]);
      const commit = await writer.commit('third row');
      // The reader still holds the two-row version: its query runs there first, then again here.
      assert.deepEqual(await reader.query('select count(*)::INT as c, sum(n)::INT as s from dataset'), [{ c: 3, s: 6 }]);
      assert.equal(reader.version.id, commit.id);
      assert.deepEqual(await reader.queryArrow('select label from dataset order by n').then((t) => t.getChild('label')!.toArray()), ['a', 'b', 'c']);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('fail with the ref read when it fails, and serve the next query', async () => {
    const url = `memory://read-beside-ref-fail-${Math.random()}`;
    await datasetAt(url);
    const store = new HeldRef(new MemoryStore(url));
    const ds = await quiver.open(store);
    try {
      store.failNext = true;
      await assert.rejects(ds.query('select count(*) as c from dataset'), /the ref read failed/);
      assert.deepEqual(await ds.query('select count(*)::INT as c from dataset'), [{ c: 2 }]);
    } finally {
      await ds.close();
    }
  });
});
