// Write sessions live in the server's memory: they do not survive a restart (nor being dropped
// past sessionsMax). The client is told so with a typed error (`conflict`, details.sessionLost)
// at its next write or commit of that session, never a commit of only what it staged after;
// having been told, it stages again and commits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { serve, type RunningServer } from '../../../src/server/index.js';
import { served, type Served } from '../fixture.js';

let s: Served;
before(async () => {
  s = await served(2);
});
after(() => s.close());

const prompts = async (ds: quiver.RemoteDataset) => (await ds.query('select prompt from dataset order by prompt')).map((r) => r.prompt);
const lost = (e: unknown) => isQuiverError(e, 'conflict') && e.details.sessionLost === true;

describe('remote write sessions', () => {
  it('a restart loses the staged writes and says so; staged again, they commit', async () => {
    // The client's base URL stays; its fetch goes to whichever server now serves the root.
    let current: RunningServer = await serve({ root: s.root, port: 0, onBootstrapToken: false, webDir: false });
    const base = current.url;
    const f: typeof fetch = (url, init) => fetch(String(url).replace(base, current.url), init);
    try {
      const ds = await quiver.RemoteDataset.open(`${base}/gen/main`, { token: s.write, fetch: f });
      await ds.append([{ prompt: 'lost-1' }, { prompt: 'lost-2' }]);
      assert.equal(ds.stagedRows, 2);
      await current.close();
      current = await serve({ root: s.root, port: 0, onBootstrapToken: false, webDir: false });
      await assert.rejects(ds.append({ prompt: 'after-restart' }), lost);
      assert.equal(ds.stagedRows, 0);
      await ds.append({ prompt: 'again-1' });
      await ds.commit('after restart');
      assert.deepEqual(await prompts(ds), ['again-1', 'p0', 'p1']);
      // A commit (not only a write) of a lost session is refused the same way.
      await ds.append({ prompt: 'lost-3' });
      await current.close();
      current = await serve({ root: s.root, port: 0, onBootstrapToken: false, webDir: false });
      await assert.rejects(ds.commit('would publish nothing of it'), lost);
      assert.deepEqual(await prompts(ds), ['again-1', 'p0', 'p1']);
      await ds.close();
    } finally {
      await current.close();
    }
  });

  it('a session dropped past sessionsMax is reported the same way', async () => {
    const one = await serve({ root: s.root, port: 0, onBootstrapToken: false, webDir: false, sessionsMax: 1 });
    try {
      const a = await quiver.RemoteDataset.open(`${one.url}/gen/main`, { token: s.write });
      const b = await quiver.RemoteDataset.open(`${one.url}/gen/main`, { token: s.write });
      await a.append({ prompt: 'a-staged' });
      await b.append({ prompt: 'b-staged' }); // the pool holds one session: a's is closed
      await assert.rejects(a.commit('a'), lost);
      await b.commit('b');
      assert.deepEqual((await prompts(b)).filter((p) => String(p).endsWith('staged')), ['b-staged']);
      await a.close();
      await b.close();
    } finally {
      await one.close();
    }
  });
});
