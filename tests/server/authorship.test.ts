// Writes are attributed: every route that makes a commit records the token's name as
// `meta.author` (append, session commit, update, delete, curate, three-way merge, createIndex).
// Each write is checked on the commit it made, read back from the branch's log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { served, type Served } from './fixture.js';

let s: Served;
let dana: string;
before(async () => {
  s = await served();
  // A second writer, so an author that was merely copied from some earlier commit would show.
  dana = await s.token('writer-dana', { role: 'write' });
});
after(() => s.close());

/** The head commit of `branch`, with its meta (an unscoped read token sees it). */
async function head(branch = 'main') {
  const log = await s.call('GET', `/v1/datasets/gen/log?branch=${branch}&limit=1`, s.read);
  assert.equal(log.status, 200, JSON.stringify(log.body));
  return log.body.commits[0];
}

/** Makes one write with `token`, then asserts it moved `branch` to a commit authored by `name`. */
async function authored(name: string, token: string, method: string, path: string, body: unknown, branch = 'main', headers: Record<string, string> = {}) {
  const before = (await head(branch)).id;
  const r = await s.call(method, path, token, body, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const c = await head(branch);
  assert.notEqual(c.id, before, `${path} made no commit`);
  assert.equal(c.meta?.author, name, `${path}: ${JSON.stringify(c.meta)}`);
  return { r, c };
}

describe('server: commit authorship', () => {
  it('records the token name on append, session commit, update and delete commits', async () => {
    await authored('writer-bob', s.write, 'POST', '/v1/datasets/gen/append', { records: [{ prompt: 'a1' }] });
    await authored('writer-dana', dana, 'POST', '/v1/datasets/gen/update', { where: "prompt = 'a1'", set: { rating: 3 } });
    await authored('writer-bob', s.write, 'POST', '/v1/datasets/gen/delete', { where: "prompt = 'a1'" });
    const session = { 'x-quiver-session': 'authorship-session-1' };
    assert.equal((await s.call('POST', '/v1/datasets/gen/append', dana, { records: [{ prompt: 'staged' }] }, session)).status, 200);
    const { c } = await authored('writer-dana', dana, 'POST', '/v1/datasets/gen/commit', { message: 'staged', meta: { author: 'someone-else', run: 7 } }, 'main', session);
    // The caller's own meta is kept, but it cannot claim another author.
    assert.equal(c.meta.run, 7);
  });

  it('records the token name on curate, three-way merge and createIndex commits', async () => {
    assert.equal((await s.call('POST', '/v1/datasets/gen/branches', s.write, { name: 'side' })).status, 201);
    assert.equal((await s.call('POST', '/v1/datasets/gen/append?branch=side', s.write, { records: [{ prompt: 'on-side' }] })).status, 200);
    assert.equal((await s.call('POST', '/v1/datasets/gen/append', s.write, { records: [{ prompt: 'on-main' }] })).status, 200);
    const m = await authored('writer-dana', dana, 'POST', '/v1/datasets/gen/merge', { source: 'side' });
    assert.equal(m.r.body.kind, 'merge');
    assert.equal(m.c.parents.length, 2);
    const cur = await authored('writer-bob', s.write, 'POST', '/v1/datasets/gen/curate?branch=side', { predicate: "prompt like 'p%'", message: 'only p' }, 'side');
    assert.equal(cur.c.meta.curate, "prompt like 'p%'");
    const ix = await authored('writer-dana', dana, 'POST', '/v1/datasets/gen/indexes', { column: 'prompt', spec: { kind: 'fulltext' } });
    assert.equal(ix.c.operation, 'create-index');
  });
});
