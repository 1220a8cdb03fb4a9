// Timing of a pipeline run for the benchmarks: steady state is measured from the first output
// batch, so start-up (processes, actors, workers joining) is excluded and reported apart.

import type * as arrow from 'apache-arrow';

export async function steady(rel: AsyncIterable<arrow.Table>): Promise<{ totalMs: number; steadyMs: number; batchesAfterFirst: number; rowsAfterFirst: number }> {
  const t0 = performance.now();
  let first = 0;
  let batches = 0;
  let rows = 0;
  for await (const b of rel) {
    if (first === 0) first = performance.now();
    else (batches++, (rows += b.numRows));
  }
  const end = performance.now();
  return { totalMs: end - t0, steadyMs: end - first, batchesAfterFirst: batches, rowsAfterFirst: rows };
}
