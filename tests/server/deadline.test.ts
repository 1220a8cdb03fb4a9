// Non-SQL work is bounded by the request deadline (requestMs): a diff's rows, a tenant's
// versions (a row count per version) and a log walk end with `timeout` once it has passed,
// and give back their lease and concurrency slot. The clock is the test's own (AppOptions.clock),
// so a deadline passes exactly when the test moves it: no timing is involved.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { createApp, createToken, type QuiverApp } from '../../src/server/index.js';
import { served, type Served } from './fixture.js';

let s: Served;
let tenantToken: string;
let readToken: string;
let first: string;
before(async () => {
  s = await served(8);
  const ten = await quiver.create(join(s.root, 'ten'), { schema: { user_id: 'text', prompt: 'text' }, tenant: 'user_id' });
  for (let i = 0; i < 12; i++) {
    await ten.append([{ user_id: 'u1', prompt: `a${i}` }, { user_id: 'u2', prompt: `b${i}` }]);
    await ten.commit(`step ${i}`);
  }
  await ten.close();
  tenantToken = (await createToken(s.root, 'tenant-u1', { role: 'read', tenant: 'u1' })).token;
  readToken = (await createToken(s.root, 'one-slot-reader', { role: 'read' })).token;
  first = (await s.call('GET', '/v1/datasets/gen/versions', s.read)).body.versions[0].id;
});
after(() => s.close());

/** An app whose clock is `now.t`, or (with `tick`) one that moves `tick` ms on every reading. */
function appWith(requestMs: number, now: { t: number }, tick = 0): QuiverApp {
  return createApp({ root: s.root, requestMs, tokenRequestsMax: 1, webDir: false, clock: () => (now.t += tick) });
}
const get = (app: QuiverApp, path: string, token = readToken) => app.fetch(new Request(`http://quiver.test${path}`, { headers: { authorization: `Bearer ${token}` } }));

describe('server: request deadline for non-SQL work', () => {
  it('ends a diff midway with a timeout line, and frees its lease and slot', async () => {
    const now = { t: 0 };
    const app = appWith(1_000, now);
    try {
      const r = await get(app, `/v1/datasets/gen/diff?from=${first}&to=main`);
      assert.equal(r.status, 200);
      const reader = r.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      // Read the summary and the first row line: the diff has 8 rows.
      while (text.split('\n').length < 3) text += dec.decode((await reader.read()).value);
      now.t = 1_000;
      for (let c = await reader.read(); !c.done; c = await reader.read()) text += dec.decode(c.value);
      const lines = text.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.type), ['summary', 'row', 'error']);
      assert.equal(lines[0].counts.added, 8);
      assert.equal(lines[2].error.code, 'timeout');
      assert.equal((await get(app, '/v1/datasets/gen/versions')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('answers 504 timeout when the deadline passed before a diff\u2019s first byte', async () => {
    const app = appWith(0, { t: 0 });
    try {
      const r = await get(app, `/v1/datasets/gen/diff?from=${first}&to=main`);
      assert.equal(r.status, 504);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'timeout');
    } finally {
      await app.close();
    }
  });

  it('ends a tenant\u2019s versions walk between versions, and serves it within a larger bound', async () => {
    // Each reading of the clock moves it 100 ms: with 1,000 ms, the walk ends within 10 checks of 13 versions.
    const tight = appWith(1_000, { t: 0 }, 100);
    const wide = appWith(1_000_000, { t: 0 }, 100);
    try {
      const r = await get(tight, '/v1/datasets/ten/versions', tenantToken);
      assert.equal(r.status, 504);
      assert.equal(((await r.json()) as { error: { details: { requestMs: number } } }).error.details.requestMs, 1_000);
      const ok = await get(wide, '/v1/datasets/ten/versions', tenantToken);
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { versions: { stats: { rows: number } }[] };
      assert.deepEqual(body.versions.map((v) => v.stats.rows), Array.from({ length: 13 }, (_, i) => i));
      // The timed-out request gave back its slot (tokenRequestsMax 1).
      assert.equal((await get(tight, '/v1/datasets/ten', tenantToken)).status, 200);
      const log = await get(tight, '/v1/datasets/ten/log?limit=50', tenantToken);
      assert.equal(log.status, 504);
    } finally {
      await tight.close();
      await wide.close();
    }
  });
});
