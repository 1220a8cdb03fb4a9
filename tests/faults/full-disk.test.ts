// A full disk: a commit that runs out of space must fail with a typed error, leave the last
// committed version intact, and once space is back either commit every staged row intact or fail
// typed again. Runs on every store through a FaultStore byte budget, and on a real 1 MiB tmpfs
// (grown with a remount to free space) when this process may mount one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { LocalStore, type ObjectStore } from '../../src/storage/index.js';
import { FaultStore } from '../helpers/fault-store.js';
import { tempDir } from '../helpers/tmp.js';
import { storeFactories } from './stores.js';

const schema = { seq: 'int64', blob: 'binary' };
const write = { autoCompact: false as const };
const BLOB_BYTES = 20_000;

function rows(from: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ seq: from + i, blob: new Uint8Array(BLOB_BYTES).fill((from + i) % 251) }));
}

/** Row count and whether every row's blob is whole and holds its own bytes. */
async function contents(store: ObjectStore, where: string): Promise<{ rows: number; bad: number }> {
  const ds = await quiver.open(store);
  try {
    const all = await ds.query('select seq, blob from dataset');
    const bad = all.filter(({ seq, blob }) => !(blob instanceof Uint8Array) || blob.length !== BLOB_BYTES || blob.some((b) => b !== Number(seq) % 251));
    return { rows: all.length, bad: bad.length };
  } catch (e) {
    throw new Error(`${where}: reading failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await ds.close();
  }
}

function assertTyped(e: unknown, where: string): void {
  assert.ok(isQuiverError(e), `${where}: untyped error ${(e as Error)?.stack ?? e}`);
}

/**
 * Commits 10 rows, then 60 more with `full()` in force; the commit must fail typed and leave the
 * 10; after `free()` the same handle's retry commits all 70 intact or fails typed leaving the 10.
 */
async function fillAndRecover(store: ObjectStore, full: () => void, free: () => void, where: string): Promise<void> {
  const ds = await quiver.create(store, { schema, write });
  try {
    await ds.append(rows(0, 10));
    await ds.commit('first');
    full();
    await ds.append(rows(10, 60)).catch((e) => assertTyped(e, `${where}, append`));
    await assert.rejects(ds.commit('second'), (e) => (assertTyped(e, `${where}, commit on a full disk`), true), `${where}: a commit on a full disk succeeded`);
    assert.deepEqual(await contents(store, `${where}, after the failed commit`), { rows: 10, bad: 0 }, `${where}: the last committed version changed`);
    free();
    const retried = await ds.commit('second, retried').then(
      () => true,
      (e) => (assertTyped(e, `${where}, retry`), false),
    );
    assert.deepEqual(await contents(store, `${where}, after the retry (${retried ? 'committed' : 'failed'})`), { rows: retried ? 70 : 10, bad: 0 }, `${where}: after the retry`);
  } finally {
    await ds.close();
  }
}

describe('a full disk', () => {
  for (const factory of storeFactories) {
    it(`fails a commit typed and keeps the last version on the ${factory.name} store when puts hit ENOSPC`, async () => {
      const store = new FaultStore(factory.make());
      await fillAndRecover(
        store,
        () => (store.bytesMax = store.bytesWritten + 300_000),
        () => (store.bytesMax = undefined),
        `${factory.name} store`,
      );
    });
  }

  const mountable = tryMount();
  it('fails a commit typed and keeps the last version on a real full tmpfs, then recovers when it grows', { skip: mountable ? false : 'cannot mount a tmpfs here (needs root)' }, async () => {
    const dir = mountable!;
    const root = `${dir}/ds`;
    mkdirSync(root);
    await fillAndRecover(
      new LocalStore(root),
      () => undefined,
      () => execFileSync('mount', ['-o', 'remount,size=16m', dir]),
      'tmpfs',
    );
  });
});

/** Mounts a 1 MiB tmpfs on a fresh folder (unmounted after the tests), or undefined if not allowed. */
function tryMount(): string | undefined {
  const dir = tempDir('quiver-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  after(() => execFileSync('umount', ['-l', dir]));
  return dir;
}
