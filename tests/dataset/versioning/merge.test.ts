// Property test: over random two-branch histories, every merge (up-to-date, fast-forward,
// three-way) reports the counts `diff` finds between the branch before and after it, and a dry
// run reports the same kind and counts as the merge it previews. Seeded (QUIVER_SEED, default
// fixed); the seed is printed on failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isQuiverError } from '../../../src/errors.js';
import * as quiver from '../../../src/index.js';
import { CountingStore, MemoryStore, type ByteRange } from '../../../src/storage/index.js';
import { layout } from '../../../src/format/index.js';

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

/** A store that runs `hook` before each read of one key: the merge's read of the source's manifest, once per preparation. */
class HookStore extends CountingStore {
  watched = '';
  hook: () => Promise<void> = async () => undefined;
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (key === this.watched) await this.hook();
    return super.get(key, range);
  }
}

describe('three-way merge under concurrent appends', () => {
  it('re-applies the prepared merge over appends that land while it is prepared, in one preparation', async () => {
    const inner = new MemoryStore();
    const main = await quiver.create(inner, { schema: { k: 'int', rating: 'int' } });
    await main.append(Array.from({ length: 10 }, (_, k) => ({ k, rating: 0 })));
    await main.commit('seed');
    const exp = await main.branch('exp');
    await exp.update({ where: 'k = 1', set: { rating: 5 } });
    await exp.delete({ where: 'k = 2' });
    await exp.append({ k: 100, rating: 100 });
    const theirs = await exp.commit('exp');
    await main.append({ k: 50, rating: 50 });
    await main.commit('ours');
    // The appender commits to main every time the merge starts preparing, so the head the
    // merge was prepared on is always stale by the time it publishes.
    const appender = await quiver.open(inner);
    const store = new HookStore(inner);
    const merger = await quiver.open(store, { write: { commitRetriesMax: 8 } });
    let appends = 0;
    store.watched = layout.manifest(theirs.manifest);
    store.hook = async () => {
      await appender.append({ k: 200 + appends, rating: 0 });
      await appender.commit(`append ${appends++}`);
    };
    const m = await merger.merge('exp');
    assert.equal(m.kind, 'merge');
    assert.equal(appends, 1, 'the merge was prepared once');
    assert.deepEqual(m.counts, { added: 1, removed: 1, changed: 1 });
    assert.equal(m.commit!.parents[1], theirs.id);
    const rows = await merger.query('select k, rating from dataset order by k');
    assert.deepEqual(rows.map((r) => `${r.k}:${r.rating}`), ['0:0', '1:5', '3:0', '4:0', '5:0', '6:0', '7:0', '8:0', '9:0', '50:50', '100:100', '200:0']);
    for (const h of [merger, appender, exp, main]) await h.close();
  });

  it('prepares the merge again when a concurrent commit changed the rows it merges', async () => {
    const inner = new MemoryStore();
    const main = await quiver.create(inner, { schema: { k: 'int', rating: 'int' } });
    await main.append(Array.from({ length: 4 }, (_, k) => ({ k, rating: 0 })));
    await main.commit('seed');
    const exp = await main.branch('exp');
    await exp.update({ where: 'k = 1', set: { rating: 5 } });
    const theirs = await exp.commit('exp');
    await main.append({ k: 50, rating: 50 });
    await main.commit('ours');
    const writer = await quiver.open(inner);
    const store = new HookStore(inner);
    const merger = await quiver.open(store);
    let preparations = 0;
    store.watched = layout.manifest(theirs.manifest);
    store.hook = async () => {
      if (preparations++ > 0) return;
      await writer.update({ where: 'k = 1', set: { rating: 7 } }); // the row the merge takes from theirs
      await writer.commit('concurrent change of row 1');
    };
    await assert.rejects(merger.merge('exp'), (e) => isQuiverError(e, 'conflict') && Array.isArray(e.details.conflicts));
    assert.equal(preparations, 2, 'prepared again on the new head, which found the conflict');
    const m = await merger.merge('exp', { onConflict: 'theirs' });
    assert.equal(m.kind, 'merge');
    assert.deepEqual((await merger.query('select rating from dataset where k = 1')).map((r) => r.rating), [5]);
    for (const h of [merger, writer, exp, main]) await h.close();
  });
});

