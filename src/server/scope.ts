// The one place a request gets a dataset: `datasetFor(token, name, at, need)` checks the token's
// scopes, validates the name, and hands out a lease on a handle. Reads share one pooled handle
// per dataset and branch; writes get a handle of their own (or the request's write session's),
// so one request's staged rows are never committed by another's commit. Invariant: no route
// opens a dataset any other way, so tenant scoping and the SQL sandbox are wired here once.

import { QuiverError } from '../errors.js';
import { open, sandboxedDataset, ScopedDataset, type Dataset } from '../dataset/index.js';
import { authorize, type TokenInfo } from './auth/index.js';
import { checkDatasetName, type ServerRoot } from './root.js';

/** Which version a request reads or writes: one of branch (default main), version, tag. */
export interface At {
  branch?: string;
  version?: string;
  tag?: string;
}

/**
 * The handle a route works with: a sandboxed Dataset for a token without a tenant, or for a
 * tenant token `ds.scoped({ tenant, sandbox: true })` (dataset/scoped.ts), whose every read
 * sees that tenant's rows only and whose SQL runs in the sandbox.
 */
export type ScopedHandle = Dataset | ScopedDataset;

const INTEGER_KINDS = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/**
 * `ds` as `token` may see it. A tenant token on a dataset that declares no tenant column is
 * `forbidden` (it would otherwise see every tenant). Tokens without a tenant get the whole
 * dataset with the same SQL sandbox (`sandboxedDataset`): no request's SQL runs unsandboxed.
 */
async function scopedFor(ds: Dataset, token: TokenInfo): Promise<Opened> {
  if (token.tenant === undefined) {
    const boxed = sandboxedDataset(ds);
    return { ds: boxed, close: async () => (await boxed.close(), await ds.close()) };
  }
  try {
    const column = ds.tenantColumn;
    if (!column) throw new QuiverError('forbidden', `server: token "${token.name}" is scoped to a tenant, and this dataset declares no tenant column`, { token: token.name });
    const kind = ds.schema.find((c) => c.name === column)?.type.kind ?? 'text';
    const tenant = INTEGER_KINDS.has(kind) && /^-?\d+$/.test(token.tenant) ? BigInt(token.tenant) : token.tenant;
    const scoped = await ds.scoped({ tenant, sandbox: true });
    // The scoped handle is made from `ds` and leaves it open: both are closed together.
    return { ds: scoped, close: async () => (await scoped.close(), await ds.close()) };
  } catch (e) {
    await ds.close();
    throw e;
  }
}

/** An opened handle and how to close it (with the handle a scoped one was made from). */
interface Opened {
  ds: ScopedHandle;
  close(): Promise<void>;
}

/**
 * The full Dataset behind a lease, for what only an unscoped handle does (branches, tags,
 * merge, curate, indexes); `forbidden` for a tenant token.
 */
export function unscoped(lease: Lease, token: TokenInfo, what: string): Dataset {
  if (lease.ds instanceof ScopedDataset) throw new QuiverError('forbidden', `server: token "${token.name}" is scoped to a tenant; ${what} needs a token without one`, { token: token.name });
  return lease.ds;
}

export interface Lease {
  ds: ScopedHandle;
  /** The branch the handle writes to, or null for a tag or version. */
  branch: string | null;
  release(): Promise<void>;
}

interface Pooled {
  ds: Promise<Opened>;
  refs: number;
  usedAt: number;
}

/** A leased handle and how to give it back. */
interface Handle {
  ds: ScopedHandle;
  release(): Promise<void>;
}

export interface PoolOptions {
  /** Shared read handles kept open (least recently used idle ones are closed first). Default 64. */
  readHandlesMax?: number;
  /**
   * Shared read handles per dataset, branch and tenant: a handle runs its queries one at a
   * time, so concurrent reads spread over up to this many (a new one opens only when every
   * existing one is busy). Default 4.
   */
  readHandlesPerBranch?: number;
  /** Write sessions kept open; the least recently used is closed (its staged rows dropped) past this. Default 64. */
  sessionsMax?: number;
}

/** Open handles of one server: pooled readers and write sessions, each bounded. */
export class HandlePool {
  readonly #readers = new Map<string, Pooled>();
  readonly #sessions = new Map<string, Pooled>();
  #tick = 0;
  readonly #readMax: number;
  readonly #perBranch: number;
  readonly #sessionsMax: number;

  constructor(
    readonly root: ServerRoot,
    options: PoolOptions = {},
  ) {
    this.#readMax = options.readHandlesMax ?? 64;
    this.#perBranch = options.readHandlesPerBranch ?? 4;
    this.#sessionsMax = options.sessionsMax ?? 64;
  }

  async #openAt(name: string, at: At, token: TokenInfo): Promise<Opened> {
    const picked = (['branch', 'version', 'tag'] as const).filter((k) => at[k] !== undefined);
    if (picked.length > 1) throw new QuiverError('invalid_input', `server: give one of branch, version and tag, got ${picked.join(' and ')}`);
    const url = this.root.datasetUrl(name);
    const target = at.version !== undefined ? { version: at.version } : at.tag !== undefined ? { tag: at.tag } : { branch: at.branch ?? 'main' };
    return scopedFor(await open(url, { ...target, storage: this.root.storage }), token);
  }

  /** A lease on the entry `key` of `map`, opening it with `make` when absent. */
  async #lease(map: Map<string, Pooled>, key: string, max: number, make: () => Promise<Opened>): Promise<Handle> {
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
      const { ds } = await entry.ds;
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

  /**
   * A shared handle for reads at `at`, one per tenant (tags and versions are opened for the
   * request alone: tags move).
   */
  async reader(name: string, at: At, token: TokenInfo): Promise<Handle> {
    if (at.tag !== undefined) {
      const o = await this.#openAt(name, at, token);
      return { ds: o.ds, release: () => o.close() };
    }
    const where = at.version !== undefined ? `v\0${at.version}` : `b\0${at.branch ?? 'main'}`;
    const key = `${name}\0${where}\0${token.tenant === undefined ? '' : `t\0${token.tenant}`}`;
    // The first idle handle of the key's slots, else an unopened slot, else the least busy one.
    const slots = Array.from({ length: this.#perBranch }, (_, i) => `${key}\0${i}`);
    const refs = (k: string) => this.#readers.get(k)?.refs ?? -1;
    const pick = slots.find((k) => refs(k) === 0) ?? slots.find((k) => refs(k) === -1) ?? slots.reduce((a, b) => (refs(b) < refs(a) ? b : a));
    return this.#lease(this.#readers, pick, this.#readMax, () => this.#openAt(name, at, token));
  }

  /**
   * A handle for writes: the session's (kept until committed) or one of its own, closed after
   * the request. `staged`: the client says the session holds staged writes; if this server has
   * no such session (it restarted, or dropped the session past sessionsMax) the request is a
   * `conflict` with `details.sessionLost`, never a commit of only the writes staged after.
   */
  async writer(name: string, branch: string, token: TokenInfo, session: string | undefined, staged = false): Promise<Handle> {
    if (session === undefined) {
      const o = await this.#openAt(name, { branch }, token);
      return { ds: o.ds, release: () => o.close() };
    }
    const key = `${token.id}\0${session}\0${name}\0${branch}`;
    if (staged && !this.#sessions.has(key)) {
      throw new QuiverError('conflict', `server: write session ${session} is not open on this server (it restarted, or dropped the session as least recently used past sessionsMax); its staged writes are lost: stage them again, then commit`, { session, sessionLost: true });
    }
    return this.#lease(this.#sessions, key, this.#sessionsMax, () => this.#openAt(name, { branch }, token));
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
  /** The client holds writes staged in `session` (header `x-quiver-session-staged: true`): see HandlePool.writer. */
  sessionStaged?: boolean;
}

const SESSION = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * The one way a route gets a dataset: checks `name`, the token's scopes for it and the branch,
 * and leases a handle (write sessions are keyed by token too, so no token reaches another's).
 */
export async function datasetFor(pool: HandlePool, token: TokenInfo, name: string, req: DatasetRequest): Promise<Lease> {
  const branch = checkRequest(token, name, req);
  const h = req.need === 'write' ? await pool.writer(name, branch!, token, req.session, req.sessionStaged) : await pool.reader(name, req, token);
  return { ds: h.ds, branch, release: h.release };
}

/**
 * The checks `datasetFor` makes before opening anything: the name, the token's scopes for it and
 * the branch, the session header. Returns the branch written or read (null for a tag or version).
 */
export function checkRequest(token: TokenInfo, name: string, req: DatasetRequest): string | null {
  checkDatasetName(name);
  const branch = req.version !== undefined || req.tag !== undefined ? null : (req.branch ?? 'main');
  if (req.need === 'write' && branch === null) throw new QuiverError('read_only', 'server: writes go to a branch, not a tag or version');
  authorize(token, { need: req.need, dataset: name, branch });
  if (req.session !== undefined && !SESSION.test(req.session)) throw new QuiverError('invalid_input', `server: x-quiver-session must be 8–64 letters, digits, _ or -, got ${JSON.stringify(req.session)}`);
  return branch;
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
