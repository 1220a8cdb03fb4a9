// Bit flips, on every store: a seeded bit of one object of each kind is flipped (and put back
// after) in a small dataset; reopening and reading every branch and tag must then give the
// original rows or a QuiverError `corrupt`, never other rows and never an untyped error.
// QUIVER_FAULT_SWEEP=full flips more bits per kind.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { reachableKeys } from '../../src/dataset/versioning/vacuum.js';
import type { ObjectStore } from '../../src/storage/index.js';
import { FaultStore } from '../helpers/fault-store.js';
import { prng } from '../helpers/tmp.js';
import { datasetState, FULL, runScenario } from './scenario.js';
import { storeFactories } from './stores.js';
import { forgetVerifiedFiles } from '../../src/query/file-cache.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261203);
const FLIPS_PER_KIND = FULL ? 24 : 3;

/** Object kinds by key, a case each: data and deletes files are guarded by the manifest's CRC-32s, metadata by its envelope's SHA-256. */
const KINDS: { kind: string; match: (key: string) => boolean }[] = [
  { kind: 'small-column data file', match: (k) => k.endsWith('.scalar.parquet') },
  { kind: 'large-column data file', match: (k) => k.startsWith('data/') && !k.endsWith('.scalar.parquet') && !k.includes('.deletes-') },
  { kind: 'deletes file', match: (k) => k.includes('.deletes-') },
  { kind: 'manifest', match: (k) => k.startsWith('meta/manifests/') },
  { kind: 'commit', match: (k) => k.startsWith('meta/commits/') },
  { kind: 'branch or tag ref', match: (k) => k.startsWith('refs/') },
];

async function readOutcome(store: ObjectStore): Promise<string> {
  try {
    return await datasetState(store);
  } catch (e) {
    if (isQuiverError(e, 'corrupt')) return 'corrupt';
    throw e;
  }
}

for (const factory of storeFactories) {
  describe(`bit flips on the ${factory.name} store (seed ${SEED})`, () => {
    let original: ObjectStore;
    let state: string;
    let keys: string[];
    before(async () => {
      const store = new FaultStore(factory.make());
      await runScenario(store, async () => undefined);
      original = store.inner;
      state = await datasetState(original);
      keys = [...(await reachableKeys(original))].concat((await collectKeys(original, 'refs/'))).sort();
    });

    for (const [k, { kind, match }] of KINDS.entries()) {
      it(`reads the original rows or fails with corrupt after a bit flip in a ${kind}`, { timeout: 300_000 }, async () => {
        const rand = prng(SEED + k);
        const candidates = keys.filter(match);
        assert.ok(candidates.length > 0, `the scenario leaves no ${kind}`);
        for (let f = 0; f < FLIPS_PER_KIND; f++) {
          const key = candidates[Math.floor(rand() * candidates.length)];
          // Flip in place and put the original back after: a copy of the store per flip costs more than the read.
          const good = await original.get(key);
          const bytes = good.slice();
          const bit = Math.floor(rand() * bytes.length * 8);
          bytes[bit >> 3] ^= 1 << (bit & 7);
          await original.put(key, bytes);
          // A local file is verified once per process (docs/format.md): read as a fresh process would.
          forgetVerifiedFiles();
          const where = `seed ${SEED}, ${factory.name} store, bit ${bit} of ${key}`;
          let outcome: string;
          try {
            outcome = await readOutcome(original);
          } catch (e) {
            assert.fail(`${where}: untyped or wrong error: ${(e as Error).stack}`);
          } finally {
            await original.put(key, good);
          }
          assert.ok(outcome === state || outcome === 'corrupt', `${where}: other rows: ${outcome}\nnot ${state}`);
        }
      });
    }
  });
}

async function collectKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}
