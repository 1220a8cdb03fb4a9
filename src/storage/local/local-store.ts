// An ObjectStore over a local folder. Atomicity comes from the file system: every put writes a
// temporary file, checks its size, fsyncs it, then renames (plain put), hard-links
// (put-if-absent) or renames it out of a per-key lock folder (put-if-match). A reader never
// sees a half-written or short object, and a failed put leaves no temporary file.

import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { QuiverError } from '../../errors.js';
import { dataSize, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../object-store.js';

export interface LocalStoreOptions {
  /** fsync files and their folder before a put returns, so a machine crash keeps them. Default true. */
  fsync?: boolean;
  /** How long put-if-match waits for another writer's lock on the same key. Default 10,000 ms. */
  lockWaitMsMax?: number;
  /**
   * Age after which a lock is broken even though its owner looks alive (a reused pid, a hung
   * process, an empty lock file). The owner of a broken lock retries; it never publishes.
   * Default 30,000 ms.
   */
  lockStaleMsMax?: number;
}

const TMP_PREFIX = '.tmp-';
const LOCK_SUFFIX = '.lock';
/** writev takes at most IOV_MAX buffers per call. */
const IOV_MAX = 512;

function isNodeError(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === code;
}

function ioError(op: string, key: string, e: unknown): QuiverError {
  return new QuiverError('io', `storage: ${op} "${key}" failed: ${(e as Error).message}`, { key }, { cause: e });
}

/** Writes `parts` in order at the file's position; returns the bytes written (short only when the disk refuses more). */
async function writeAll(fh: fs.FileHandle, parts: readonly Uint8Array[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < parts.length; i += IOV_MAX) {
    const chunk = parts.slice(i, i + IOV_MAX);
    let skip = (await fh.writev(chunk as Uint8Array[])).bytesWritten;
    written += skip;
    // writev stops early without an error on a full disk; writing the rest surfaces ENOSPC.
    for (const p of chunk) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      for (let off = skip; off < p.length; ) {
        const { bytesWritten } = await fh.write(p, off, p.length - off);
        if (bytesWritten === 0) return written;
        off += bytesWritten;
        written += bytesWritten;
      }
      skip = 0;
    }
  }
  return written;
}

/** Renames folder `from` to `to`; false when `to` is occupied (a non-empty folder or a file). */
async function renameUnlessOccupied(from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to);
    return true;
  } catch (e) {
    if (isNodeError(e, 'EEXIST') || isNodeError(e, 'ENOTEMPTY') || isNodeError(e, 'ENOTDIR') || isNodeError(e, 'EISDIR')) return false;
    throw e;
  }
}

function infoOf(key: string, st: BigIntStats): ObjectInfo {
  return { key, size: Number(st.size), etag: `${st.ino}-${st.size}-${st.mtimeNs}`, lastModified: Number(st.mtimeMs) };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !isNodeError(e, 'ESRCH');
  }
}

export class LocalStore implements ObjectStore {
  readonly url: string;
  private readonly fsync: boolean;
  private readonly lockWaitMsMax: number;
  private readonly lockStaleMsMax: number;

  constructor(
    readonly root: string,
    options: LocalStoreOptions = {},
  ) {
    this.url = `file://${root}`;
    this.fsync = options.fsync ?? true;
    this.lockWaitMsMax = options.lockWaitMsMax ?? 10_000;
    this.lockStaleMsMax = options.lockStaleMsMax ?? 30_000;
  }

  localPath(key: string): string {
    if (key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '')) {
      throw new QuiverError('invalid_input', `storage: invalid key "${key}"`, { key });
    }
    return join(this.root, ...key.split('/'));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = this.localPath(key);
    try {
      if (!range) return new Uint8Array(await fs.readFile(path));
      const fh = await fs.open(path, 'r');
      try {
        const buf = new Uint8Array(range.length);
        const { bytesRead } = await fh.read(buf, 0, range.length, range.offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (isNodeError(e, 'ENOENT')) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
      throw ioError('get', key, e);
    }
  }

  async getWithInfo(key: string): Promise<StoredObject> {
    // Stat and read through one handle: a put renames a new inode over the path, so both
    // describe the same bytes even when a writer replaces the object meanwhile.
    let fh: fs.FileHandle | undefined;
    try {
      fh = await fs.open(this.localPath(key), 'r');
      const st = await fh.stat({ bigint: true });
      const data = new Uint8Array(await fh.readFile());
      return { data, info: infoOf(key, st) };
    } catch (e) {
      if (isNodeError(e, 'ENOENT')) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key });
      throw ioError('get', key, e);
    } finally {
      await fh?.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      return infoOf(key, await fs.stat(this.localPath(key), { bigint: true }));
    } catch (e) {
      if (isNodeError(e, 'ENOENT')) return null;
      throw ioError('head', key, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Start the walk at the deepest folder the prefix names.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const start = base ? this.localPath(base) : this.root;
    const stack = [start];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isNodeError(e, 'ENOENT') || isNodeError(e, 'ENOTDIR')) continue;
        throw ioError('list', prefix, e);
      }
      for (const ent of entries) {
        if (ent.name.startsWith(TMP_PREFIX) || ent.name.endsWith(LOCK_SUFFIX)) continue;
        const full = join(dir, ent.name);
        const key = relative(this.root, full).split(sep).join('/');
        if (ent.isDirectory()) {
          if (prefix.startsWith(key + '/') || key.startsWith(prefix) || prefix === '') stack.push(full);
        } else if (key.startsWith(prefix)) {
          const info = await this.head(key);
          if (info) yield info;
        }
      }
    }
  }

  /** Writes `data` to the new file `file` and fsyncs it, checking every byte reached the disk; removes the file on failure. */
  private async writeChecked(file: string, key: string, data: PutData): Promise<void> {
    const total = dataSize(data);
    try {
      const fh = await fs.open(file, 'wx');
      try {
        const written = await writeAll(fh, data instanceof Uint8Array ? [data] : data);
        if (this.fsync) await fh.sync();
        const size = (await fh.stat()).size;
        // A full disk shows up as a short write, not an error: nothing short may be published.
        if (written !== total || size !== total) {
          throw new QuiverError('io', `storage: short write of "${key}": ${Math.min(written, size)} of ${total} bytes reached the disk (disk full?)`, { key, bytes: total, written: Math.min(written, size) });
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      await fs.rm(file, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** A fresh temporary name in `dir`; list skips such names and `sweepLeftovers` removes old ones. */
  private tempIn(dir: string, what: string): string {
    return join(dir, `${TMP_PREFIX}${what}${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  private async syncDir(path: string): Promise<void> {
    if (!this.fsync) return;
    const fh = await fs.open(dirname(path), 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const path = this.localPath(key);
    const write = () => (condition && 'ifMatch' in condition ? this.putIfMatch(path, key, data, condition.ifMatch) : this.putPlain(path, key, data, condition !== undefined));
    try {
      // The folder is made only when a put finds it missing (nothing was published then): a
      // recursive mkdir before every put was two more file-system calls in each of a commit's
      // three sequential rounds of puts.
      try {
        await write();
      } catch (e) {
        if (!isNodeError(e, 'ENOENT')) throw e;
        await fs.mkdir(dirname(path), { recursive: true });
        await write();
      }
      await this.syncDir(path);
      const info = await this.head(key);
      if (!info) throw new QuiverError('io', `storage: "${key}" vanished right after it was written`, { key });
      return info;
    } catch (e) {
      if (e instanceof QuiverError) throw e;
      throw ioError('put', key, e);
    }
  }

  /** A plain put renames a verified temporary file over the key; put-if-absent hard-links it (EEXIST: the key exists). */
  private async putPlain(path: string, key: string, data: PutData, ifAbsent: boolean): Promise<void> {
    const tmp = this.tempIn(dirname(path), '');
    await this.writeChecked(tmp, key, data);
    // Renamed, the temporary file is gone: only a failed rename or a link leaves one to remove
    // (unlink, one call; rm looks at the path twice first).
    let renamed = false;
    try {
      if (!ifAbsent) {
        await fs.rename(tmp, path);
        renamed = true;
        return;
      }
      try {
        await fs.link(tmp, path);
      } catch (e) {
        if (isNodeError(e, 'EEXIST')) throw new QuiverError('conflict', `storage: "${key}" already exists`, { key });
        throw e;
      }
    } finally {
      if (!renamed) await fs.unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Put-if-match under the key's lock. The lock is a folder `<key>.lock` holding exactly one file,
   * the new content, named `<pid>-<nonce>` after its owner; the owner publishes by renaming that
   * file over the key. A waiter that breaks a lock moves the folder away, so an owner whose lock
   * was broken (rightly or not) finds its file gone and starts over: at most one writer publishes
   * per etag, whatever the breakers do.
   */
  private async putIfMatch(path: string, key: string, data: PutData, etag: string): Promise<void> {
    const lock = path + LOCK_SUFFIX;
    const deadline = Date.now() + this.lockWaitMsMax;
    for (;;) {
      const payload = await this.acquire(lock, key, data, deadline);
      let renamed = false;
      try {
        const cur = await this.head(key);
        if (cur?.etag !== etag) throw new QuiverError('conflict', `storage: "${key}" changed since it was read`, { key });
        try {
          await fs.rename(payload, path);
          renamed = true;
          return;
        } catch (e) {
          if (!isNodeError(e, 'ENOENT')) throw e;
        }
      } finally {
        // Renamed, the payload is the key now: there is nothing left to remove.
        if (!renamed) await fs.rm(payload, { force: true }).catch(() => undefined);
        // Removes only an empty folder: ours after publishing, never a newer owner's (it holds a file).
        await fs.rmdir(lock).catch(() => undefined);
      }
    }
  }

  /** Takes `lock` with a folder holding `data`; returns the path of the data inside the lock. */
  private async acquire(lock: string, key: string, data: PutData, deadline: number): Promise<string> {
    const id = `${process.pid}-${randomBytes(8).toString('hex')}`;
    const staged = this.tempIn(dirname(lock), 'lock-');
    await fs.mkdir(staged);
    try {
      await this.writeChecked(join(staged, id), key, data);
      for (let attempt = 0; ; attempt++) {
        // Renaming a folder replaces only an absent or empty one, so this is the atomic take.
        if (await renameUnlessOccupied(staged, lock)) return join(lock, id);
        const holder = await this.lockHolder(lock);
        if (!holder) continue;
        if (holder.stale) {
          await this.breakLock(lock);
          continue;
        }
        if (Date.now() > deadline) {
          const who = holder.pid ? `${holder.alive ? 'live' : 'dead'} process ${holder.pid}` : 'an unknown owner (empty lock)';
          throw new QuiverError('io', `storage: timed out after ${this.lockWaitMsMax} ms waiting for the lock on "${key}" held by ${who} for ${holder.ageMs} ms`, { key, pid: holder.pid, heldMs: holder.ageMs });
        }
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
        // The lock's age is its folder's mtime: make ours young again before taking it.
        const now = new Date();
        await fs.utimes(staged, now, now);
      }
    } catch (e) {
      await fs.rm(staged, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Who holds `lock` (a folder as written by `acquire`, or a file with a pid as older versions
   * wrote), or null when it is gone or empty. Stale: its owner is dead, or it is older than
   * `lockStaleMsMax` (an owner holds it for one stat and one rename; an empty lock file is a
   * kill or a full disk between create and write).
   */
  private async lockHolder(lock: string): Promise<{ pid: number; alive: boolean; ageMs: number; stale: boolean } | null> {
    try {
      const st = await fs.stat(lock);
      const names = st.isDirectory() ? await fs.readdir(lock) : [await fs.readFile(lock, 'utf8')];
      if (st.isDirectory() && names.length === 0) return null;
      const pid = Number(/^(\d+)(-|$)/.exec(names[0]?.trim() ?? '')?.[1] ?? NaN);
      const known = Number.isInteger(pid) && pid > 0;
      const alive = known && processAlive(pid);
      const ageMs = Math.max(0, Math.round(Date.now() - st.mtimeMs));
      return { pid: known ? pid : 0, alive, ageMs, stale: (known && !alive) || ageMs > this.lockStaleMsMax };
    } catch (e) {
      // The lock changed between the stat and the read (a breaker moved it, a new owner's folder
      // or an old-style file took its place): not a failure, the caller looks again.
      if (isNodeError(e, 'ENOENT') || isNodeError(e, 'ENOTDIR') || isNodeError(e, 'EISDIR')) return null;
      throw e;
    }
  }

  /**
   * Moves whatever is at `lock` away and removes it. If a new owner replaced the stale lock
   * between the inspection and the move, that owner loses its lock and retries: safe, because
   * publishing needs the owner's file to still be inside the lock.
   */
  private async breakLock(lock: string): Promise<void> {
    const trash = this.tempIn(dirname(lock), 'broken-');
    try {
      await fs.rename(lock, trash);
    } catch (e) {
      if (isNodeError(e, 'ENOENT')) return;
      throw e;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  /** Removes leftovers of interrupted puts (temporary files, staged or broken locks) last modified before `beforeMs`. */
  async sweepLeftovers(beforeMs: number, dryRun = false): Promise<number> {
    let n = 0;
    const stack = [this.root];
    while (stack.length) {
      const dir = stack.pop()!;
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.name.startsWith(TMP_PREFIX)) {
          const st = await fs.stat(p).catch(() => null);
          if (!st || st.mtimeMs >= beforeMs) continue;
          if (!dryRun) await fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
          n++;
        } else if (e.isDirectory() && !e.name.endsWith(LOCK_SUFFIX)) stack.push(p);
      }
    }
    return n;
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.localPath(key));
    } catch (e) {
      if (!isNodeError(e, 'ENOENT')) throw ioError('delete', key, e);
    }
  }
}
