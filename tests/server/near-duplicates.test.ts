// Near-duplicates over HTTP: the same pairs as the embedded call, a tenant token's pairs are
// its own rows only, the answer is bounded by `limit`, and the walk (one search per row) ends
// with `timeout` once the request deadline passes. The clock is the test's (AppOptions.clock).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { createApp, createToken } from '../../src/server/index.js';
import { served, type Served } from './fixture.js';

let s: Served;
let tenantToken: string;
const tenantRows = new Map<bigint, string>();
before(async () => {
  s = await served(0);
  // Two users, each with near-identical pairs of their own and across users.
  const ten = await quiver.create(join(s.root, 'ten'), { schema: { user_id: 'text', emb: 'emb-3' }, tenant: 'user_id' });
  const recs: { user_id: string; emb: number[] }[] = [];
  for (let i = 0; i < 12; i++) recs.push({ user_id: i % 2 ? 'u1' : 'u2', emb: [1, 0.01 * (i % 4), (i % 3) * 0.5] });
  const { rowIds } = await ten.append(recs);
  rowIds.forEach((id, i) => tenantRows.set(id, recs[i]!.user_id));
  await ten.commit('rows');
  await ten.close();
  tenantToken = (await createToken(s.root, 'tenant-u1', { role: 'read', tenant: 'u1' })).token;
});
after(() => s.close());

const wire = (pairs: { a: bigint; b: bigint; similarity: number }[]) => pairs.map((p) => ({ a: String(p.a), b: String(p.b), similarity: p.similarity }));

describe('server near-duplicates', () => {
  it('answers the embedded pairs, a tenant only its own, and at most limit of them', async () => {
    const ds = await quiver.open(join(s.root, 'ten'));
    const all = await ds.nearDuplicates('emb', { threshold: 0.9 });
    await ds.close();
    assert.ok(all.length > 4, 'the seeded rows have near-duplicate pairs');
    const r = await s.call('POST', '/v1/datasets/ten/near-duplicates', s.read, { column: 'emb', threshold: 0.9 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.pairs, wire(all));
    assert.equal(r.body.truncated, false);

    const mine = await s.call('POST', '/v1/datasets/ten/near-duplicates', tenantToken, { column: 'emb', threshold: 0.9 });
    assert.equal(mine.status, 200);
    assert.ok(mine.body.pairs.length > 0);
    for (const p of mine.body.pairs) assert.deepEqual([tenantRows.get(BigInt(p.a)), tenantRows.get(BigInt(p.b))], ['u1', 'u1']);

    const two = await s.call('POST', '/v1/datasets/ten/near-duplicates', s.read, { column: 'emb', threshold: 0.9, limit: 2 });
    assert.deepEqual(two.body, { pairs: wire(all).slice(0, 2), truncated: true });

    const remote = await quiver.RemoteDataset.open(`${s.server.url}/ten/main`, { token: s.read });
    assert.deepEqual(await remote.nearDuplicates('emb', { threshold: 0.9 }), all);
    await remote.close();

    const bad = await s.call('POST', '/v1/datasets/ten/near-duplicates', s.read, { column: 'user_id' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_input');
  });

  it('ends the walk with 504 timeout once the request deadline passes', async () => {
    // Each reading of the clock moves it 100 ms: the walk of 12 rows checks it once per row.
    const now = { t: 0 };
    const app = createApp({ root: s.root, requestMs: 500, webDir: false, clock: () => (now.t += 100) });
    try {
      const r = await app.fetch(new Request('http://quiver.test/v1/datasets/ten/near-duplicates', { method: 'POST', headers: { authorization: `Bearer ${s.read}`, 'content-type': 'application/json' }, body: JSON.stringify({ column: 'emb' }) }));
      assert.equal(r.status, 504);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'timeout');
    } finally {
      await app.close();
    }
  });
});
