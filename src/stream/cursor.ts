// A stream's resumable cursor: a plain JSON value naming the stream it belongs to (version,
// order, shard, batch size) and the next global batch index this consumer has not yet been
// given. Invariant: a stream resumed from a cursor yields exactly the batches the original
// stream had not yielded, in the same order; a cursor of another stream is refused.

import type { ResolvedOptions } from './options.js';

export interface StreamCursor {
  /** Cursor format version. */
  v: 1;
  version: string;
  where: string | null;
  columns: string[];
  seed: number | null;
  blockRows: number | null;
  windowBlocks: number | null;
  epoch: number;
  batchRows: number;
  rank: number;
  worldSize: number;
  worker: number;
  workers: number;
  remainder: 'pad' | 'drop';
  /** The global index of the next batch this consumer yields. */
  nextBatch: number;
}

/** The cursor of a stream with `o` over `version` whose next batch is `nextBatch`. */
export function cursorOf(version: string, o: ResolvedOptions, batchRows: number, nextBatch: number): StreamCursor {
  return {
    v: 1,
    version,
    where: o.where ?? null,
    columns: o.columns.map((c) => c.name),
    seed: o.shuffle?.seed ?? null,
    blockRows: o.shuffle?.blockRows ?? null,
    windowBlocks: o.shuffle?.windowBlocks ?? null,
    epoch: o.epoch,
    batchRows,
    rank: o.rank,
    worldSize: o.worldSize,
    worker: o.worker,
    workers: o.workers,
    remainder: o.remainder,
    nextBatch,
  };
}

/**
 * Why `c` cannot resume a stream with `o` over `version` (a sentence), or null when it can.
 * The batch size is checked once the stream knows its rows per batch (see stream.ts).
 */
export function cursorMismatch(c: StreamCursor, version: string, o: ResolvedOptions): string | null {
  if (!c || typeof c !== 'object' || c.v !== 1 || !Number.isInteger(c.nextBatch) || c.nextBatch < 0) return 'it is not a stream cursor';
  const expected = cursorOf(version, o, c.batchRows, c.nextBatch);
  for (const k of Object.keys(expected) as (keyof StreamCursor)[]) {
    if (JSON.stringify(c[k]) !== JSON.stringify(expected[k])) return `its ${k} is ${JSON.stringify(c[k])}, this stream's is ${JSON.stringify(expected[k])}`;
  }
  return null;
}
