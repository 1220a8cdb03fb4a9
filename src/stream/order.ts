// The canonical order of an epoch and its split into batches and shards (pure). Rows are
// numbered 0..n-1 in the version's physical order (fragment by fragment, file position by
// position). A shuffle permutes blocks of consecutive rows, then shuffles rows within windows of
// consecutive permuted blocks (Mosaic streaming's block shuffle): global, yet a window reads only
// a few sequential runs. Invariant: the order is a function of (version, seed, epoch, n) alone;
// ranks and workers only choose which batches of it they take, so it never depends on them.

import { createHash } from 'node:crypto';

/** A seeded generator (xoshiro128**) from a key; the same key always gives the same numbers. */
export function seededRandom(key: string): () => number {
  const h = createHash('sha256').update(key).digest();
  let [a, b, c, d] = [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r / 2 ** 32;
  };
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

function shuffleInPlace(a: Int32Array, from: number, to: number, random: () => number): void {
  for (let i = to - 1; i > from; i--) {
    const j = from + Math.floor(random() * (i - from + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

export interface ShuffleSpec {
  seed: number;
  blockRows: number;
  windowBlocks: number;
}

/** The epoch's order of rows 0..n-1: physical without a shuffle, else the block shuffle of (version, seed, epoch). */
export function canonicalOrder(n: number, version: string, shuffle: ShuffleSpec | null, epoch: number): Int32Array {
  const order = new Int32Array(n);
  if (!shuffle) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  const random = seededRandom(`quiver-stream|${version}|${shuffle.seed}|${epoch}`);
  const blocks = new Int32Array(Math.ceil(n / shuffle.blockRows));
  for (let i = 0; i < blocks.length; i++) blocks[i] = i;
  shuffleInPlace(blocks, 0, blocks.length, random);
  let at = 0;
  for (const b of blocks) for (let r = b * shuffle.blockRows; r < Math.min(n, (b + 1) * shuffle.blockRows); r++) order[at++] = r;
  // Windows hold whole blocks; the last block may be short, so windows are cut by block count.
  let start = 0;
  for (let w = 0; w < blocks.length; w += shuffle.windowBlocks) {
    let end = start;
    for (let i = w; i < Math.min(blocks.length, w + shuffle.windowBlocks); i++) end += Math.min(shuffle.blockRows, n - blocks[i] * shuffle.blockRows);
    shuffleInPlace(order, start, end, random);
    start = end;
  }
  return order;
}

/** How an epoch's batches split among consumers. */
export interface BatchPlan {
  /** Rows of the epoch before padding or dropping. */
  rows: number;
  batchRows: number;
  /** Global batches in the epoch: a multiple of worldSize, so every rank gets as many. */
  batches: number;
}

/** Global batch count: whole rounds of one batch per rank, the last round padded or dropped. */
export function planBatches(rows: number, batchRows: number, worldSize: number, remainder: 'pad' | 'drop'): BatchPlan {
  const round = batchRows * worldSize;
  const rounds = rows === 0 ? 0 : remainder === 'pad' ? Math.ceil(rows / round) : Math.floor(rows / round);
  return { rows, batchRows, batches: rounds * worldSize };
}

/** The rows (indexes into 0..n-1) of global batch `k`; padding wraps to the epoch's start. */
export function batchRowsOf(order: Int32Array, plan: BatchPlan, k: number): Int32Array {
  const out = new Int32Array(plan.batchRows);
  for (let i = 0; i < plan.batchRows; i++) out[i] = order[(k * plan.batchRows + i) % order.length];
  return out;
}

/**
 * The global batch indexes consumer (rank, worker) takes, from global batch `from` onwards, in
 * order: batch k goes to rank k mod worldSize, and the rank's i-th batch from `from` to worker
 * i mod workers, so reading the workers round-robin from worker 0 (as PyTorch's DataLoader does)
 * gives the rank's batches in order, on a fresh start (`from` 0) and on a resume alike.
 */
export function* consumerBatches(plan: BatchPlan, rank: number, worldSize: number, worker: number, workers: number, from = 0): Generator<number> {
  let i = 0;
  for (let k = from; k < plan.batches; k++) {
    if (k % worldSize !== rank) continue;
    if (i++ % workers === worker) yield k;
  }
}
