// A scoped handle's per-version row counts (versions(), log()) are sums of per-fragment tenant
// counts, each fragment state scanned once: checked against the slow definition (count the
// tenant's rows at each version) on a random history of appends, deletes, updates that move
// rows between tenants, compactions and schema changes, and checked to scan only the fragment
// states each new version adds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { prng as rng, tempDir } from '../helpers/tmp.js';

const TENANTS = ['u1', 'u2', 'u3'];

async function randomHistory(seed: number, steps: number): Promise<quiver.Dataset> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const ds = await quiver.create(tempDir('scoped-counts-'), { schema: { user_id: 'text', prompt: 'text', rating: 'int32?' }, tenant: 'user_id' });
  let n = 0;
  for (let s = 0; s < steps; s++) {
    const op = r();
    if (op < 0.5 || n < 5) {
      const recs = Array.from({ length: 1 + Math.floor(r() * 8) }, () => ({ user_id: pick(TENANTS), prompt: `p${n++}`, rating: Math.floor(r() * 5) }));
      await ds.append(recs);
      await ds.commit(`append ${recs.length}`);
    } else if (op < 0.65) {
      await ds.delete({ where: 'rating = $1 and user_id = $2', params: [Math.floor(r() * 5), pick(TENANTS)] });
      await ds.commit('delete').catch(() => undefined); // nothing matched: nothing to commit
    } else if (op < 0.8) {
      // Moves rows to another tenant: counts of both change.
      await ds.update({ where: 'rating = $1', params: [Math.floor(r() * 5)], set: { user_id: pick(TENANTS) } });
      await ds.commit('move').catch(() => undefined);
    } else if (op < 0.9) {
      await ds.update({ where: 'user_id = $1', params: [pick(TENANTS)], set: { rating: Math.floor(r() * 5) } });
      await ds.commit('rate').catch(() => undefined);
    } else {
      await ds.compact().catch(() => undefined);
    }
  }
  return ds;
}

/** The slow definition: the tenant's rows at `version`, counted by an unscoped query there. */
async function slowCount(ds: quiver.Dataset, version: string, tenant: string): Promise<number> {
  const at = await ds.checkout({ version });
  try {
    return Number((await at.query('select count(*) as n from dataset where user_id = $1', [tenant]))[0].n);
  } finally {
    await at.close();
  }
}

describe('scoped versions(): per-version tenant row counts', () => {
  for (const seed of [1, 2, 3]) {
    it(`equal the slow definition on random history ${seed}`, async () => {
      const ds = await randomHistory(seed, 40);
      try {
        const versions = await ds.versions();
        assert.ok(versions.length > 20, `history ${seed} has ${versions.length} versions`);
        for (const tenant of TENANTS) {
          const mine = await ds.scoped({ tenant });
          try {
            const got = (await mine.versions()).map((v) => v.stats.rows);
            const want = [];
            for (const v of versions) want.push(await slowCount(ds, v.id, tenant));
            assert.deepEqual(got, want, `tenant ${tenant}`);
            const logged = [];
            for await (const c of mine.log()) logged.push(c.stats.rows);
            assert.equal(logged[0], want.at(-1));
          } finally {
            await mine.close();
          }
        }
      } finally {
        await ds.close();
      }
    });
  }

  it('scans only the fragment states a new version adds', async () => {
    const ds = await quiver.create(tempDir('scoped-counts-inc-'), { schema: { user_id: 'text', prompt: 'text' }, tenant: 'user_id' });
    try {
      for (let i = 0; i < 30; i++) {
        await ds.append([{ user_id: 'u1', prompt: `a${i}` }, { user_id: 'u2', prompt: `b${i}` }]);
        await ds.commit(`append ${i}`);
      }
      const mine = await ds.scoped({ tenant: 'u1' });
      try {
        const base = mine.fragmentsScanned;
        const vs = await mine.versions();
        assert.deepEqual(vs.map((v) => v.stats.rows), vs.map((_, i) => Math.max(0, i)));
        // 30 appends made 30 fragments: each scanned once, not once per version that holds it (465).
        assert.ok(mine.fragmentsScanned - base <= 30, `scanned ${mine.fragmentsScanned - base}`);
        await ds.append([{ user_id: 'u1', prompt: 'last' }]);
        await ds.commit('one more');
        const before = mine.fragmentsScanned;
        await mine.refresh();
        assert.equal((await mine.versions()).at(-1)!.stats.rows, 31);
        assert.equal(mine.fragmentsScanned - before, 1);
      } finally {
        await mine.close();
      }
    } finally {
      await ds.close();
    }
  });
});
