// The container both index kinds serialize into: magic, format version, a JSON header naming
// typed sections, the 8-byte-aligned sections, and a CRC-32 of everything before it.
// Invariant: decode either returns exactly what encode was given or throws "index: corrupt ...";
// it checks length, magic, version and checksum before trusting any offset in the header.

import { assert, QuiverError } from '../errors.js';
import { crc32 } from 'node:zlib';

export interface Container {
  header: Record<string, unknown>;
  sections: Record<string, Uint8Array>;
}

interface SectionEntry {
  name: string;
  offset: number;
  bytes: number;
}

const PREFIX_BYTES = 12;
const align8 = (x: number) => (x + 7) & ~7;

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Lays out `sections` after the header; `magic` is 4 ASCII characters naming the index kind. */
export function encodeContainer(
  magic: string,
  version: number,
  header: Record<string, unknown>,
  sections: Record<string, ArrayBufferView>,
): Uint8Array {
  const names = Object.keys(sections);
  // The header holds section offsets, which depend on the header's own length: lay out with a
  // provisional header, then pad the real one to the same reserved size.
  const provisional = names.map((name) => ({ name, offset: 0xffffffff * 1024, bytes: sections[name].byteLength }));
  const reserve = align8(Buffer.byteLength(JSON.stringify({ ...header, totalBytes: 0xffffffff * 1024, sections: provisional })));
  let at = PREFIX_BYTES + reserve;
  const entries: SectionEntry[] = names.map((name) => {
    const e = { name, offset: at, bytes: sections[name].byteLength };
    at = align8(at + e.bytes);
    return e;
  });
  const total = at + 4;
  const json = Buffer.from(JSON.stringify({ ...header, totalBytes: total, sections: entries }));
  if (json.length > reserve) assert(false, 'container header outgrew its reservation');
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = magic.charCodeAt(i);
  dv.setUint32(4, version, true);
  dv.setUint32(8, json.length, true);
  out.set(json, PREFIX_BYTES);
  out.fill(0x20, PREFIX_BYTES + json.length, PREFIX_BYTES + reserve);
  for (const e of entries) out.set(bytesOf(sections[e.name]), e.offset);
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/** Verifies and splits a container; `what` names the index kind in error messages. */
export function decodeContainer(bytes: Uint8Array, magic: string, versions: number[], what: string): Container & { version: number } {
  const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt ${what}: ${why}`);
  if (!(bytes instanceof Uint8Array)) throw corrupt('expected a Uint8Array');
  if (bytes.length < PREFIX_BYTES + 4) throw corrupt(`${bytes.length} bytes is shorter than the fixed prefix`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== magic.charCodeAt(i)) throw corrupt(`bad magic, expected "${magic}"`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (!versions.includes(version)) throw corrupt(`unsupported format version ${version}`);
  const stored = dv.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) throw corrupt(`checksum mismatch (stored ${stored}, computed ${actual})`);
  const headerBytes = dv.getUint32(8, true);
  if (PREFIX_BYTES + headerBytes > bytes.length - 4) throw corrupt('header runs past the end');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, headerBytes).toString('utf8'));
  } catch {
    throw corrupt('header is not valid JSON');
  }
  if (header.totalBytes !== bytes.length) throw corrupt(`length ${bytes.length} differs from recorded ${header.totalBytes}`);
  const sections: Record<string, Uint8Array> = {};
  for (const e of (header.sections as SectionEntry[]) ?? []) {
    if (e.offset + e.bytes > bytes.length - 4) throw corrupt(`section "${e.name}" runs past the end`);
    // Copy so typed-array views over a section are aligned regardless of the input's offset.
    sections[e.name] = bytes.slice(e.offset, e.offset + e.bytes);
  }
  return { header, sections, version };
}

export function f32Of(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
export function u32Of(b: Uint8Array): Uint32Array {
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
export function i8Of(b: Uint8Array): Int8Array {
  return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
}

// ---- The parts container: the same prefix (magic, version, header length), with a checksum per
// part, so a reader on object storage fetches the header and then only the parts it needs, each
// checked on its own. Layout: magic (4), u32 version, u32 header length, the JSON header
// `{...header, parts: [{name, offset, bytes, crc32}]}` padded with spaces to 8-byte alignment,
// the CRC-32 of everything before it (4 bytes, then 4 zero bytes), then the parts, 8-byte aligned.

/** One part of a parts container: its bytes at `offset` and their CRC-32. */
export interface PartEntry {
  name: string;
  offset: number;
  bytes: number;
  crc32: number;
}

/** A checked parts-container header: the caller's fields plus where each part lies. */
export interface PartsHeader {
  version: number;
  header: Record<string, unknown>;
  parts: PartEntry[];
  /** Bytes of the whole file, as laid out by the writer. */
  totalBytes: number;
}

/** A byte range of an object; a reader given one past the end returns what exists. */
export type PartsGet = (range?: { offset: number; length: number }) => Promise<Uint8Array>;

/** A {@link PartsGet} over bytes already in memory (a whole file, or a copy of one in a pack). */
export function bytesGet(bytes: Uint8Array): PartsGet {
  return async (r) => (r ? bytes.subarray(r.offset, r.offset + r.length) : bytes);
}

/** Bytes a ranged open reads first: the header and, for a file this small, every part. */
export const PARTS_HEAD_GUESS_BYTES = 64 * 1024;

/** Lays out `parts` after a checksummed header; returned as pieces so no single buffer is built twice. */
export function encodePartsContainer(magic: string, version: number, header: Record<string, unknown>, parts: Record<string, ArrayBufferView>): Uint8Array[] {
  const names = Object.keys(parts);
  const layoutAt = (start: number) => {
    let at = start;
    return names.map((name): PartEntry => {
      const b = bytesOf(parts[name]);
      const e = { name, offset: at, bytes: b.byteLength, crc32: crc32(b) };
      at = align8(at + b.byteLength);
      return e;
    });
  };
  // Offsets depend on the header's length: lay out with provisional offsets, then pad the real
  // header to the length the provisional one needed (offsets and CRCs only get shorter).
  const provisional = Buffer.byteLength(JSON.stringify({ ...header, totalBytes: 0xffffffff * 1024, parts: layoutAt(0xffffffff * 1024).map((e) => ({ ...e, crc32: 0xffffffff })) }));
  const reserve = align8(provisional);
  const entries = layoutAt(PREFIX_BYTES + reserve + 8);
  const last = entries.at(-1);
  const total = last ? last.offset + last.bytes : PREFIX_BYTES + reserve + 8;
  const json = Buffer.from(JSON.stringify({ ...header, totalBytes: total, parts: entries }));
  if (json.length > reserve) assert(false, 'parts container header outgrew its reservation');
  const head = new Uint8Array(PREFIX_BYTES + reserve + 8);
  const dv = new DataView(head.buffer);
  for (let i = 0; i < 4; i++) head[i] = magic.charCodeAt(i);
  dv.setUint32(4, version, true);
  dv.setUint32(8, reserve, true);
  head.set(json, PREFIX_BYTES);
  head.fill(0x20, PREFIX_BYTES + json.length, PREFIX_BYTES + reserve);
  dv.setUint32(PREFIX_BYTES + reserve, crc32(head.subarray(0, PREFIX_BYTES + reserve)), true);
  const out: Uint8Array[] = [head];
  let at = head.length;
  for (const e of entries) {
    if (e.offset > at) out.push(new Uint8Array(e.offset - at));
    out.push(bytesOf(parts[e.name]));
    at = e.offset + e.bytes;
  }
  return out;
}

/** The checked header at the start of `bytes` (which must hold it), or throws "index: corrupt <what>: ...". */
export function decodePartsHeader(bytes: Uint8Array, magic: string, versions: number[], what: string): PartsHeader {
  const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt ${what}: ${why}`);
  if (bytes.length < PREFIX_BYTES + 8) throw corrupt(`${bytes.length} bytes is shorter than the fixed prefix`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== magic.charCodeAt(i)) throw corrupt(`bad magic, expected "${magic}"`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (!versions.includes(version)) throw corrupt(`unsupported format version ${version}`);
  const reserve = dv.getUint32(8, true);
  if (PREFIX_BYTES + reserve + 8 > bytes.length) throw corrupt('header runs past the end');
  const stored = dv.getUint32(PREFIX_BYTES + reserve, true);
  const actual = crc32(bytes.subarray(0, PREFIX_BYTES + reserve));
  if (stored !== actual) throw corrupt(`header checksum mismatch (stored ${stored}, computed ${actual})`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, reserve).toString('utf8'));
  } catch {
    throw corrupt('header is not valid JSON');
  }
  const { parts, totalBytes, ...header } = parsed as { parts: PartEntry[]; totalBytes: number };
  if (!Array.isArray(parts) || typeof totalBytes !== 'number') throw corrupt('header lacks parts or totalBytes');
  for (const p of parts) if (p.offset < PREFIX_BYTES + reserve + 8 || p.offset + p.bytes > totalBytes) throw corrupt(`part "${p.name}" lies outside the file`);
  return { version, header, parts, totalBytes };
}

/**
 * `bytes` as part `p`, checked against its length and CRC-32, copied so typed-array views are
 * aligned and own their memory. `copy` false returns `bytes` itself, for a caller whose bytes
 * are its own (a fresh local read) and 8-byte aligned.
 */
export function checkedPart(bytes: Uint8Array, p: PartEntry, what: string, copy = true): Uint8Array {
  if (bytes.length !== p.bytes) throw new QuiverError('corrupt', `index: corrupt ${what}: part "${p.name}" is ${bytes.length} bytes, its header says ${p.bytes}`);
  const actual = crc32(bytes);
  if (actual !== p.crc32) throw new QuiverError('corrupt', `index: corrupt ${what}: part "${p.name}" checksum mismatch (stored ${p.crc32}, computed ${actual})`);
  return copy || bytes.byteOffset % 8 !== 0 ? bytes.slice() : bytes;
}

/**
 * Reads a parts container by range: the first `headGuess` bytes (the header, and every part
 * of a small file), then the wanted parts it did not hold in one more read spanning
 * them. Every part returned is checked; a truncated file fails its length or checksum checks.
 */
export async function readPartsContainer(
  get: PartsGet,
  magic: string,
  versions: number[],
  what: string,
  want: (name: string) => boolean = () => true,
  headGuess = PARTS_HEAD_GUESS_BYTES,
): Promise<PartsHeader & { got: Map<string, Uint8Array> }> {
  let asked = headGuess;
  let head = await get({ offset: 0, length: asked });
  if (head.length >= PREFIX_BYTES) {
    const need = PREFIX_BYTES + new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(8, true) + 8;
    if (need > head.length && head.length === asked) head = await get({ offset: 0, length: (asked = need) });
  }
  const h = decodePartsHeader(head, magic, versions, what);
  // A read shorter than asked holds the whole object: its length must be the recorded one.
  const whole = head.length < asked;
  if (whole && head.length !== h.totalBytes) throw new QuiverError('corrupt', `index: corrupt ${what}: length ${head.length} differs from recorded ${h.totalBytes}`);
  const wanted = h.parts.filter((p) => want(p.name));
  const end = Math.max(0, ...wanted.map((p) => p.offset + p.bytes));
  // One read from the first byte still needed to the end of the last wanted part: the parts
  // are few, so skipping an unwanted one between wanted ones would cost a request, not bytes.
  if (end > head.length && !whole) {
    const from = Math.max(head.length, Math.min(...wanted.filter((p) => p.offset + p.bytes > head.length).map((p) => p.offset)));
    const rest = await get({ offset: from, length: end - from });
    const joined = new Uint8Array(from + rest.length);
    joined.set(head.subarray(0, Math.min(head.length, from)), 0);
    joined.set(rest, from);
    head = joined;
  }
  const got = new Map<string, Uint8Array>();
  for (const p of wanted) got.set(p.name, checkedPart(head.subarray(p.offset, Math.min(head.length, p.offset + p.bytes)), p, what));
  return { ...h, got };
}
