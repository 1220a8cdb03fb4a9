// Property test: over random two-branch histories, every merge (up-to-date, fast-forward,
// three-way) reports the counts `diff` finds between the branch before and after it, and a dry
// run reports the same kind and counts as the merge it previews. Seeded (QUIVER_SEED, default
// fixed); the seed is printed on failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);
const RUNS = Number(process.env.QUIVER_MERGE_RUNS ?? 20);

type Op =
  | { kind: 'append'; side: boolean; n: number }
  | { kind: 'update'; side: boolean; pick: number; column: 'rating' | 'emb'; value: number }
  | { kind: 'delete'; side: boolean; pick: number }
  | { kind: 'curate'; side: boolean; modulo: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), side: fc.boolean(), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('update' as const), side: fc.boolean(), pick: fc.nat(20), column: fc.constantFrom('rating' as const, 'emb' as const), value: fc.nat(2) }),
  fc.record({ kind: fc.constant('delete' as const), side: fc.boolean(), pick: fc.nat(20) }),
  fc.record({ kind: fc.constant('curate' as const), side: fc.boolean(), modulo: fc.integer({ min: 2, max: 4 }) }),
);

async function apply(ds: quiver.Dataset, o: Op, next: () => number): Promise<void> {
  if (o.kind === 'append') {
    await ds.append(Array.from({ length: o.n }, () => ({ k: next(), rating: 0, emb: [0, 0] })));
    await ds.commit('append');
    return;
  }
  if (o.kind === 'curate') {
    await ds.curate(`k % ${o.modulo} <> 0`, 'curate');
    return;
  }
  const ks = (await ds.query('select k from dataset order by k')).map((r) => r.k as number);
  if (ks.length === 0) return;
  const where = `k = ${ks[o.pick % ks.length]}`;
  if (o.kind === 'delete') await ds.delete({ where });
  else await ds.update({ where, set: { [o.column]: o.column === 'emb' ? [o.value, 1] : o.value } });
  await ds.commit(o.kind);
}

/** Merges `source` into `into` dry, then for real, and checks both against diff. */
async function checkMerge(into: quiver.Dataset, source: string, policy: 'ours' | 'theirs'): Promise<string> {
  const before = into.version.id;
  const dry = await into.merge(source, { dryRun: true, onConflict: policy });
  assert.equal(into.version.id, before, 'a dry run moves nothing');
  const real = await into.merge(source, { onConflict: policy });
  assert.equal(dry.kind, real.kind);
  assert.deepEqual(dry.counts, real.counts, `${real.kind}: dry run and merge disagree`);
  const d = await into.diff(before, into.version.id);
  assert.deepEqual(real.counts, { added: d.counts.added, removed: d.counts.removed, changed: d.counts.changed }, `${real.kind} counts differ from diff`);
  return real.kind;
}

async function run(ops: Op[], policy: 'ours' | 'theirs'): Promise<string[]> {
  let k = 0;
  const next = () => k++;
  const main = await quiver.create(new MemoryStore(), { schema: { k: 'int', rating: 'int', emb: 'emb-2' } });
  await main.append(Array.from({ length: 8 }, () => ({ k: next(), rating: 0, emb: [0, 0] })));
  await main.commit('seed');
  const side = await main.branch('side');
  try {
    for (const o of ops) await apply(o.side ? side : main, o, next);
    // side into main (fast-forward or three-way), then main into side (fast-forward), then up-to-date.
    return [await checkMerge(main, 'side', policy), await checkMerge(side, 'main', policy), await checkMerge(main, 'side', policy)];
  } finally {
    await side.close();
    await main.close();
  }
}

describe('merge counts', () => {
  it(`equal diff's counts for every merge kind, dry run included (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const kinds = new Set<string>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), fc.constantFrom('ours' as const, 'theirs' as const), async (ops, policy) => {
          for (const kind of await run(ops, policy)) kinds.add(kind);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    } catch (e) {
      console.error(`merge counts test failed; replay with QUIVER_SEED=${SEED}`);
      throw e;
    }
    assert.deepEqual([...kinds].sort(), ['fast-forward', 'merge', 'up-to-date'], 'the histories cover every merge kind');
  });

  it('counts the rows a fast-forward removes from a branch curated down', async () => {
    const main = await quiver.create(new MemoryStore(), { schema: { k: 'int' } });
    await main.append(Array.from({ length: 100 }, (_, k) => ({ k })));
    await main.commit('100 rows');
    const ft = await main.branch('ft');
    await ft.curate('k < 40', 'keep 40');
    const dry = await main.merge('ft', { dryRun: true });
    assert.deepEqual([dry.kind, dry.counts], ['fast-forward', { added: 0, removed: 60, changed: 0 }]);
    const real = await main.merge('ft');
    assert.deepEqual([real.kind, real.counts, main.rowCount], ['fast-forward', { added: 0, removed: 60, changed: 0 }, 40]);
    await ft.close();
    await main.close();
  });
});
