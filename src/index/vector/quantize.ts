// Int8 scalar quantization for the ANN graph and the quantized scan.
// Invariant: the order of int8 distances approximates the order of the metric's float32 scores,
// with one global scale per index (a per-dimension scale would distort l2):
// - cosine: each vector is normalised first (direction is all cosine sees); graph metric cos.
// - ip: the classic MIPS-to-angle lift x' = [x, √(M² − |x|²)] / M, with M the largest build
//   norm, makes every lifted vector unit length, so cos(q', x') = q·x / (|q| M) ranks exactly
//   as the inner product; large-norm vectors (the ones that win) keep the finest resolution.
// - l2: raw components; graph metric l2sq, and the query shares the data's scale.

import type { Metric } from './metric.js';

export interface Quantizer {
  metric: Metric;
  /** Multiplier from (normalised or lifted) float to int8. */
  scale: number;
  /** ip only: the lift's M, the largest vector norm seen at build time. */
  normMax: number;
}

/** Width of the int8 codes: ip carries the lift's extra component. */
export function codeDim(metric: Metric, dim: number): number {
  return metric === 'ip' ? dim + 1 : dim;
}

/** The usearch metric of the codes: angle for cosine and lifted ip, squared l2 for l2. */
export function codeUsearchMetric(metric: Metric): 'cos' | 'l2sq' {
  return metric === 'l2' ? 'l2sq' : 'cos';
}

function norm(data: Float32Array, base: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += data[base + j] * data[base + j];
  return Math.sqrt(s);
}

/** Fits the quantizer to build data: the scale maps the largest transformed component to 127. */
export function fitQuantizer(metric: Metric, data: Float32Array, dim: number): Quantizer {
  const n = data.length / dim;
  let normMax = 0;
  if (metric === 'ip') for (let r = 0; r < n; r++) normMax = Math.max(normMax, norm(data, r * dim, dim));
  const q: Quantizer = { metric, scale: 1, normMax: normMax || 1 };
  const row = new Float64Array(codeDim(metric, dim));
  let maxAbs = 0;
  for (let r = 0; r < n; r++) {
    transform(q, data, r * dim, dim, row);
    for (let j = 0; j < row.length; j++) maxAbs = Math.max(maxAbs, Math.abs(row[j]));
  }
  q.scale = maxAbs === 0 ? 1 : 127 / maxAbs;
  return q;
}

/** The float vector the codes approximate, before scaling (see the file header). */
function transform(q: Quantizer, src: Float32Array, base: number, dim: number, out: Float64Array): void {
  if (q.metric === 'l2') {
    for (let j = 0; j < dim; j++) out[j] = src[base + j];
    return;
  }
  if (q.metric === 'cosine') {
    const nv = norm(src, base, dim);
    const inv = nv === 0 ? 0 : 1 / nv;
    for (let j = 0; j < dim; j++) out[j] = src[base + j] * inv;
    return;
  }
  const nv = norm(src, base, dim);
  const m = q.normMax;
  // A vector added later with a norm above M loses the lift's guarantee; it is kept on the
  // unit sphere so the graph still ranks it by angle, and re-ranking stays exact.
  const over = nv > m ? m / nv : 1;
  for (let j = 0; j < dim; j++) out[j] = (src[base + j] * over) / m;
  out[dim] = Math.sqrt(Math.max(0, 1 - (nv * over * nv * over) / (m * m)));
}

function toInt8(v: number): number {
  const r = Math.round(v);
  return r > 127 ? 127 : r < -127 ? -127 : r;
}

/** Encodes rows of `src` (`dim` wide) into `dst` (`codeDim` wide). */
export function encodeRows(q: Quantizer, src: Float32Array, dim: number, dst: Int8Array): void {
  const n = src.length / dim;
  const cd = codeDim(q.metric, dim);
  const row = new Float64Array(cd);
  for (let r = 0; r < n; r++) {
    transform(q, src, r * dim, dim, row);
    for (let j = 0; j < cd; j++) dst[r * cd + j] = toInt8(row[j] * q.scale);
  }
}

/**
 * Encodes a query. l2 must share the data's scale (absolute distances); cosine and lifted ip
 * rank the same under any positive query scale, so the query gets its own full 8-bit range.
 */
export function encodeQuery(q: Quantizer, query: Float32Array): Int8Array {
  const dim = query.length;
  const out = new Int8Array(codeDim(q.metric, dim));
  let s = q.scale;
  if (q.metric !== 'l2') {
    let maxAbs = 0;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(query[j]));
    s = maxAbs === 0 ? 1 : 127 / maxAbs;
  }
  // The lifted query is [q, 0]: its extra component stays zero.
  for (let j = 0; j < dim; j++) out[j] = toInt8(query[j] * s);
  return out;
}
