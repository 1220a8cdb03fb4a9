// What a token's scopes allow: one pure check per request, `authorize(token, access)`, so every
// route asks the same question the same way. Invariant: a denial is `forbidden` (the token is
// genuine, its scopes say no), never silently narrowed.

import { QuiverError } from '../../errors.js';
import type { TokenInfo, TokenRole } from './tokens.js';

/** What a request does: to which dataset, at which branch (or a tag/version), at what level. */
export interface Access {
  need: TokenRole;
  /** Absent for root-level actions (tokens, listing datasets). */
  dataset?: string;
  /** The branch read or written; null for a tag or version read; absent for root-level actions. */
  branch?: string | null;
}

const RANK: Record<TokenRole, number> = { read: 0, write: 1, admin: 2 };

/** `pattern` (with `*` matching any run of characters) matches all of `name`. */
export function matchesPattern(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

const matchesAny = (patterns: readonly string[], name: string) => patterns.some((p) => matchesPattern(p, name));

/** Throws `forbidden` unless `token` may do `access`. */
export function authorize(token: TokenInfo, access: Access): void {
  const deny = (why: string) => new QuiverError('forbidden', `auth: token "${token.name}" ${why}`, { token: token.name, ...access });
  if (RANK[token.role] < RANK[access.need]) throw deny(`has role ${token.role}; this needs ${access.need}`);
  if (access.dataset !== undefined && !matchesAny(token.datasets, access.dataset)) throw deny(`has no access to dataset ${JSON.stringify(access.dataset)}`);
  if (access.branch === null && !token.branches.includes('*')) throw deny('is limited to some branches, so it cannot read a tag or version by id');
  if (typeof access.branch === 'string' && !matchesAny(token.branches, access.branch)) throw deny(`has no access to branch ${JSON.stringify(access.branch)}`);
}
