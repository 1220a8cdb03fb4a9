// Segmented manifests: a long fragment list (or a large column's file list) is stored as
// immutable segment objects of SEGMENT_ENTRIES entries each, and the manifest root names them.
// A commit that appends a fragment or touches one fragment's deletes rewrites the root and the
// one or two segments that changed, not the whole list: O(change) at any size (docs/scaling.md).
//
// Reuse is by identity: entries read from (or written into) a segment remember it, so a chunk
// whose entries are exactly a known segment's entries, in order, reuses its id without being
// serialised again. A new segment gets a fresh nonce like a manifest, so a commit never revives
// an unreachable segment that a running vacuum is about to delete (docs/versioning.md, "Vacuum");
// a reused one belongs to a manifest the commit builds on, which its ref still reaches.
// Invariant: segment entries are frozen; manifests share them, so none may be changed in place.

import { QuiverError } from '../errors.js';
import type { ObjectStore } from '../storage/index.js';
import { layout, randomId } from './layout.js';
import type { FragmentMeta, GroupFileMeta, Manifest } from './manifest.js';
import { readContentAddressed, writeContentAddressed } from './metadata.js';

/**
 * Entries per segment, and the list length past which a list is segmented. At ~190 B per entry a
 * segment is ~50 KB; at 1B rows (61,000 compacted fragments) the root lists ~240 segments (~15 KB).
 * Below it a manifest is written whole as before, so small datasets pay no extra round trip.
 */
export const SEGMENT_ENTRIES = 256;

/** The envelope format of a segmented root and of its segments: readers of format 1 refuse them. */
export const SEGMENTED_FORMAT = 2;

/** Parsed segments kept per process (at most ~256 × 50 KB): the next commit or open of a near version reuses them. */
const SEGMENTS_CACHED_MAX = 256;

export interface SegmentRef {
  id: string;
  count: number;
}

/** How a segmented root stores what a whole manifest holds in `fragments` and `groups`. */
export interface SegmentedLists {
  fragmentSegments?: SegmentRef[];
  groupSegments?: Record<string, SegmentRef[]>;
}

type Entry = FragmentMeta | GroupFileMeta;
interface SegmentBody {
  entries: Entry[];
  nonce: string;
}
interface Segment {
  /** The store's URL: a segment is reused, and its parse cached, only for the store it is in. */
  url: string;
  id: string;
  entries: readonly Entry[];
}

const segmentOf = new WeakMap<Entry, Segment>();
/** The segment keys a manifest object was read from or written with. */
const segmentKeysOf = new WeakMap<Manifest, string[]>();
const parsed = new Map<string, Segment>();

/** The segment objects `m` was read from or written with (none for a whole manifest). */
export function manifestSegmentKeys(m: Manifest): string[] {
  return segmentKeysOf.get(m) ?? [];
}

function remember(seg: Segment): void {
  for (const e of seg.entries) {
    Object.freeze(e);
    segmentOf.set(e, seg);
  }
  parsed.delete(`${seg.url}\0${seg.id}`);
  parsed.set(`${seg.url}\0${seg.id}`, seg);
  while (parsed.size > SEGMENTS_CACHED_MAX) parsed.delete(parsed.keys().next().value!);
}

/** The id of a segment holding exactly `chunk`, written only when no known segment does. */
async function segmentFor(store: ObjectStore, chunk: Entry[]): Promise<string> {
  const known = segmentOf.get(chunk[0]!);
  if (known && known.url === store.url && known.entries.length === chunk.length && chunk.every((e, i) => known.entries[i] === e)) return known.id;
  const body: SegmentBody = { entries: chunk, nonce: randomId() };
  const id = await writeContentAddressed(store, 'segment', layout.manifestSegment, body, SEGMENTED_FORMAT);
  remember({ url: store.url, id, entries: chunk });
  return id;
}

async function segmentList(store: ObjectStore, list: Entry[], keys: string[]): Promise<SegmentRef[]> {
  const refs: SegmentRef[] = [];
  for (let i = 0; i < list.length; i += SEGMENT_ENTRIES) {
    const chunk = list.slice(i, i + SEGMENT_ENTRIES);
    const id = await segmentFor(store, chunk);
    keys.push(layout.manifestSegment(id));
    refs.push({ id, count: chunk.length });
  }
  return refs;
}

/**
 * The body to write for `m`: `m` itself when no list is long, else a root whose long lists are
 * segment references (segments written first, so a root never names a missing one).
 */
export async function segmentManifest(store: ObjectStore, m: Manifest): Promise<{ body: Manifest | (Omit<Manifest, 'fragments' | 'groups'> & SegmentedLists & Partial<Pick<Manifest, 'fragments' | 'groups'>>); format: number; keys: string[] }> {
  const longGroups = Object.entries(m.groups).filter(([, files]) => files.length > SEGMENT_ENTRIES);
  if (m.fragments.length <= SEGMENT_ENTRIES && longGroups.length === 0) return { body: m, format: 1, keys: [] };
  const keys: string[] = [];
  const { fragments, groups, ...rest } = m;
  const root: Omit<Manifest, 'fragments' | 'groups'> & SegmentedLists & Partial<Pick<Manifest, 'fragments' | 'groups'>> = { ...rest };
  if (fragments.length > SEGMENT_ENTRIES) root.fragmentSegments = await segmentList(store, fragments, keys);
  else root.fragments = fragments;
  const shortGroups: Manifest['groups'] = {};
  const groupSegments: Record<string, SegmentRef[]> = {};
  for (const [column, files] of Object.entries(groups)) {
    if (files.length > SEGMENT_ENTRIES) groupSegments[column] = await segmentList(store, files, keys);
    else shortGroups[column] = files;
  }
  root.groups = shortGroups;
  if (longGroups.length) root.groupSegments = groupSegments;
  return { body: root, format: SEGMENTED_FORMAT, keys };
}

/** Notes that `m` was written with these segment keys (for vacuum and the pending check). */
export function noteSegments(m: Manifest, keys: string[]): void {
  if (keys.length) segmentKeysOf.set(m, keys);
}

/** Segments read at once when a root is resolved: a remote open pays one round trip for all of them. */
const SEGMENT_READS_PARALLEL = 16;

async function readSegment(store: ObjectStore, ref: SegmentRef): Promise<readonly Entry[]> {
  const hit = parsed.get(`${store.url}\0${ref.id}`);
  if (hit) return hit.entries;
  const body = await readContentAddressed<SegmentBody>(store, 'segment', layout.manifestSegment(ref.id), ref.id);
  if (!Array.isArray(body.entries) || body.entries.length !== ref.count) {
    throw new QuiverError('corrupt', `format: manifest segment ${ref.id} holds ${Array.isArray(body.entries) ? body.entries.length : 'no'} entries, its root names ${ref.count}`, { id: ref.id });
  }
  remember({ url: store.url, id: ref.id, entries: body.entries });
  return body.entries;
}

async function readList<T extends Entry>(store: ObjectStore, refs: SegmentRef[], keys: string[]): Promise<T[]> {
  const parts: (readonly Entry[])[] = new Array(refs.length);
  for (let i = 0; i < refs.length; i += SEGMENT_READS_PARALLEL) {
    await Promise.all(refs.slice(i, i + SEGMENT_READS_PARALLEL).map(async (r, j) => (parts[i + j] = await readSegment(store, r))));
  }
  for (const r of refs) keys.push(layout.manifestSegment(r.id));
  return parts.flat() as T[];
}

/** The whole manifest a (possibly segmented) root describes. */
export async function resolveManifest(store: ObjectStore, root: Manifest & SegmentedLists): Promise<Manifest> {
  if (!root.fragmentSegments && !root.groupSegments) return root;
  const keys: string[] = [];
  const { fragmentSegments, groupSegments, ...rest } = root;
  const m: Manifest = { ...rest, fragments: root.fragments ?? [], groups: { ...(root.groups ?? {}) } };
  if (fragmentSegments) m.fragments = await readList<FragmentMeta>(store, fragmentSegments, keys);
  for (const [column, refs] of Object.entries(groupSegments ?? {})) m.groups[column] = await readList<GroupFileMeta>(store, refs, keys);
  noteSegments(m, keys);
  return m;
}
