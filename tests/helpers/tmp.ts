// Test helpers: fresh temporary folders, removed when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'quiver-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** The seeded PRNG the benchmarks use, so randomised tests can print and replay their seed. */
export { rng as prng } from '../../bench/lib/datagen.js';
