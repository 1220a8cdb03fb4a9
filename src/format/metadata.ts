// Metadata objects (manifests, commits, refs, the marker) are JSON in a checksummed envelope:
// {"quiver":1,"kind":…,"sha256":…,"body":…}. Reads verify the checksum and the kind, so a
// truncated or corrupt file is reported, never silently used.

import { createHash } from 'node:crypto';
import { QuiverError } from '../errors.js';
import type { ObjectStore, PutCondition, ObjectInfo } from '../storage/index.js';
import { FORMAT_VERSION } from './layout.js';

export type MetadataKind = 'marker' | 'manifest' | 'segment' | 'commit' | 'ref' | 'lease' | 'index' | 'pending';

/** JSON with bigint written as strings, so row ids survive. */
export function stableStringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

export function sha256Hex(s: string | Uint8Array): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * `format` is the envelope's number: 1 for everything a format-1 reader understands; an object
 * whose reading needs more (a segmented manifest) carries a higher one, which older readers refuse.
 */
export function encodeMetadata(kind: MetadataKind, body: unknown, format = 1): { bytes: Uint8Array; sha: string } {
  let text: string;
  try {
    text = stableStringify(body);
  } catch (e) {
    // A caller's free-form field (a commit's meta) can be circular or hold a throwing toJSON.
    throw new QuiverError('invalid_input', `format: a ${kind} must be JSON; ${(e as Error).message.split('\n')[0]}`, { kind }, { cause: e });
  }
  const sha = sha256Hex(text);
  const envelope = `{"quiver":${format},"kind":"${kind}","sha256":"${sha}","body":${text}}\n`;
  return { bytes: new TextEncoder().encode(envelope), sha };
}

export function decodeMetadata<T>(kind: MetadataKind, key: string, bytes: Uint8Array): { body: T; sha: string } {
  const text = new TextDecoder().decode(bytes);
  const corrupt = (why: string) => new QuiverError('corrupt', `format: ${key} is corrupt: ${why}`, { key });
  // The body is everything between `"body":` and the final `}`; hash exactly those bytes.
  const m = /^\{"quiver":(\d+),"kind":"([a-z]+)","sha256":"([0-9a-f]{64})","body":([\s\S]*)\}\n?$/.exec(text);
  if (!m) throw corrupt('not a Quiver metadata envelope (truncated?)');
  if (Number(m[1]) > FORMAT_VERSION) {
    throw new QuiverError('unsupported', `format: ${key} has format ${m[1]}; this Quiver reads up to ${FORMAT_VERSION}`, { key });
  }
  if (m[2] !== kind) throw corrupt(`expected a ${kind}, found a ${m[2]}`);
  if (sha256Hex(m[4]) !== m[3]) throw corrupt('checksum mismatch');
  try {
    return { body: JSON.parse(m[4]) as T, sha: m[3] };
  } catch {
    throw corrupt('invalid JSON');
  }
}

export async function readMetadata<T>(store: ObjectStore, kind: MetadataKind, key: string): Promise<T> {
  return decodeMetadata<T>(kind, key, await store.get(key)).body;
}

export async function writeMetadata(store: ObjectStore, kind: MetadataKind, key: string, body: unknown, condition?: PutCondition): Promise<ObjectInfo> {
  return store.put(key, encodeMetadata(kind, body).bytes, condition);
}

/**
 * Writes an immutable, content-addressed object: its id is derived from its body, so writing
 * the same body twice is harmless. An object already at the key counts as present only if it
 * verifies; a short or corrupt one (a full disk, a crash of an older version) is replaced, which
 * cannot change what any reader gets since the key names exactly this content.
 */
export async function writeContentAddressed(store: ObjectStore, kind: MetadataKind, keyOf: (id: string) => string, body: unknown, format = 1): Promise<string> {
  const { bytes, sha } = encodeMetadata(kind, body, format);
  const id = sha.slice(0, 32);
  const key = keyOf(id);
  try {
    await store.put(key, bytes, { ifAbsent: true });
  } catch (e) {
    if (!(e instanceof QuiverError && e.code === 'conflict')) throw e;
    if (!(await verifies(store, kind, key, id))) await store.put(key, bytes);
  }
  return id;
}

/** True when the object at `key` is whole and matches `id`. */
async function verifies(store: ObjectStore, kind: MetadataKind, key: string, id: string): Promise<boolean> {
  try {
    await readContentAddressed(store, kind, key, id);
    return true;
  } catch (e) {
    if (e instanceof QuiverError && (e.code === 'corrupt' || e.code === 'not_found')) return false;
    throw e;
  }
}

/** Reads a content-addressed object and checks that its content matches its id. */
export async function readContentAddressed<T>(store: ObjectStore, kind: MetadataKind, key: string, id: string): Promise<T> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (e) {
    if (e instanceof QuiverError && e.code === 'not_found') throw new QuiverError('not_found', `format: no ${kind} "${id}"`, { id, key });
    throw e;
  }
  const { body, sha } = decodeMetadata<T>(kind, key, bytes);
  if (!sha.startsWith(id)) throw new QuiverError('corrupt', `format: ${key} does not match its id`, { key });
  return body;
}
