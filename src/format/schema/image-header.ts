// Reads an image's format, width and height from its first bytes, and checks that the rest of
// its structure is whole, both without decoding pixels. An append refuses bytes that are not
// PNG, JPEG, WebP or GIF (readImageHeader is null) or whose structure is broken (imageDefect):
// a truncated file or a valid header followed by garbage never becomes an `image` value.

import { crc32 } from 'node:zlib';

export interface ImageInfo {
  format: 'png' | 'jpeg' | 'webp' | 'gif';
  width: number;
  height: number;
}

function be16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}
function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function le24(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
}

export function readImageHeader(b: Uint8Array): ImageInfo | null {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[12] === 0x49 && b[13] === 0x48) {
    const width = be32(b, 16);
    const height = be32(b, 20);
    return width > 0 && height > 0 ? { format: 'png', width, height } : null;
  }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) {
    const width = le16(b, 6);
    const height = le16(b, 8);
    return width > 0 && height > 0 ? { format: 'gif', width, height } : null;
  }
  if (b.length >= 30 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) {
    const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
    if (chunk === 'VP8 ') return { format: 'webp', width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X') return { format: 'webp', width: le24(b, 24) + 1, height: le24(b, 27) + 1 };
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return null;
      const marker = b[o + 1];
      if (marker === 0xff) {
        o++;
        continue;
      }
      const len = be16(b, o + 2);
      // Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        const height = be16(b, o + 5);
        const width = be16(b, o + 7);
        return width > 0 && height > 0 ? { format: 'jpeg', width, height } : null;
      }
      o += 2 + len;
    }
  }
  return null;
}

/**
 * Why `b` would not decode as the `format` its header claims, or null when its structure is
 * whole: PNG chunks with their CRCs up to IEND; JPEG segments up to a scan and EOI; GIF blocks
 * up to the trailer; WebP's RIFF chunks filling the declared size. No pixel is decoded.
 */
export function imageDefect(b: Uint8Array, format: ImageInfo['format']): string | null {
  switch (format) {
    case 'png':
      return pngDefect(b);
    case 'jpeg':
      return jpegDefect(b);
    case 'gif':
      return gifDefect(b);
    case 'webp':
      return webpDefect(b);
  }
}

function pngDefect(b: Uint8Array): string | null {
  let o = 8;
  let first = true;
  let idat = false;
  while (o + 12 <= b.length) {
    const len = be32(b, o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (o + 12 + len > b.length) return `chunk ${JSON.stringify(type)} at byte ${o} runs past the end`;
    if (crc32(b.subarray(o + 4, o + 8 + len)) !== be32(b, o + 8 + len)) return `chunk ${JSON.stringify(type)} at byte ${o} fails its CRC`;
    if (first && type !== 'IHDR') return 'the first chunk is not IHDR';
    first = false;
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') return idat ? null : 'no IDAT chunk before IEND';
    o += 12 + len;
  }
  return 'truncated before IEND';
}

function jpegDefect(b: Uint8Array): string | null {
  let o = 2;
  let frame = false;
  let scanned = false;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return `no marker at byte ${o}`;
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    if (marker === 0xd9) return scanned ? null : 'EOI before any scan';
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = be16(b, o + 2);
    if (len < 2 || o + 2 + len > b.length) return `segment ff${marker.toString(16)} at byte ${o} runs past the end`;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) frame = true;
    o += 2 + len;
    if (marker === 0xda) {
      if (!frame) return 'a scan before the frame header';
      scanned = true;
      // Entropy-coded data: inside it 0xff is followed by 0x00 (a stuffed byte) or a restart
      // marker; any other marker ends the scan.
      for (;;) {
        o = b.indexOf(0xff, o);
        if (o < 0 || o + 1 >= b.length) return 'truncated inside a scan, before EOI';
        const next = b[o + 1];
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) o += 2;
        else if (next === 0xff) o++;
        else break;
      }
      if (b[o + 1] === 0xd9) return null;
    }
  }
  return 'truncated before EOI';
}

function gifDefect(b: Uint8Array): string | null {
  if (b.length < 13) return 'truncated in the screen descriptor';
  let o = 13 + (b[10] & 0x80 ? 3 << ((b[10] & 7) + 1) : 0);
  let images = 0;
  /** Skips data sub-blocks (a length byte, then that many bytes, until a zero length). */
  const subBlocks = (): boolean => {
    while (o < b.length && b[o] !== 0) o += 1 + b[o];
    o++;
    return o <= b.length;
  };
  while (o < b.length) {
    const block = b[o];
    if (block === 0x3b) return images > 0 ? null : 'no image before the trailer';
    if (block === 0x21) {
      o += 2;
      if (!subBlocks()) break;
    } else if (block === 0x2c) {
      if (o + 10 > b.length) break;
      const flags = b[o + 9];
      o += 10 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0) + 1; // descriptor, local colour table, LZW code size
      if (!subBlocks()) break;
      images++;
    } else return `unknown block 0x${block.toString(16)} at byte ${o}`;
  }
  return 'truncated before the trailer';
}

function webpDefect(b: Uint8Array): string | null {
  const riff = le32(b, 4) + 8;
  if (riff > b.length) return `RIFF declares ${riff} bytes, got ${b.length}`;
  let o = 12;
  let image = false;
  while (o + 8 <= riff) {
    const type = String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
    const len = le32(b, o + 4);
    if (o + 8 + len > riff) return `chunk ${JSON.stringify(type)} at byte ${o} runs past the end`;
    if (type === 'VP8 ' && !(len >= 10 && b[o + 11] === 0x9d && b[o + 12] === 0x01 && b[o + 13] === 0x2a)) return 'VP8 frame without its start code';
    if (type === 'VP8L' && !(len >= 5 && b[o + 8] === 0x2f)) return 'VP8L bitstream without its signature';
    if (type === 'VP8 ' || type === 'VP8L' || type === 'ANMF') image = true;
    o += 8 + len + (len & 1);
  }
  if (o !== riff && o !== riff + 1) return 'chunks do not fill the RIFF size';
  return image ? null : 'no image chunk';
}
