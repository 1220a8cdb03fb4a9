// Names to commits and walks over the commit graph: resolving a branch, tag or commit id,
// the history of a commit (newest first) and the merge base of two commits. Commits are
// immutable, so every walk is a read-only traversal of content-addressed objects.

import { QuiverError } from '../../errors.js';
import { readCommit, readRef, type Commit } from '../../format/index.js';
import type { ObjectStore } from '../../storage/index.js';

/**
 * Resolves a branch name, else a tag name, else a commit id to its commit: the rule CLI addresses
 * follow too (`src/io/address.ts`), so a tag spelled like a commit id names the same version in
 * both. A 32-hex name reads its refs and the commit beside each other: one round trip, not three.
 */
export async function resolveCommit(store: ObjectStore, name: string): Promise<Commit> {
  if (typeof name !== 'string' || !name) throw new QuiverError('invalid_input', 'versioning: expected a branch, tag or commit id');
  const maybeCommit = /^[0-9a-f]{32}$/.test(name)
    ? readCommit(store, name).catch((e: unknown) => {
        if (e instanceof QuiverError && e.code === 'not_found') return null;
        throw e;
      })
    : Promise.resolve(null);
  let ref: { commit: string } | null = null;
  try {
    const [branch, tag] = await Promise.all([readRef(store, 'branch', name), readRef(store, 'tag', name)]);
    ref = branch ?? tag;
  } catch (e) {
    if (!(e instanceof QuiverError && e.code === 'invalid_input')) {
      await maybeCommit.catch(() => undefined);
      throw e;
    }
  }
  if (ref) {
    await maybeCommit.catch(() => undefined);
    return readCommit(store, ref.commit);
  }
  const commit = await maybeCommit;
  if (!commit) throw new QuiverError('not_found', `versioning: no branch, tag or version "${name}"`, { name });
  return commit;
}

/** Every commit reachable from `starts`, newest first (by time, then id). */
export async function* walkHistory(store: ObjectStore, starts: Commit[], limit = Infinity): AsyncGenerator<Commit> {
  const seen = new Set<string>();
  const queue: Commit[] = [];
  for (const c of starts) if (!seen.has(c.id)) (seen.add(c.id), queue.push(c));
  let emitted = 0;
  while (queue.length && emitted < limit) {
    queue.sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1));
    const c = queue.shift()!;
    yield c;
    emitted++;
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(await readCommit(store, p));
    }
  }
}

/** Every commit id reachable from `start`, itself included. */
export async function ancestors(store: ObjectStore, start: string): Promise<Set<string>> {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length) {
    const c = await readCommit(store, stack.pop()!);
    for (const p of c.parents) if (!seen.has(p)) (seen.add(p), stack.push(p));
  }
  return seen;
}

/**
 * The best common ancestor of `a` and `b`: the first commit reached breadth-first from `b`
 * that is an ancestor of `a`; null when they share no history.
 */
export async function mergeBase(store: ObjectStore, a: string, b: string): Promise<string | null> {
  if (a === b) return a;
  const ofA = await ancestors(store, a);
  const seen = new Set<string>([b]);
  let level = [b];
  while (level.length) {
    const hits = level.filter((id) => ofA.has(id));
    if (hits.length) {
      if (hits.length === 1) return hits[0];
      const commits = await Promise.all(hits.map((id) => readCommit(store, id)));
      commits.sort((x, y) => (x.time === y.time ? (x.id < y.id ? 1 : -1) : x.time < y.time ? 1 : -1));
      return commits[0].id;
    }
    const next: string[] = [];
    for (const id of level) {
      for (const p of (await readCommit(store, id)).parents) if (!seen.has(p)) (seen.add(p), next.push(p));
    }
    level = next;
  }
  return null;
}
