// Vacuum: deletes objects that no branch, tag or version in their history reaches and that are
// older than a grace period (so files of commits in flight survive), plus `.tmp-*` leftovers of
// killed writers. It never deletes a file a ref still needs: marking reads every ref after
// listing, and only objects seen in the listing can be deleted.

import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { layout, listRefs, readCommit, readManifest } from '../../format/index.js';
import type { ObjectStore } from '../../storage/index.js';

export interface VacuumOptions {
  /** Delete only objects last modified before this time (a Date) or this many ms ago. Default 1 hour ago. */
  olderThan?: Date | number;
  /** Report what would be deleted, delete nothing. Default false. */
  dryRun?: boolean;
}

export interface VacuumResult {
  /** Objects deleted (or that would be). */
  deleted: number;
  bytes: number;
  /** Objects kept because a ref reaches them. */
  reachable: number;
  /** Unreachable objects kept because they are younger than the grace period. */
  young: number;
  /** `.tmp-*` leftovers removed (local stores). */
  tmpFiles: number;
}

const SWEPT = [layout.dataPrefix, layout.manifestsPrefix, layout.commitsPrefix];

/** Every key some branch or tag reaches through its whole history. */
export async function reachableKeys(store: ObjectStore): Promise<Set<string>> {
  const keys = new Set<string>();
  const refs = [...(await listRefs(store, 'branch')), ...(await listRefs(store, 'tag'))];
  const seen = new Set<string>();
  const stack = refs.map((r) => r.commit);
  const manifests = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const c = await readCommit(store, id);
    keys.add(layout.commit(id));
    manifests.add(c.manifest);
    stack.push(...c.parents);
  }
  for (const mid of manifests) {
    keys.add(layout.manifest(mid));
    const m = await readManifest(store, mid);
    for (const f of m.fragments) {
      keys.add(f.key);
      if (f.deletes) keys.add(f.deletes.key);
    }
    for (const files of Object.values(m.groups)) for (const g of files) keys.add(g.key);
    for (const ix of m.indexes) keys.add(ix.key);
  }
  return keys;
}

async function sweepTmp(root: string, cutoff: number, dryRun: boolean): Promise<number> {
  let n = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name.startsWith('.tmp-')) {
        const st = await stat(p).catch(() => null);
        if (st && st.mtimeMs < cutoff) {
          if (!dryRun) await unlink(p).catch(() => undefined);
          n++;
        }
      }
    }
  }
  return n;
}

/** Deletes unreachable objects older than the grace period. */
export async function vacuum(store: ObjectStore, options: VacuumOptions = {}): Promise<VacuumResult> {
  const now = Date.now();
  const o = options.olderThan ?? 3_600_000;
  const cutoff = o instanceof Date ? o.getTime() : now - o;
  const listed: { key: string; size: number; lastModified: number }[] = [];
  for (const prefix of SWEPT) for await (const info of store.list(prefix)) listed.push(info);
  // Mark after listing: anything committed before the mark is protected, and objects written
  // after the listing are not candidates.
  const keep = await reachableKeys(store);
  const result: VacuumResult = { deleted: 0, bytes: 0, reachable: 0, young: 0, tmpFiles: 0 };
  for (const { key, size, lastModified } of listed) {
    if (keep.has(key)) {
      result.reachable++;
      continue;
    }
    // Every store reports a modification time, so a writer's not-yet-published objects stay young.
    if (lastModified >= cutoff) {
      result.young++;
      continue;
    }
    if (!options.dryRun) await store.delete(key);
    result.deleted++;
    result.bytes += size;
  }
  if (store.localPath) result.tmpFiles = await sweepTmp(store.localPath(layout.marker).slice(0, -layout.marker.length), cutoff, !!options.dryRun);
  return result;
}
