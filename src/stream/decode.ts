// Image decode for streams: each image of a batch is decoded and resized by sharp, whose work
// runs on libuv's worker threads (off the JavaScript thread), into one fixed-shape tensor per
// batch. Invariant: every decoded image has exactly the asked height, width and channels, or
// counts as undecodable (the stream's policy then skips its row or fails naming it).

import sharp from 'sharp';
import type { ResolvedDecode } from './options.js';

/** Bytes per element of a decoded tensor. */
export function dtypeBytes(d: ResolvedDecode): number {
  return d.dtype === 'uint8' ? 1 : 4;
}

/** Elements of one decoded image. */
export function imageElements(d: ResolvedDecode): number {
  return d.width * d.height * d.channels;
}

/** The pixels of `bytes` as `height × width × channels` uint8, or null when they do not decode to that. */
export async function decodeImage(bytes: Uint8Array, d: ResolvedDecode): Promise<Uint8Array | null> {
  try {
    const img = sharp(bytes, { failOn: 'error' }).resize(d.width, d.height, { fit: d.fit }).removeAlpha().toColourspace(d.channels === 1 ? 'b-w' : 'srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== d.width || info.height !== d.height || info.channels !== d.channels) return null;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch {
    return null;
  }
}

/** Writes one image's HWC pixels into the batch tensor at image `i`, in the tensor's layout and dtype. */
export function placeImage(pixels: Uint8Array, d: ResolvedDecode, into: Uint8Array | Float32Array, i: number): void {
  const n = imageElements(d);
  const base = i * n;
  if (d.layout === 'hwc') {
    if (into instanceof Uint8Array) into.set(pixels, base);
    else for (let k = 0; k < n; k++) into[base + k] = pixels[k] / 255;
    return;
  }
  const plane = d.width * d.height;
  const scale = into instanceof Uint8Array ? 1 : 1 / 255;
  for (let p = 0; p < plane; p++) for (let c = 0; c < d.channels; c++) into[base + c * plane + p] = pixels[p * d.channels + c] * scale;
}
