// An ObjectStore over a local folder. Atomicity comes from the file system: every put writes a
// temporary file, fsyncs it, then renames (plain put), hard-links (put-if-absent) or renames
// under a per-key lock file (put-if-match). A reader never sees a half-written object.

import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { QuiverError } from '../../errors.js';
import { type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../object-store.js';

export interface LocalStoreOptions {
  /** fsync files and their folder before a put returns, so a machine crash keeps them. Default true. */
  fsync?: boolean;
  /** How long put-if-match waits for another writer's lock on the same key. Default 10,000 ms. */
  lockWaitMsMax?: number;
}

const TMP_PREFIX = '.tmp-';
const LOCK_SUFFIX = '.lock';

function isNodeError(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === code;
}

function ioError(op: string, key: string, e: unknown): QuiverError {
  return new QuiverError('io', `storage: ${op} "${key}" failed: ${(e as Error).message}`, { key }, { cause: e });
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

  constructor(
    readonly root: string,
    options: LocalStoreOptions = {},
  ) {
    this.url = `file://${root}`;
    this.fsync = options.fsync ?? true;
    this.lockWaitMsMax = options.lockWaitMsMax ?? 10_000;
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

  private async writeTemp(path: string, data: PutData): Promise<string> {
    await fs.mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `${TMP_PREFIX}${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fh = await fs.open(tmp, 'w');
    try {
      const parts = data instanceof Uint8Array ? [data] : data;
      // writev takes at most IOV_MAX buffers per call.
      for (let i = 0; i < parts.length; i += 512) await fh.writev(parts.slice(i, i + 512) as Uint8Array[]);
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
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
    let tmp: string | undefined;
    try {
      tmp = await this.writeTemp(path, data);
      if (condition && 'ifAbsent' in condition) {
        try {
          await fs.link(tmp, path);
        } catch (e) {
          if (isNodeError(e, 'EEXIST')) throw new QuiverError('conflict', `storage: "${key}" already exists`, { key });
          throw e;
        }
        await fs.unlink(tmp);
      } else if (condition && 'ifMatch' in condition) {
        await this.withLock(path, key, async () => {
          const cur = await this.head(key);
          if (cur?.etag !== condition.ifMatch) {
            throw new QuiverError('conflict', `storage: "${key}" changed since it was read`, { key });
          }
          await fs.rename(tmp!, path);
        });
      } else {
        await fs.rename(tmp, path);
      }
      tmp = undefined;
      await this.syncDir(path);
      const info = await this.head(key);
      if (!info) throw new QuiverError('io', `storage: "${key}" vanished right after it was written`, { key });
      return info;
    } catch (e) {
      if (e instanceof QuiverError) throw e;
      throw ioError('put', key, e);
    } finally {
      if (tmp) await fs.unlink(tmp).catch(() => undefined);
    }
  }

  /** Runs `fn` holding an exclusive lock file beside `path`; a lock left by a dead process is broken. */
  private async withLock<T>(path: string, key: string, fn: () => Promise<T>): Promise<T> {
    const lock = path + LOCK_SUFFIX;
    const deadline = Date.now() + this.lockWaitMsMax;
    for (let attempt = 0; ; attempt++) {
      try {
        const fh = await fs.open(lock, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        break;
      } catch (e) {
        if (!isNodeError(e, 'EEXIST')) throw e;
        const owner = Number(await fs.readFile(lock, 'utf8').catch(() => 'NaN'));
        if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
          await fs.unlink(lock).catch(() => undefined);
          continue;
        }
        if (Date.now() > deadline) throw new QuiverError('conflict', `storage: timed out waiting for the lock on "${key}"`, { key });
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
      }
    }
    try {
      return await fn();
    } finally {
      await fs.unlink(lock).catch(() => undefined);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.localPath(key));
    } catch (e) {
      if (!isNodeError(e, 'ENOENT')) throw ioError('delete', key, e);
    }
  }
}
