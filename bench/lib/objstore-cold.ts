// One cold run of bench/objstore.ts, in a fresh process so no cache of the parent helps:
// opens the dataset, runs one query, and prints one JSON line with the time from the start of
// the open to the first result (and, for context, from process start). Invoked by the parent only.
// Usage: node --import tsx bench/lib/objstore-cold.ts '<ColdRequest as JSON>'

import { openSystem, type QueryName, type S3Target, type SystemName } from './objstore-systems.js';

export interface ColdRequest {
  system: SystemName;
  url: string;
  s3: S3Target;
  query: QueryName;
  vector: number[];
}

export interface ColdResult {
  /** Start of the open to the first result (client libraries already loaded): what the benchmark compares. */
  openToResultMs: number;
  /** Process start to the first result (adds Node start-up and module loading). */
  processToResultMs: number;
  /** When the open started, ms since the epoch: the origin of the run's request timeline. */
  openStartedAtMs: number;
  /** Start of the open to its return (the rest of openToResultMs is the first query). */
  openMs: number;
  rows: number;
  imageBytes: number;
  /** Quiver's CountingStore view of the run (absent for LanceDB). */
  storeGets?: number;
  storeGetBytes?: number;
}

const req = JSON.parse(process.argv[2]!) as ColdRequest;
// Both systems' client libraries are loaded before the clock starts: LanceDB's native module by
// the static import above, the AWS SDK (which Quiver's S3 store imports on first use, ~100 ms
// at load 1, ~250 ms at load 20) here. Loading them is in processToResultMs, not openToResultMs.
if (req.system === 'Quiver') await import('@aws-sdk/client-s3');
const t0 = performance.now();
const sys = await openSystem(req.system, req.url, req.s3);
const tOpen = performance.now();
const answer = await sys.run(req.query, Float32Array.from(req.vector));
const t1 = performance.now();
const counts = sys.counts();
await sys.close();
const out: ColdResult = { openToResultMs: t1 - t0, processToResultMs: t1, openStartedAtMs: performance.timeOrigin + t0, openMs: tOpen - t0, rows: answer.rows, imageBytes: answer.imageBytes, storeGets: counts?.gets, storeGetBytes: counts?.getBytes };
process.stdout.write(`${JSON.stringify(out)}\n`);
// LanceDB's runtime can keep the process alive after close; the answer is out, so end it.
process.exit(0);
