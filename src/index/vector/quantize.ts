// Int8 scalar quantization for the ANN graph and the quantized scan.
// Invariant: the order of code distances approximates the order of the metric's float32
// scores (float32 re-ranking then fixes the final order):
// - l2: raw components, code metric l2sq. The codes are centred per component (the build
//   sample's median: translation keeps l2) and share one global scale (per-component scales
//   would weigh components unequally, which l2 does not), fitted to the 99th percentile of
//   rows' largest centred component, so an outlier cannot flatten the other rows into a few
//   code levels (rows beyond it clamp). The query shares the rows' centre and scale.
// - cosine: each vector normalised first; code metric cos. Angles are not translation
//   invariant, so no centring, and the query gets its own full 8-bit range.
// - ip: the MIPS-to-angle lift x' = [x, √(M² − |x|²)] / M (M the largest build norm) makes
//   rows unit length, and cos(q', x') with q' = [q, 0] ranks as q·x; code metric cos, as
//   cosine. The scale is fitted to the 99th percentile of rows' largest lifted component other
//   than the lift's own, so one huge row (which sets M) cannot shrink every other row below the
//   codes' resolution: the lift component of those rows, near 1 for all of them, clamps at 127,
//   which keeps the angle order among them (q' has no lift component).

import type { Metric } from './metric.js';

export interface Quantizer {
  metric: Metric;
  /** Multiplier from a centred (normalised or lifted) float to int8. */
  scale: number;
  /** Subtracted from each component before scaling: the build sample's median (l2; zeros otherwise). */
  center: number[];
  /** ip only: the lift's M, the largest vector norm seen at build time. */
  normMax: number;
}

/** Build rows the centre and the scale are fitted on: a fixed stride through larger builds. */
const FIT_ROWS_MAX = 16_384;
/** The scale maps this quantile of rows' largest centred component to 127 (l2, ip). */
const SCALE_QUANTILE = 0.99;

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

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

/** Fits the quantizer to build data: centre and scale from a sample of at most FIT_ROWS_MAX rows. */
export function fitQuantizer(metric: Metric, data: Float32Array, dim: number): Quantizer {
  const n = data.length / dim;
  const stride = Math.max(1, Math.ceil(n / FIT_ROWS_MAX));
  const m = Math.ceil(n / stride);
  let normMax = 0;
  // The lift's M must bound every build row, not only the sample's.
  if (metric === 'ip') for (let r = 0; r < n; r++) normMax = Math.max(normMax, norm(data, r * dim, dim));
  const cd = codeDim(metric, dim);
  const q: Quantizer = { metric, scale: 1, center: new Array<number>(cd).fill(0), normMax: normMax || 1 };
  const sample = new Float64Array(m * cd);
  const row = new Float64Array(cd);
  for (let i = 0; i < m; i++) {
    transform(q, data, i * stride * dim, dim, row);
    sample.set(row, i * cd);
  }
  const column = new Float64Array(m);
  for (let j = 0; metric === 'l2' && j < cd; j++) {
    for (let i = 0; i < m; i++) column[i] = sample[i * cd + j];
    column.sort();
    q.center[j] = m === 0 ? 0 : m % 2 ? column[(m - 1) / 2] : (column[m / 2 - 1] + column[m / 2]) / 2;
  }
  const rowMax = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let x = 0;
    for (let j = 0; j < dim; j++) x = Math.max(x, Math.abs(sample[i * cd + j] - q.center[j]));
    rowMax[i] = x;
  }
  rowMax.sort();
  // Normalised rows are unit vectors with no outliers in direction: their largest component sets the scale.
  const spread = metric === 'cosine' ? rowMax[m - 1] || 0 : quantile(rowMax, SCALE_QUANTILE) || rowMax[m - 1] || 0;
  q.scale = spread === 0 ? 1 : 127 / spread;
  return q;
}

/** The float vector a row's code approximates, before centring and scaling (see the file header). */
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

function encodeInto(q: Quantizer, row: Float64Array, dst: Int8Array, at: number): void {
  for (let j = 0; j < row.length; j++) dst[at + j] = toInt8((row[j] - q.center[j]) * q.scale);
}

/** Encodes rows of `src` (`dim` wide) into `dst` (`codeDim` wide). */
export function encodeRows(q: Quantizer, src: Float32Array, dim: number, dst: Int8Array): void {
  const n = src.length / dim;
  const cd = codeDim(q.metric, dim);
  const row = new Float64Array(cd);
  for (let r = 0; r < n; r++) {
    transform(q, src, r * dim, dim, row);
    encodeInto(q, row, dst, r * cd);
  }
}

/**
 * Encodes a query. l2 shares the rows' centre and scale (absolute distances); cosine and lifted
 * ip rank the same under any positive query scale, so the query (for ip [q, 0]) gets its own
 * full 8-bit range.
 */
export function encodeQuery(q: Quantizer, query: Float32Array): Int8Array {
  const dim = query.length;
  const out = new Int8Array(codeDim(q.metric, dim));
  if (q.metric !== 'l2') {
    let maxAbs = 0;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(query[j]));
    const s = maxAbs === 0 ? 1 : 127 / maxAbs;
    for (let j = 0; j < dim; j++) out[j] = toInt8(query[j] * s);
    return out;
  }
  encodeInto(q, Float64Array.from(query), out, 0);
  return out;
}
