// Who may do what over HTTP: missing, forged, expired and revoked tokens are 401; a read token
// writing, a token for another dataset or branch are 403 and change nothing; dataset names that
// try to leave the root are refused; a token's requests in flight are bounded; admin token
// routes; and the bootstrap admin token a new root gets once.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createToken, revokeToken, serve } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { served, type Served } from './fixture.js';

let s: Served;
before(async () => {
  s = await served(3);
});
after(() => s.close());

const rows = async () => (await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 'select count(*)::int as n from dataset' })).body.rows[0].n as number;
const append = (token: string | undefined, query = '') => s.call('POST', `/v1/datasets/gen/append${query}`, token, { records: [{ prompt: 'x' }] });

describe('server token checks', () => {
  it('answers a request without a token, or with a forged one, with 401 unauthorized', async () => {
    for (const t of [undefined, 'qv_0123456789abcdef_' + 'A'.repeat(43), s.read.slice(0, -1) + (s.read.endsWith('A') ? 'B' : 'A'), 'not-a-token']) {
      const r = await s.call('GET', '/v1/datasets', t);
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'unauthorized');
    }
  });

  it('refuses an expired token', async () => {
    const t = await s.token('old', { role: 'read', expiresAt: '2001-01-01T00:00:00Z' });
    assert.equal((await s.call('GET', '/v1/datasets', t)).status, 401);
  });

  it('refuses a revoked token on every server of the root, from the next request on', async () => {
    const t = await s.token('soon-gone', { role: 'read' });
    const second = await serve({ root: s.root, port: 0, onBootstrapToken: false });
    try {
      assert.equal((await s.call('GET', '/v1/datasets', t)).status, 200);
      assert.equal((await fetch(`${second.url}/v1/datasets`, { headers: { authorization: `Bearer ${t}` } })).status, 200);
      await revokeToken(s.root, 'soon-gone');
      assert.equal((await s.call('GET', '/v1/datasets', t)).status, 401);
      assert.equal((await fetch(`${second.url}/v1/datasets`, { headers: { authorization: `Bearer ${t}` } })).status, 401);
    } finally {
      await second.close();
    }
  });
});

describe('server token scopes', () => {
  it('forbids a read token to write, and nothing is written', async () => {
    const before = await rows();
    for (const [method, path, body] of [
      ['POST', '/v1/datasets/gen/append', { records: [{ prompt: 'x' }] }],
      ['POST', '/v1/datasets/gen/update', { where: 'true', set: { rating: 1 } }],
      ['POST', '/v1/datasets/gen/delete', { where: 'true' }],
      ['POST', '/v1/datasets/gen/branches', { name: 'sneaky' }],
      ['POST', '/v1/datasets/gen/indexes', { column: 'prompt', spec: { kind: 'fulltext' } }],
      ['POST', '/v1/tokens', { name: 'me-too', role: 'admin' }],
    ] as const) {
      const r = await s.call(method, path, s.read, body);
      assert.equal(r.status, 403, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'forbidden');
    }
    assert.equal(await rows(), before);
    assert.ok(!(await s.call('GET', '/v1/datasets/gen/branches', s.read)).body.branches.some((b: { name: string }) => b.name === 'sneaky'));
  });

  it('forbids another dataset and hides it from the list', async () => {
    await s.call('POST', '/v1/datasets', s.admin, { name: 'secret', schema: { t: 'text' } });
    const t = await s.token('gen-only', { role: 'write', datasets: ['gen'] });
    assert.equal((await s.call('GET', '/v1/datasets/secret', t)).status, 403);
    assert.equal((await s.call('POST', '/v1/datasets/secret/query', t, { sql: 'select 1' })).status, 403);
    assert.deepEqual((await s.call('GET', '/v1/datasets', t)).body.datasets, [{ name: 'gen' }]);
  });

  it('holds a token to its branch patterns for reads and writes, and to every branch for tags', async () => {
    const t = await s.token('ft-writer', { role: 'write', branches: ['ft-*'] });
    assert.equal((await s.call('POST', '/v1/datasets/gen/branches', s.write, { name: 'ft-1' })).status, 201);
    assert.equal((await append(t, '?branch=ft-1')).status, 200);
    assert.equal((await append(t)).status, 403, 'main is not ft-*');
    assert.equal((await s.call('POST', '/v1/datasets/gen/query', t, { sql: 'select 1' })).status, 403, 'reading main is not allowed either');
    assert.equal((await s.call('POST', '/v1/datasets/gen/tags', t, { name: 'mine' })).status, 403);
    const v = (await s.call('GET', '/v1/datasets/gen/versions', s.read)).body.versions[0].id;
    assert.equal((await s.call('GET', `/v1/datasets/gen?version=${v}`, t)).status, 403, 'a version id could be any branch');
    assert.deepEqual((await s.call('GET', '/v1/datasets/gen/branches?branch=ft-1', t)).body.branches.map((b: { name: string }) => b.name), ['ft-1']);
  });
});

describe('server SQL sandbox for tokens without a tenant', () => {
  it('refuses file, glob and settings functions from any token, admin included, with a typed error', async () => {
    for (const sql of ["select * from read_csv('/etc/passwd')", "select * from glob('/etc/*')", "select getenv('HOME')", "select current_setting('threads')", "select * from read_parquet('" + s.root + "/gen/data/*.parquet')"]) {
      for (const token of [s.read, s.admin]) {
        const r = await s.call('POST', '/v1/datasets/gen/query', token, { sql });
        assert.ok(r.status === 403 || r.status === 400, `${sql}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        assert.ok(['forbidden', 'invalid_sql'].includes(r.body.error.code));
      }
    }
    assert.equal((await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 'select count(*) as n from dataset' })).status, 200);
  });
});

describe('server dataset names', () => {
  it('refuses names that would leave the root or reach its token store, and creates nothing', async () => {
    const outside = readdirSync(dirname(s.root)).length;
    for (const name of ['..', '.', '../escape', '..%2Fescape', '%2e%2e', '_server', '.hidden', 'a%2Fb', 'a\\b', '%00', 'x'.repeat(200)]) {
      const r = await s.call('GET', `/v1/datasets/${name}`, s.admin);
      assert.ok(r.status === 400 || r.status === 404, `${name}: ${r.status}`);
      assert.ok(r.status !== 404 || r.body.error.message.startsWith('server: no route') || r.body.error.code === 'not_found');
    }
    for (const name of ['../escape', '..', '_server', 'a/b', '.x']) {
      const r = await s.call('POST', '/v1/datasets', s.admin, { name, schema: { t: 'text' } });
      assert.equal(r.status, 400, name);
      assert.equal(r.body.error.code, 'invalid_input');
    }
    assert.equal(readdirSync(dirname(s.root)).length, outside, 'nothing was created beside the root');
    assert.ok(!existsSync(join(s.root, '_server', '_quiver.json')));
  });
});

describe('server concurrency per token', () => {
  it('answers 429 while a token has tokenRequestsMax requests in flight, and serves it again after', async () => {
    const one = await served(1, { tokenRequestsMax: 1 });
    try {
      let finish!: () => void;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"sql": "select 1 as one"'));
          finish = () => {
            c.enqueue(new TextEncoder().encode('}'));
            c.close();
          };
        },
      });
      // The first request is in flight until its body ends, which this test decides.
      const first = fetch(`${one.server.url}/v1/datasets/gen/query`, { method: 'POST', headers: { authorization: `Bearer ${one.read}`, 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
      let second = await one.call('POST', '/v1/datasets/gen/query', one.read, { sql: 'select 2' });
      for (let i = 0; i < 50 && second.status !== 429; i++) second = await one.call('POST', '/v1/datasets/gen/query', one.read, { sql: 'select 2' });
      assert.equal(second.status, 429);
      assert.equal(second.body.error.code, 'too_many_requests');
      assert.equal((await one.call('POST', '/v1/datasets/gen/query', one.write, { sql: 'select 3' })).status, 200, 'another token is not held back');
      finish();
      assert.equal((await first).status, 200);
      assert.equal((await one.call('POST', '/v1/datasets/gen/query', one.read, { sql: 'select 4' })).status, 200);
    } finally {
      await one.close();
    }
  });
});

describe('server token routes and bootstrap', () => {
  it('lets an admin create, list and revoke tokens, showing the secret only at creation', async () => {
    const made = await s.call('POST', '/v1/tokens', s.admin, { name: 'via-http', role: 'read', datasets: ['gen'] });
    assert.equal(made.status, 201);
    assert.match(made.body.token, /^qv_/);
    const list = await s.call('GET', '/v1/tokens', s.admin);
    assert.ok(!JSON.stringify(list.body).includes(made.body.token.split('_')[2]));
    assert.equal((await s.call('GET', '/v1/datasets', made.body.token)).status, 200);
    assert.equal((await s.call('DELETE', `/v1/tokens/${made.body.info.id}`, s.admin)).status, 200);
    assert.equal((await s.call('GET', '/v1/datasets', made.body.token)).status, 401);
  });

  it('makes one admin token on a root that has none, and none on the next start', async () => {
    const root = tempDir('quiver-boot-');
    const shown: string[] = [];
    const a = await serve({ root, port: 0, onBootstrapToken: (t) => shown.push(t) });
    await a.close();
    const b = await serve({ root, port: 0, onBootstrapToken: (t) => shown.push(t) });
    try {
      assert.equal(shown.length, 1);
      assert.equal(a.bootstrapToken, shown[0]);
      assert.equal(b.bootstrapToken, undefined);
      const r = await fetch(`${b.url}/v1/tokens`, { headers: { authorization: `Bearer ${shown[0]}` } });
      assert.equal(r.status, 200);
    } finally {
      await b.close();
    }
    await createToken(root, 'unused', { role: 'read' });
  });
});
