// Where every object of a dataset lives, relative to the dataset's root. docs/format.md
// describes this layout in prose; this file is the one place that spells the keys.

/**
 * The highest envelope format this Quiver reads; objects are written at the lowest that holds
 * them (format 2: segmented manifests; 3: a manifest with an expression fill, which a reader
 * that does not evaluate it would read as NULL; 4: a manifest holding column patches, which a
 * reader that does not join them would read as the values before the patch).
 */
export const FORMAT_VERSION = 4;

/** The envelope format of a manifest holding an expression fill (SchemaEvolution.fills[c].expr). */
export const EXPRESSION_FILL_FORMAT = 3;

/** The envelope format of a manifest holding column patches (Manifest.patches). */
export const PATCH_FORMAT = 4;

export const layout = {
  marker: '_quiver.json',
  rowIdLease: 'meta/row-id-lease.json',
  /** A live writer's pending marker: the keys it has written and not yet published. */
  pending: (writer: string) => `meta/pending/${writer}.json`,
  pendingPrefix: 'meta/pending/',
  manifest: (id: string) => `meta/manifests/${id}.json`,
  /** A segment of a long manifest list (src/format/manifest-segments.ts), under the manifests' prefix so vacuum and pending markers cover it. */
  manifestSegment: (id: string) => `meta/manifests/segments/${id}.json`,
  commit: (id: string) => `meta/commits/${id}.json`,
  commitsPrefix: 'meta/commits/',
  manifestsPrefix: 'meta/manifests/',
  branch: (name: string) => `refs/heads/${name}`,
  tag: (name: string) => `refs/tags/${name}`,
  branchesPrefix: 'refs/heads/',
  tagsPrefix: 'refs/tags/',
  dataPrefix: 'data/',
  indexPrefix: 'index/',
  /** A fulltext index's segment over one fragment; `digest` names the fragment file, column and options (see textSegmentKey). */
  textSegment: (fragmentId: string, digest: string) => `index/${fragmentId}.fts-${digest}.qfts`,
  /** A scalar index's column over one fragment; `digest` as for textSegment (see scalarIndexKey). */
  scalarIndexFile: (fragmentId: string, digest: string) => `index/${fragmentId}.scl-${digest}.qscl`,
  /** Copies of an index's per-fragment files in one object (src/index/pack.ts); named by IndexMeta.key. */
  indexPack: (id: string) => `index/${id}.qpak`,
  /** A fragment's small-column file. */
  scalarFile: (fragmentId: string) => `data/${fragmentId}.scalar.parquet`,
  /** A large column's file written with a fragment. */
  groupFile: (fragmentId: string, column: string) => `data/${fragmentId}.${column}.parquet`,
  /** The deleted row ids of a fragment, as of some version. */
  deletesFile: (fragmentId: string, generation: string) => `data/${fragmentId}.deletes-${generation}.parquet`,
};

/**
 * True for keys whose object is never rewritten once it exists (data and index files, manifests,
 * commits: fresh or content-addressed keys written put-if-absent), so a cached copy never goes
 * stale. Refs, the lease and the marker change in place and must always be read from the store.
 */
export function immutableKey(key: string): boolean {
  return key.startsWith(layout.dataPrefix) || key.startsWith(layout.indexPrefix) || key.startsWith(layout.manifestsPrefix) || key.startsWith(layout.commitsPrefix);
}

const REF_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,99})*$/;

export function validRefName(name: string): boolean {
  return REF_NAME.test(name) && !name.includes('..') && !name.endsWith('.lock');
}

/** A fresh random id: 128 bits as 32 hex digits. */
export function randomId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString('hex');
}
