// A naive float64 reference for vector top-k: score every candidate row, sort by the metric's
// order then by ordinal. Slow and obviously right; tests compare every kernel against it.
import type { Metric } from '../../../src/index/index.js';

export function referenceTopK(
  data: Float32Array,
  dim: number,
  q: Float32Array,
  k: number,
  metric: Metric,
  candidates?: Iterable<number>,
  offsets?: Uint32Array,
): { ordinals: number[]; scores: number[] } {
  const rows = offsets ? offsets.length - 1 : data.length / dim;
  const all: [number, number][] = [];
  const score = (v: number) => {
    let dot = 0, nv = 0, nq = 0, l2 = 0;
    for (let j = 0; j < dim; j++) {
      const x = data[v * dim + j];
      dot += q[j] * x;
      nv += x * x;
      nq += q[j] * q[j];
      l2 += (q[j] - x) * (q[j] - x);
    }
    return metric === 'ip' ? dot : metric === 'l2' ? Math.sqrt(l2) : nv === 0 || nq === 0 ? 0 : dot / Math.sqrt(nv * nq);
  };
  const cand = candidates ? [...candidates] : Array.from({ length: rows }, (_, i) => i);
  for (const r of cand) {
    const [a, b] = offsets ? [offsets[r], offsets[r + 1]] : [r, r + 1];
    let best: number | undefined;
    for (let v = a; v < b; v++) {
      const s = score(v);
      if (best === undefined || (metric === 'l2' ? s < best : s > best)) best = s;
    }
    if (best !== undefined) all.push([r, best]);
  }
  all.sort((x, y) => (x[1] !== y[1] ? (metric === 'l2' ? x[1] - y[1] : y[1] - x[1]) : x[0] - y[0]));
  const top = all.slice(0, k);
  return { ordinals: top.map((t) => t[0]), scores: top.map((t) => t[1]) };
}

export function recall(got: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (truth.length === 0) return 1;
  const t = new Set(Array.from(truth));
  let hit = 0;
  for (let i = 0; i < got.length; i++) if (t.has(got[i])) hit++;
  return hit / truth.length;
}
