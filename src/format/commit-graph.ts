// Commits and refs. A commit names a manifest, its parents, a message and a time; its id is its
// content hash. A ref (branch or tag) is a tiny object naming a commit; moving a branch is a
// put-if-match on it, which is what makes a commit atomic and concurrent writers safe.

import { QuiverError } from '../errors.js';
import type { ObjectStore, StoredObject } from '../storage/index.js';
import { EXPRESSION_FILL_FORMAT, PATCH_FORMAT, layout, randomId, validRefName } from './layout.js';
import { readContentAddressed, readMetadata, writeContentAddressed, writeMetadata, decodeMetadata } from './metadata.js';
import type { Manifest } from './manifest.js';
import { noteChecksums } from './checksums.js';
import { noteSegments, resolveManifest, segmentManifest, type SegmentedLists } from './manifest-segments.js';

export interface CommitStats {
  rowsAdded: number;
  rowsDeleted: number;
  rowsUpdated: number;
  rows: number;
  bytesWritten: number;
}

export interface Commit {
  id: string;
  manifest: string;
  parents: string[];
  message: string;
  /** ISO-8601 time the commit was made. */
  time: string;
  operation: string;
  stats: CommitStats;
  /** Free-form provenance: the SQL and UDF stages of a pipeline, an author, … */
  meta?: Record<string, unknown>;
}

export type CommitBody = Omit<Commit, 'id'>;

export interface RefValue {
  commit: string;
}

export type RefKind = 'branch' | 'tag';

export function refKey(kind: RefKind, name: string): string {
  if (!validRefName(name)) throw new QuiverError('invalid_input', `versioning: invalid ${kind} name "${name}"`, { name });
  return kind === 'branch' ? layout.branch(name) : layout.tag(name);
}

/**
 * Writes `m` as a new manifest object and returns its id. Every write gets a fresh nonce, so two
 * commits never share a manifest object: reusing an existing unreachable one would race with a
 * vacuum that has already marked it for deletion (docs/versioning.md, "Vacuum"). Both directions
 * note the manifest's file checksums, so every read of its files through this store verifies
 * them (a handle keeps the manifest it committed without reading it back).
 */
export async function writeManifest(store: ObjectStore, m: Manifest): Promise<string> {
  const { body, format, keys } = await segmentManifest(store, m);
  const computed = Object.values(m.evolution?.fills ?? {}).some((f) => f.expr !== undefined);
  const id = await writeContentAddressed(store, 'manifest', layout.manifest, { ...body, nonce: randomId() }, Math.max(format, computed ? EXPRESSION_FILL_FORMAT : 1, m.patches?.length ? PATCH_FORMAT : 1));
  noteSegments(m, keys);
  noteChecksums(store, m);
  return id;
}

export async function readManifest(store: ObjectStore, id: string): Promise<Manifest> {
  const m = await resolveManifest(store, await readContentAddressed<Manifest & SegmentedLists>(store, 'manifest', layout.manifest(id), id));
  noteChecksums(store, m);
  return m;
}

export async function writeCommit(store: ObjectStore, body: CommitBody): Promise<Commit> {
  const id = await writeContentAddressed(store, 'commit', layout.commit, body);
  return { id, ...body };
}

export async function readCommit(store: ObjectStore, id: string): Promise<Commit> {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new QuiverError('not_found', `versioning: no version "${id}"`, { version: id });
  const body = await readContentAddressed<CommitBody>(store, 'commit', layout.commit(id), id);
  return { id, ...body };
}

/** A ref's commit and the etag to move it with, or null when the ref does not exist. One request. */
export async function readRef(store: ObjectStore, kind: RefKind, name: string): Promise<{ commit: string; etag: string } | null> {
  const key = refKey(kind, name);
  let read: StoredObject;
  try {
    read = await store.getWithInfo(key);
  } catch (e) {
    if (e instanceof QuiverError && e.code === 'not_found') return null;
    throw e;
  }
  // The etag came with these bytes, so moving the ref with it is safe: a stale etag is refused.
  const { body } = decodeMetadata<RefValue>('ref', key, read.data);
  return { commit: body.commit, etag: read.info.etag };
}

/** Creates a ref; fails with `already_exists` when it exists. */
export async function createRef(store: ObjectStore, kind: RefKind, name: string, commit: string): Promise<void> {
  try {
    await writeMetadata(store, 'ref', refKey(kind, name), { commit }, { ifAbsent: true });
  } catch (e) {
    if (e instanceof QuiverError && e.code === 'conflict') throw new QuiverError('already_exists', `versioning: ${kind} "${name}" already exists`, { name });
    throw e;
  }
}

/** Moves a ref from the commit read with `etag` to `commit`; throws `conflict` if it moved meanwhile. Returns the new etag. */
export async function moveRef(store: ObjectStore, kind: RefKind, name: string, commit: string, etag: string): Promise<string> {
  return (await writeMetadata(store, 'ref', refKey(kind, name), { commit }, { ifMatch: etag })).etag;
}

export async function listRefs(store: ObjectStore, kind: RefKind): Promise<{ name: string; commit: string }[]> {
  const prefix = kind === 'branch' ? layout.branchesPrefix : layout.tagsPrefix;
  const out: { name: string; commit: string }[] = [];
  for await (const info of store.list(prefix)) {
    const name = info.key.slice(prefix.length);
    const body = await readMetadata<RefValue>(store, 'ref', info.key).catch((e) => {
      if (e instanceof QuiverError && e.code === 'not_found') return null;
      throw e;
    });
    if (body) out.push({ name, commit: body.commit });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
