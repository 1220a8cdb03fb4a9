// Access tokens of a server root: `qv_<id>_<secret>`, shown once at creation and stored only as
// the sha256 of the whole token, one JSON object per token under the root (`_server/tokens/`),
// so every server on the same root agrees on who may do what. Invariants: the secret is never
// stored or listed; a presented token is checked by a constant-time hash comparison; a revoked
// or expired token authenticates nothing.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { QuiverError } from '../../errors.js';
import { openStore, type ObjectStore, type StoreOptions } from '../../storage/index.js';

/** What a token may do: read < write < admin (admin also manages tokens and creates datasets). */
export type TokenRole = 'read' | 'write' | 'admin';

export interface TokenScopes {
  role: TokenRole;
  /** Dataset name patterns (`*` matches any run of characters). Default `['*']`. */
  datasets?: string[];
  /**
   * Branch patterns the token may read and (with role write) write. Default `['*']`. Reading a
   * tag or a version by id needs `['*']`: a commit id could name any branch's rows.
   */
  branches?: string[];
  /** The tenant whose rows alone the token sees and writes, on datasets that declare a tenant column. */
  tenant?: string;
  /** When the token stops working: a Date or an ISO 8601 time. Default never. */
  expiresAt?: Date | string;
}

/** A token as stored and listed: everything but its secret. */
export interface TokenInfo {
  id: string;
  /** Who holds it; commits made with the token record this as their author. */
  name: string;
  role: TokenRole;
  datasets: string[];
  branches: string[];
  tenant?: string;
  expiresAt?: string;
  createdAt: string;
  revokedAt?: string;
}

interface StoredToken extends TokenInfo {
  /** sha256 (hex) of the whole token text. */
  hash: string;
}

/** Where a root keeps its tokens; dataset names cannot start with `_`, so none collides. */
export const TOKENS_PREFIX = '_server/tokens/';
const TOKEN_PATTERN = /^qv_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ROLES: readonly TokenRole[] = ['read', 'write', 'admin'];
/** Pattern characters: dataset names have no `/`; branch names may. */
const PATTERN_CHARS = { datasets: /^[A-Za-z0-9._*-]{1,128}$/, branches: /^[A-Za-z0-9._\-/*]{1,128}$/ };
const NAME_CHARS = /^[A-Za-z0-9._@:+\- ]{1,128}$/;

/** A root as the token API takes it: its URL (or store), with options for the store. */
export type TokenRoot = string | ObjectStore;

function rootStore(root: TokenRoot, storage?: StoreOptions): ObjectStore {
  return typeof root === 'string' ? openStore(root, storage) : root;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const keyOf = (id: string) => `${TOKENS_PREFIX}${id}.json`;
const bad = (message: string, details: Record<string, unknown> = {}) => new QuiverError('invalid_input', `auth: ${message}`, details);

function checkedPatterns(what: 'datasets' | 'branches', list: string[] | undefined): string[] {
  const out = list ?? ['*'];
  if (!Array.isArray(out) || out.length === 0) throw bad(`${what} must be a non-empty list of patterns, got ${JSON.stringify(list)}`);
  for (const p of out) if (typeof p !== 'string' || !PATTERN_CHARS[what].test(p)) throw bad(`${what} pattern must use letters, digits, . _ -${what === 'branches' ? ' /' : ''} and *, got ${JSON.stringify(p)}`);
  return out;
}

function checkedExpiry(v: Date | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw bad(`expiresAt must be a Date or an ISO 8601 time, got ${JSON.stringify(v)}`);
  return d.toISOString();
}

/** The stored form of a new token's scopes, checked. */
function scopesInfo(name: string, scopes: TokenScopes): Omit<TokenInfo, 'id' | 'createdAt'> {
  if (typeof name !== 'string' || !NAME_CHARS.test(name)) throw bad(`token name must be 1–128 letters, digits, spaces or . _ @ : + -, got ${JSON.stringify(name)}`);
  if (!ROLES.includes(scopes?.role)) throw bad(`role must be read, write or admin, got ${JSON.stringify(scopes?.role)}`);
  if (scopes.tenant !== undefined && (typeof scopes.tenant !== 'string' || scopes.tenant === '')) throw bad(`tenant must be a non-empty string, got ${JSON.stringify(scopes.tenant)}`);
  const expiresAt = checkedExpiry(scopes.expiresAt);
  return {
    name,
    role: scopes.role,
    datasets: checkedPatterns('datasets', scopes.datasets),
    branches: checkedPatterns('branches', scopes.branches),
    ...(scopes.tenant !== undefined ? { tenant: scopes.tenant } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
}

function publicInfo(t: StoredToken): TokenInfo {
  const { hash: _hash, ...info } = t;
  return info;
}

async function readToken(store: ObjectStore, id: string): Promise<StoredToken | null> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(keyOf(id)))) as StoredToken;
  } catch (e) {
    if (e instanceof QuiverError && e.code === 'not_found') return null;
    throw e;
  }
}

/**
 * Creates a token on `root` and returns its text (shown this once: only its hash is kept) and
 * what it may do.
 *
 * @example
 * const { token } = await createToken('s3://gen', 'inference-worker', { role: 'write', datasets: ['gen'], branches: ['main'] });
 */
export async function createToken(root: TokenRoot, name: string, scopes: TokenScopes, options: { storage?: StoreOptions } = {}): Promise<{ token: string; info: TokenInfo }> {
  const checked = scopesInfo(name, scopes);
  const store = rootStore(root, options.storage);
  const id = randomBytes(8).toString('hex');
  const token = `qv_${id}_${randomBytes(32).toString('base64url')}`;
  const stored: StoredToken = { id, ...checked, createdAt: new Date().toISOString(), hash: sha256(token) };
  await store.put(keyOf(id), new TextEncoder().encode(JSON.stringify(stored)), { ifAbsent: true });
  return { token, info: publicInfo(stored) };
}

/** Every token of `root` (revoked ones too, with `revokedAt`), oldest first; never a secret or hash. */
export async function listTokens(root: TokenRoot, options: { storage?: StoreOptions } = {}): Promise<TokenInfo[]> {
  const store = rootStore(root, options.storage);
  const out: TokenInfo[] = [];
  for await (const o of store.list(TOKENS_PREFIX)) {
    const id = /([0-9a-f]{16})\.json$/.exec(o.key)?.[1];
    const t = id ? await readToken(store, id) : null;
    if (t) out.push(publicInfo(t));
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Revokes the token with id `idOrName`, or every live token with that name; returns the
 * tokens revoked. Throws `not_found` when none matches. Takes effect on the next request of
 * every server on the root (tokens are read from the store on each request).
 */
export async function revokeToken(root: TokenRoot, idOrName: string, options: { storage?: StoreOptions } = {}): Promise<TokenInfo[]> {
  const store = rootStore(root, options.storage);
  const hits = (await listTokens(store)).filter((t) => !t.revokedAt && (t.id === idOrName || t.name === idOrName));
  if (hits.length === 0) throw new QuiverError('not_found', `auth: no live token with id or name ${JSON.stringify(idOrName)}`, { token: idOrName });
  const revokedAt = new Date().toISOString();
  for (const h of hits) {
    const t = (await readToken(store, h.id))!;
    await store.put(keyOf(h.id), new TextEncoder().encode(JSON.stringify({ ...t, revokedAt })));
  }
  return hits.map((h) => ({ ...h, revokedAt }));
}

const unauthorized = (why: string) => new QuiverError('unauthorized', `auth: ${why}`);

/**
 * The token `text` names, if it is genuine, live and unexpired at `now`; else `unauthorized`
 * (the message never says which part of a forged token was wrong beyond its shape).
 */
export async function verifyToken(root: TokenRoot, text: string | undefined, now: Date = new Date()): Promise<TokenInfo> {
  if (!text) throw unauthorized('a bearer token is required (Authorization: Bearer qv_…)');
  const m = TOKEN_PATTERN.exec(text);
  if (!m) throw unauthorized('the token is not a Quiver token (qv_<id>_<secret>)');
  const t = await readToken(rootStore(root), m[1]);
  // Compare even when the id is unknown, so the time taken says nothing about which ids exist.
  const want = Buffer.from(t?.hash ?? sha256(`absent:${text}`), 'hex');
  const equal = timingSafeEqual(want, Buffer.from(sha256(text), 'hex'));
  if (!t || !equal) throw unauthorized('unknown token');
  if (t.revokedAt) throw unauthorized(`token "${t.name}" was revoked at ${t.revokedAt}`);
  if (t.expiresAt && Date.parse(t.expiresAt) <= now.getTime()) throw unauthorized(`token "${t.name}" expired at ${t.expiresAt}`);
  return publicInfo(t);
}
