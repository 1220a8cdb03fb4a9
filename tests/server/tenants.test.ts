// Tenant tokens over HTTP: every route a tenant token reaches goes through ds.scoped (wired in
// scope.ts), so its queries, images by row id, diff, stream and writes see only its tenant, its
// SQL is sandboxed, and what only a whole-dataset handle does is forbidden.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { served, type Served } from './fixture.js';
import { pngOf } from '../stream/fixture.js';

let s: Served;
let u1: string;
let u2RowId: string;
before(async () => {
  s = await served(1);
  assert.equal((await s.call('POST', '/v1/datasets', s.admin, { name: 'multi', schema: { user_id: 'text', prompt: 'text', image: 'image?' }, tenant: 'user_id' })).status, 201);
  const b64 = Buffer.from(await pngOf(3)).toString('base64');
  const r = await s.call('POST', '/v1/datasets/multi/append', s.write, { records: [{ user_id: 'u1', prompt: 'mine', image: b64 }, { user_id: 'u2', prompt: 'theirs', image: b64 }] });
  u2RowId = r.body.rowIds[1];
  u1 = await s.token('tenant-u1', { role: 'write', tenant: 'u1' });
});
after(() => s.close());

const q = (sql: string, token = u1) => s.call('POST', '/v1/datasets/multi/query', token, { sql });

describe('server tenant tokens', () => {
  it('see only their tenant\u2019s rows in SQL of any shape', async () => {
    assert.deepEqual((await q('select user_id, prompt from dataset')).body.rows, [{ user_id: 'u1', prompt: 'mine' }]);
    assert.deepEqual((await q("select count(*)::int as n from dataset where user_id = 'u2'")).body.rows, [{ n: 0 }]);
    assert.equal((await q('select user_id from dataset', s.write)).body.rows.length, 2, 'a token without a tenant sees all');
  });

  it('run SQL in the sandbox: file functions are refused with a typed error', async () => {
    for (const sql of ["select * from read_csv('/etc/passwd')", "select * from glob('/*')", 'select 1; select 2']) {
      const r = await q(sql);
      assert.ok([400, 403].includes(r.status), `${sql}: ${r.status}`);
      assert.ok(['forbidden', 'invalid_sql'].includes(r.body.error.code));
    }
  });

  it('cannot read another tenant\u2019s image by row id', async () => {
    assert.equal((await s.call('GET', `/v1/datasets/multi/rows/${u2RowId}/image`, u1)).status, 404);
    assert.equal((await s.call('GET', `/v1/datasets/multi/rows/${u2RowId}/image`, s.write)).status, 200);
  });

  it('write only their own rows: the tenant is filled in, another tenant is forbidden', async () => {
    assert.equal((await s.call('POST', '/v1/datasets/multi/append', u1, { records: [{ user_id: 'u2', prompt: 'spoof' }] })).status, 403);
    const ok = await s.call('POST', '/v1/datasets/multi/append', u1, { records: [{ prompt: 'mine too' }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // A scoped handle's commits hide their meta from the tenant; the whole-dataset log has the author.
    assert.equal((await s.call('GET', '/v1/datasets/multi/log?limit=1', s.write)).body.commits[0].meta.author, 'tenant-u1');
    assert.deepEqual((await q("select user_id from dataset where prompt = 'mine too'", s.write)).body.rows, [{ user_id: 'u1' }]);
    assert.equal((await s.call('POST', '/v1/datasets/multi/delete', u1, { rowIds: [u2RowId] })).status, 403);
  });

  it('diff and stream only their rows', async () => {
    const v = (await s.call('GET', '/v1/datasets/multi/versions', s.read)).body.versions[0].id;
    const r = await fetch(`${s.server.url}/v1/datasets/multi/diff?from=${v}`, { headers: { authorization: `Bearer ${u1}` } });
    const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.filter((l) => l.type === 'row').every((l) => l.row.user_id === 'u1'), JSON.stringify(lines));
    const info = await s.call('GET', '/v1/datasets/multi/stream/info?columns=prompt', u1);
    assert.equal(info.status, 200, JSON.stringify(info.body));
    assert.equal(info.body.rows, 2);
  });

  it('are forbidden what needs the whole dataset, and datasets without a tenant column', async () => {
    assert.equal((await s.call('GET', '/v1/datasets/multi/branches', u1)).status, 403);
    assert.equal((await s.call('POST', '/v1/datasets/multi/merge', u1, { source: 'main' })).status, 403);
    assert.equal((await s.call('POST', '/v1/datasets/gen/query', u1, { sql: 'select 1' })).status, 403);
  });
});
