// Int8 scalar quantization for the ANN graph and the quantized scan.
// Invariant: one global scale per index, so the order of i8 distances approximates the order of
// float32 distances for all three metrics (a per-dimension scale would distort ip and l2).
// For cosine each vector is normalised first: direction is all that cosine sees.

import type { Metric } from './metric.js';

/** Largest absolute component over the (normalised for cosine) data; 0-safe. */
export function quantScale(metric: Metric, data: Float32Array, dim: number): number {
  let maxAbs = 0;
  const n = data.length / dim;
  for (let r = 0; r < n; r++) {
    const inv = metric === 'cosine' ? invNorm(data, r * dim, dim) : 1;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(data[r * dim + j] * inv));
  }
  return maxAbs === 0 ? 1 : 127 / maxAbs;
}

function invNorm(data: Float32Array, base: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += data[base + j] * data[base + j];
  return s === 0 ? 0 : 1 / Math.sqrt(s);
}

/** Encodes rows of `src` into `dst` (same layout); components beyond the scale are clamped. */
export function encodeRows(metric: Metric, scale: number, src: Float32Array, dim: number, dst: Int8Array): void {
  const n = src.length / dim;
  for (let r = 0; r < n; r++) {
    const base = r * dim;
    const f = scale * (metric === 'cosine' ? invNorm(src, base, dim) : 1);
    for (let j = 0; j < dim; j++) {
      const v = Math.round(src[base + j] * f);
      dst[base + j] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
}

/**
 * Encodes a query. l2 must share the data's scale (absolute distances); cosine and ip rank the
 * same under any positive query scale, so the query gets its own full 8-bit range.
 */
export function encodeQuery(metric: Metric, scale: number, q: Float32Array): Int8Array {
  const out = new Int8Array(q.length);
  let s = scale;
  if (metric !== 'l2') {
    let maxAbs = 0;
    for (let j = 0; j < q.length; j++) maxAbs = Math.max(maxAbs, Math.abs(q[j]));
    s = maxAbs === 0 ? 1 : 127 / maxAbs;
  }
  encodeRows('ip', s, q, q.length, out);
  return out;
}
