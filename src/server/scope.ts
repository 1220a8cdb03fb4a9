// The one place a request gets a dataset: `datasetFor(token, name, at, need)` checks the token's
// scopes, validates the name, and hands out a lease on a handle. Reads share one pooled handle
// per dataset and branch; writes get a handle of their own (or the request's write session's),
// so one request's staged rows are never committed by another's commit. Invariant: no route
// opens a dataset any other way, so tenant scoping and the SQL sandbox are wired here once.

import { QuiverError } from '../errors.js';
import { open, type Dataset } from '../dataset/index.js';
import { authorize, type TokenInfo } from './auth/index.js';
import { checkDatasetName, type ServerRoot } from './root.js';

/** Which version a request reads or writes: one of branch (default main), version, tag. */
export interface At {
  branch?: string;
  version?: string;
  tag?: string;
}

/**
 * The handle a route works with. Today the plain Dataset: tenant-scoped, sandboxed handles
 * (`ds.scoped({ tenant, sandbox })`, branch `sandbox`) are NOT wired yet. When they land,
 * `scopedFor` below is the only line to change.
 */
export type ScopedHandle = Dataset;

/** TODO(sandbox): return `ds.scoped({ tenant: token.tenant, sandbox: true })` once branch `sandbox` provides it. */
function scopedFor(ds: Dataset, _token: TokenInfo): ScopedHandle {
  return ds;
}

export interface Lease {
  ds: ScopedHandle;
  /** The branch the handle writes to, or null for a tag or version. */
  branch: string | null;
  release(): Promise<void>;
}

interface Pooled {
  ds: Promise<Dataset>;
  refs: number;
  usedAt: number;
}

export interface PoolOptions {
  /** Shared read handles kept open (least recently used idle ones are closed first). Default 64. */
  readHandlesMax?: number;
  /** Write sessions kept open; the least recently used is closed (its staged rows dropped) past this. Default 64. */
  sessionsMax?: number;
}

/** Open handles of one server: pooled readers and write sessions, each bounded. */
export class HandlePool {
  readonly #readers = new Map<string, Pooled>();
  readonly #sessions = new Map<string, Pooled>();
  #tick = 0;
  readonly #readMax: number;
  readonly #sessionsMax: number;

  constructor(
    readonly root: ServerRoot,
    options: PoolOptions = {},
  ) {
    this.#readMax = options.readHandlesMax ?? 64;
    this.#sessionsMax = options.sessionsMax ?? 64;
  }

  #openAt(name: string, at: At): Promise<Dataset> {
    const picked = (['branch', 'version', 'tag'] as const).filter((k) => at[k] !== undefined);
    if (picked.length > 1) throw new QuiverError('invalid_input', `server: give one of branch, version and tag, got ${picked.join(' and ')}`);
    const url = this.root.datasetUrl(name);
    const target = at.version !== undefined ? { version: at.version } : at.tag !== undefined ? { tag: at.tag } : { branch: at.branch ?? 'main' };
    return open(url, { ...target, storage: this.root.storage });
  }

  /** A lease on the entry `key` of `map`, opening it with `make` when absent. */
  async #lease(map: Map<string, Pooled>, key: string, max: number, make: () => Promise<Dataset>): Promise<{ ds: Dataset; release: () => Promise<void> }> {
    let e = map.get(key);
    if (!e) {
      e = { ds: make(), refs: 0, usedAt: 0 };
      map.set(key, e);
      e.ds.catch(() => map.get(key) === e && map.delete(key));
    }
    e.refs++;
    e.usedAt = ++this.#tick;
    const entry = e;
    try {
      const ds = await entry.ds;
      await this.#evict(map, max);
      return { ds, release: async () => void entry.refs-- };
    } catch (err) {
      entry.refs--;
      throw err;
    }
  }

  /** Closes least recently used idle entries while `map` holds more than `max`. */
  async #evict(map: Map<string, Pooled>, max: number): Promise<void> {
    while (map.size > max) {
      const idle = [...map].filter(([, e]) => e.refs === 0).sort((a, b) => a[1].usedAt - b[1].usedAt)[0];
      if (!idle) return;
      map.delete(idle[0]);
      await (await idle[1].ds).close();
    }
  }

  /** A shared handle for reads at `at` (tags and versions are opened for the request alone: tags move). */
  async reader(name: string, at: At): Promise<{ ds: Dataset; release: () => Promise<void> }> {
    if (at.tag !== undefined) {
      const ds = await this.#openAt(name, at);
      return { ds, release: () => ds.close() };
    }
    const key = at.version !== undefined ? `${name}\0v\0${at.version}` : `${name}\0b\0${at.branch ?? 'main'}`;
    return this.#lease(this.#readers, key, this.#readMax, () => this.#openAt(name, at));
  }

  /** A handle for writes: the session's (kept until committed) or one of its own, closed after the request. */
  async writer(name: string, branch: string, session: string | undefined): Promise<{ ds: Dataset; release: () => Promise<void> }> {
    if (session === undefined) {
      const ds = await this.#openAt(name, { branch });
      return { ds, release: () => ds.close() };
    }
    return this.#lease(this.#sessions, `${session}\0${name}\0${branch}`, this.#sessionsMax, () => this.#openAt(name, { branch }));
  }

  /** Closes every handle (staged rows of open sessions are dropped, as a closed handle's are). */
  async close(): Promise<void> {
    const all = [...this.#readers.values(), ...this.#sessions.values()];
    this.#readers.clear();
    this.#sessions.clear();
    await Promise.all(all.map(async (e) => (await e.ds.catch(() => null))?.close()));
  }
}

/** What a route asks for: read or write, at a version, in an optional write session. */
export interface DatasetRequest extends At {
  need: 'read' | 'write';
  /** The client's write session (header `x-quiver-session`): staged writes live until its commit. */
  session?: string;
}

const SESSION = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * The one way a route gets a dataset: checks `name`, the token's scopes for it and the branch,
 * and leases a handle (write sessions are keyed by token too, so no token reaches another's).
 */
export async function datasetFor(pool: HandlePool, token: TokenInfo, name: string, req: DatasetRequest): Promise<Lease> {
  checkDatasetName(name);
  const branch = req.version !== undefined || req.tag !== undefined ? null : (req.branch ?? 'main');
  if (req.need === 'write' && branch === null) throw new QuiverError('read_only', 'server: writes go to a branch, not a tag or version');
  authorize(token, { need: req.need, dataset: name, branch });
  if (req.session !== undefined && !SESSION.test(req.session)) throw new QuiverError('invalid_input', `server: x-quiver-session must be 8–64 letters, digits, _ or -, got ${JSON.stringify(req.session)}`);
  const h = req.need === 'write' ? await pool.writer(name, branch!, req.session === undefined ? undefined : `${token.id}\0${req.session}`) : await pool.reader(name, req);
  return { ds: scopedFor(h.ds, token), branch, release: h.release };
}

/** Runs `fn` on a lease and releases it however `fn` ends. */
export async function withDataset<T>(pool: HandlePool, token: TokenInfo, name: string, req: DatasetRequest, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await datasetFor(pool, token, name, req);
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
