// Seeded data generators shared by the search benchmarks and the index tests.
// Invariant: the same (kind, n, dim, seed) always yields bit-identical data on every machine,
// because everything derives from one 32-bit PRNG (mulberry32) and plain float arithmetic.

/** A seeded PRNG returning floats in [0, 1). mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform source (Box-Muller, caching the second value). */
export function gaussian(rand: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export type VectorKind = 'clustered' | 'low-rank' | 'isotropic';

/**
 * n × dim row-major float32 vectors.
 * - clustered: n/200 (≥ 8) gaussian blobs; the noise has the same scale as the spread of centres,
 *   so neighbours mostly share a blob but a blob is not a point.
 * - low-rank: intrinsic dimension `rank` (default 32) lifted to `dim` by a random linear map,
 *   plus 5 % isotropic noise: what real embeddings look like to an index.
 * - isotropic: i.i.d. normal components, the worst case for every ANN index.
 */
export function vectors(kind: VectorKind, n: number, dim: number, seed: number, rank = 32): Float32Array {
  const g = gaussian(rng(seed));
  const out = new Float32Array(n * dim);
  if (kind === 'isotropic') {
    for (let i = 0; i < out.length; i++) out[i] = g();
    return out;
  }
  if (kind === 'clustered') {
    const clusters = Math.max(8, Math.floor(n / 200));
    const centres = new Float32Array(clusters * dim);
    for (let i = 0; i < centres.length; i++) centres[i] = g();
    const pick = rng(seed ^ 0x9e3779b9);
    for (let r = 0; r < n; r++) {
      const c = Math.floor(pick() * clusters) * dim;
      for (let j = 0; j < dim; j++) out[r * dim + j] = centres[c + j] + 0.7 * g();
    }
    return out;
  }
  const basis = new Float32Array(rank * dim);
  for (let i = 0; i < basis.length; i++) basis[i] = g() / Math.sqrt(rank);
  const z = new Float32Array(rank);
  for (let r = 0; r < n; r++) {
    for (let t = 0; t < rank; t++) z[t] = g();
    const row = r * dim;
    for (let j = 0; j < dim; j++) out[row + j] = 0.05 * g();
    for (let t = 0; t < rank; t++) {
      const zt = z[t];
      const b = t * dim;
      for (let j = 0; j < dim; j++) out[row + j] += zt * basis[b + j];
    }
  }
  return out;
}

/**
 * Queries drawn from the same distribution as the data but not in it: a data row plus a little
 * noise, so each query has a well-defined neighbourhood (as a real "find similar" query does).
 */
export function queriesNear(data: Float32Array, dim: number, count: number, seed: number): Float32Array {
  const n = data.length / dim;
  const pick = rng(seed);
  const g = gaussian(rng(seed ^ 0x5bd1e995));
  const out = new Float32Array(count * dim);
  let scale = 0;
  for (let j = 0; j < Math.min(data.length, dim * 64); j++) scale += data[j] * data[j];
  scale = Math.sqrt(scale / Math.min(data.length, dim * 64));
  for (let q = 0; q < count; q++) {
    const r = Math.floor(pick() * n) * dim;
    for (let j = 0; j < dim; j++) out[q * dim + j] = data[r + j] + 0.3 * scale * g();
  }
  return out;
}

/** Integer column uniform in [lo, hi]. */
export function ints(n: number, lo: number, hi: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo + 1));
  return out;
}

/** `count` distinct pseudo-words, a few with diacritics, so tokenizer folding is exercised. */
export function vocabulary(count: number, seed: number): string[] {
  const r = rng(seed);
  const consonants = 'bcdfghjklmnpqrstvwxz';
  const vowels = 'aeiouyéèüöåñ';
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < count) {
    const syllables = 1 + Math.floor(r() * 3);
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += consonants[Math.floor(r() * consonants.length)];
      // Plain vowels 90 % of the time; accented ones stay rare as in real prose.
      w += r() < 0.9 ? vowels[Math.floor(r() * 6)] : vowels[6 + Math.floor(r() * 6)];
    }
    if (!seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}

/** Sampler of word indexes with Zipfian frequencies (P(rank r) ∝ 1 / r^s), by inverse CDF. */
export function zipf(count: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(count);
  let acc = 0;
  for (let i = 0; i < count; i++) cdf[i] = acc += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < count; i++) cdf[i] /= acc;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** n prompt texts of 4–30 Zipfian words with occasional capitals and punctuation. */
export function prompts(n: number, seed: number, vocabSize = 5000): string[] {
  const vocab = vocabulary(vocabSize, seed);
  const r = rng(seed ^ 0x27d4eb2f);
  const word = zipf(vocabSize, 1.05, r);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const len = 4 + Math.floor(r() * 27);
    const parts: string[] = [];
    for (let j = 0; j < len; j++) {
      let w = vocab[word()];
      if (r() < 0.05) w = w[0].toUpperCase() + w.slice(1);
      if (r() < 0.05) w += r() < 0.5 ? ',' : '.';
      parts.push(w);
    }
    out[i] = parts.join(' ');
  }
  return out;
}

/** Text queries of 1–3 words drawn from the same Zipfian vocabulary, skipping the very top words
 * for some queries so both cheap (rare) and expensive (common) terms are exercised. */
export function textQueries(count: number, seed: number, vocabSize = 5000): string[] {
  const vocab = vocabulary(vocabSize, seed);
  const r = rng(seed ^ 0x1b873593);
  const word = zipf(vocabSize, 0.8, r);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(r() * 3);
    const ws: string[] = [];
    for (let j = 0; j < len; j++) ws.push(vocab[word()]);
    out.push(ws.join(' '));
  }
  return out;
}

/** A seeded random subset of 0..n-1 of the given fraction, sorted ascending. */
export function subset(n: number, fraction: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (r() < fraction) out.push(i);
  return Uint32Array.from(out);
}
