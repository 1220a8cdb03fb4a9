// LocalStore's durability: its put-if-match lock under stale locks and contention, and what a
// full disk leaves behind. The full-disk cases mount a small tmpfs (root only; skipped otherwise).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalStore } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/tmp.js';
import { fullDiskSkip, smallDisk } from '../../helpers/tmpfs.js';

const DEAD_PID = '999999999';

/** Starts `writers` put-if-match calls on one etag at once and returns how many succeeded. */
async function race(s: LocalStore, key: string, etag: string, writers: number): Promise<number> {
  const results = await Promise.allSettled(Array.from({ length: writers }, (_, i) => s.put(key, new Uint8Array([i]), { ifMatch: etag })));
  for (const r of results) if (r.status === 'rejected') assert.ok(isQuiverError(r.reason, 'conflict'), String(r.reason));
  return results.filter((r) => r.status === 'fulfilled').length;
}

/** Every file name under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe('LocalStore lock', () => {
  it('lets exactly one of many put-if-match calls on one etag win when a dead process left the lock', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false });
    for (let round = 0; round < 30; round++) {
      const { etag } = await s.put('ref', new Uint8Array([round]));
      writeFileSync(join(dir, 'ref.lock'), DEAD_PID);
      assert.equal(await race(s, 'ref', etag, 12), 1, `round ${round}`);
    }
  });

  it('retries when an old-style lock file becomes a lock folder between its stat and its read', async () => {
    // Seen once in CI: a waiter stat'ed a pid file, a breaker and a new owner swapped a folder in,
    // and the waiter's read of the "file" failed the put with EISDIR instead of looking again.
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false });
    const { etag } = await s.put('ref', new Uint8Array([1]));
    const lock = join(dir, 'ref.lock');
    writeFileSync(lock, String(process.pid)); // a live owner's lock: the waiter must read it
    const readFile = fsp.readFile;
    let swapped = 0;
    fsp.readFile = (async (...args: Parameters<typeof readFile>) => {
      if (String(args[0]) === lock && swapped++ === 0) {
        rmSync(lock);
        mkdirSync(lock); // the new owner's folder, already emptied by its publish
      }
      return readFile(...args);
    }) as typeof readFile;
    syncBuiltinESMExports();
    try {
      await s.put('ref', new Uint8Array([2]), { ifMatch: etag });
    } finally {
      fsp.readFile = readFile;
      syncBuiltinESMExports();
    }
    assert.equal(swapped, 1, 'the swap ran');
    assert.deepEqual([...(await s.get('ref'))], [2]);
  });

  it('lets exactly one win when every waiter first sees a stale lock of a live-looking process that is too old', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false, lockStaleMsMax: 60_000 });
    for (let round = 0; round < 10; round++) {
      const { etag } = await s.put('ref', new Uint8Array([round]));
      writeFileSync(join(dir, 'ref.lock'), String(process.pid));
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(join(dir, 'ref.lock'), old, old);
      assert.equal(await race(s, 'ref', etag, 12), 1, `round ${round}`);
    }
  });

  it('breaks an empty lock file once it is older than the stale bound', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false, lockWaitMsMax: 5_000 });
    const { etag } = await s.put('ref', new Uint8Array([1]));
    writeFileSync(join(dir, 'ref.lock'), '');
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 'ref.lock'), old, old);
    await s.put('ref', new Uint8Array([2]), { ifMatch: etag });
    assert.deepEqual([...(await s.get('ref'))], [2]);
    assert.deepEqual(readdirSync(dir).sort(), ['ref']);
  });

  it('says whose lock it waited for when it times out, with an io error rather than a conflict', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false, lockWaitMsMax: 30 });
    const { etag } = await s.put('ref', new Uint8Array([1]));
    writeFileSync(join(dir, 'ref.lock'), String(process.pid));
    await assert.rejects(s.put('ref', new Uint8Array([2]), { ifMatch: etag }), (e) => {
      assert.ok(isQuiverError(e, 'io'), String(e));
      assert.match(e.message, /^storage: timed out after 30 ms waiting for the lock on "ref" held by live process \d+/);
      return true;
    });
    assert.deepEqual([...(await s.get('ref'))], [1]);
  });

  it('leaves neither a lock nor a temporary file after conflicts and successes', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false });
    const { etag } = await s.put('a/ref', new Uint8Array([0]));
    assert.equal(await race(s, 'a/ref', etag, 8), 1);
    assert.deepEqual(readdirSync(join(dir, 'a')), ['ref']);
  });
});

describe('LocalStore cost', () => {
  /** File-system calls of `fn` by name (those of fs/promises LocalStore makes). */
  async function fsCalls(fn: () => Promise<unknown>): Promise<Record<string, number>> {
    const names = ['mkdir', 'open', 'rename', 'link', 'unlink', 'rm', 'rmdir', 'stat', 'lstat'] as const;
    const saved = names.map((n) => fsp[n]);
    const counts: Record<string, number> = {};
    names.forEach((n, i) => {
      (fsp as Record<string, unknown>)[n] = (...args: unknown[]) => {
        counts[n] = (counts[n] ?? 0) + 1;
        return (saved[i] as (...a: unknown[]) => unknown)(...args);
      };
    });
    syncBuiltinESMExports();
    try {
      await fn();
    } finally {
      names.forEach((n, i) => ((fsp as Record<string, unknown>)[n] = saved[i]));
      syncBuiltinESMExports();
    }
    return counts;
  }

  it('makes a folder only when a put finds it missing, and removes no temporary file a rename consumed', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { fsync: false });
    const first = await fsCalls(() => s.put('a/b/x', new Uint8Array([1]), { ifAbsent: true }));
    assert.equal(first.mkdir, 1, 'the missing folder is made once');
    // Into a folder that exists: no mkdir; a plain put's rename leaves nothing to remove; a link leaves its temporary name (one unlink).
    assert.deepEqual(await fsCalls(() => s.put('a/b/y', new Uint8Array([2]))), { open: 1, rename: 1, stat: 1 });
    assert.deepEqual(await fsCalls(() => s.put('a/b/z', new Uint8Array([3]), { ifAbsent: true })), { open: 1, link: 1, unlink: 1, stat: 1 });
    const { etag } = (await s.head('a/b/y'))!;
    const moved = await fsCalls(() => s.put('a/b/y', new Uint8Array([4]), { ifMatch: etag }));
    assert.equal(moved.mkdir, 1, 'the lock folder only');
    assert.equal(moved.rm ?? 0, 0, 'the renamed payload is not removed again');
    assert.deepEqual(filesUnder(dir).sort(), ['x', 'y', 'z']);
    assert.deepEqual([...(await s.get('a/b/y'))], [4]);
  });
});

describe('LocalStore on a full disk', () => {
  const skip = fullDiskSkip();

  for (const condition of [undefined, { ifAbsent: true } as const]) {
    it(`refuses a put ${condition ? 'if absent ' : ''}that does not fit and leaves nothing behind`, { skip }, async () => {
      const dir = smallDisk(256 * 1024)!;
      const s = new LocalStore(dir);
      await s.put('small', new Uint8Array(1000));
      await assert.rejects(s.put('data/big', new Uint8Array(500_000).fill(7), condition), (e) => isQuiverError(e, 'io'));
      assert.equal(await s.head('data/big'), null);
      assert.deepEqual(filesUnder(dir), ['small']);
      assert.equal(statSync(join(dir, 'small')).size, 1000);
    });
  }

  it('refuses a put-if-match that does not fit and keeps the old object', { skip }, async () => {
    const dir = smallDisk(256 * 1024)!;
    const s = new LocalStore(dir);
    const { etag } = await s.put('ref', new Uint8Array([1]));
    await assert.rejects(s.put('ref', [new Uint8Array(200_000), new Uint8Array(200_000)], { ifMatch: etag }), (e) => isQuiverError(e, 'io'));
    assert.deepEqual([...(await s.get('ref'))], [1]);
    assert.deepEqual(filesUnder(dir), ['ref']);
  });
});
