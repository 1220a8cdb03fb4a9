// An index pack (format QPAK, version 1): copies of many small immutable index files in one
// object, in the parts container of codec.ts (each file a part named by its own key, with its
// own CRC-32). A scalar index keeps one file per fragment so that a new version costs only its
// new fragments' files; read from object storage that is one request per fragment and column
// (bench/objstore.ts, cold vector + filter at 20 fragments: 40 scalar index GETs of 16-22 KB,
// each holding one of the store's 16 request slots, ~100 ms of the query's 400). The pack holds
// the same bytes in one or two requests. It is a copy, never the truth: the files stay, and a
// reader that finds a pack missing, damaged or without a file reads that file instead.

import { QuiverError } from '../errors.js';
import { encodePartsContainer, readPartsContainer, type PartsGet } from './codec.js';

export const PACK_MAGIC = 'QPAK';
export const PACK_VERSION = 1;
const WHAT = 'index pack';

/**
 * The first read of a pack: a pack this size or smaller comes in one request, a larger one in
 * two (the header, then every part). 1 MiB holds the packs of ~50 fragments of two columns.
 */
export const PACK_HEAD_GUESS_BYTES = 1024 * 1024;

/** A pack is not written past this size: read whole by every cold query, it would cost more than the files a query needs. */
export const PACK_BYTES_MAX = 64 * 1024 * 1024;

/** Lays out `files` (key → the file's bytes) as one pack; returned as pieces, as the container's encoder does. */
export function encodeIndexPack(files: ReadonlyMap<string, Uint8Array>): Uint8Array[] {
  return encodePartsContainer(PACK_MAGIC, PACK_VERSION, { files: files.size }, Object.fromEntries(files));
}

/**
 * Every file of a pack, each checked against its CRC-32; throws `corrupt` for a damaged or
 * truncated pack (a missing object surfaces as the store's `not_found`).
 */
export async function readIndexPack(get: PartsGet): Promise<Map<string, Uint8Array>> {
  const pack = await readPartsContainer(get, PACK_MAGIC, [PACK_VERSION], WHAT, () => true, PACK_HEAD_GUESS_BYTES);
  const files = (pack.header as { files?: unknown }).files;
  if (files !== pack.parts.length) throw new QuiverError('corrupt', `index: corrupt ${WHAT}: its header counts ${String(files)} files, it holds ${pack.parts.length}`);
  return pack.got;
}
