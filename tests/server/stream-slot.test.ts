// A streamed response holds its token's concurrency slot until its body ends (or is cancelled),
// not just until the handler returns. Driven through the app's own fetch: a response body is
// pulled only as it is read, so "not read yet" is a state the test holds, not a race.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApp, createToken, type QuiverApp } from '../../src/server/index.js';
import { served, type Served } from './fixture.js';

let s: Served;
let app: QuiverApp;
let token: string;
before(async () => {
  s = await served(4);
  app = createApp({ root: s.root, tokenRequestsMax: 1, webDir: false });
  token = (await createToken(s.root, 'one-slot', { role: 'read' })).token;
});
after(async () => {
  await app.close();
  await s.close();
});

const get = (path: string) => app.fetch(new Request(`http://quiver.test${path}`, { headers: { authorization: `Bearer ${token}` } }));
const versions = async () => (await get('/v1/datasets/gen/versions')).status;

describe('server: streamed responses and concurrency slots', () => {
  for (const [name, path] of [
    ['diff NDJSON', '/v1/datasets/gen/diff?from=FIRST&to=main'],
    ['training stream (npy frames)', '/v1/datasets/gen/stream?batchRows=1'],
    ['training stream (Arrow)', '/v1/datasets/gen/stream?batchRows=1&format=arrow'],
  ] as const) {
    it(`${name}: holds the slot until the body is read to its end`, async () => {
      const first = (await s.call('GET', '/v1/datasets/gen/versions', s.read)).body.versions[0].id;
      const r = await get(path.replace('FIRST', first));
      assert.equal(r.status, 200);
      // The handler has returned; the body is unread, so the slot is still taken.
      assert.equal(await versions(), 429);
      await r.arrayBuffer();
      assert.equal(await versions(), 200);
    });
  }

  it('gives the slot back when the client cancels the body', async () => {
    const r = await get('/v1/datasets/gen/stream?batchRows=1');
    const reader = r.body!.getReader();
    assert.equal((await reader.read()).done, false);
    assert.equal(await versions(), 429);
    await reader.cancel();
    assert.equal(await versions(), 200);
  });

  it('a route that fails gives its slot back', async () => {
    assert.equal((await get('/v1/datasets/gen/diff?from=nope')).status, 404);
    assert.equal(await versions(), 200);
  });
});
