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
