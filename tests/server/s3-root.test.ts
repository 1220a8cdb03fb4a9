// A server over an s3:// root (radosgw): tokens are stored in the bucket, datasets are created,
// listed, written and read under the root's prefix, and a second server on the same root agrees
// on tokens (a revocation on one is seen by the other).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { createToken, revokeToken, serve } from '../../src/server/index.js';
import { withServer } from '../helpers/servers.js';

withServer('s3', 'server over an s3:// root (radosgw)', (s3) => {
  describe('server over an s3:// root', () => {
    it('creates, lists, writes and reads datasets, with tokens stored under the root', async () => {
      await s3.prepare();
      const root = s3.url('server-root');
      const a = await serve({ root, storage: s3.options, port: 0, onBootstrapToken: false });
      const b = await serve({ root, storage: s3.options, port: 0, onBootstrapToken: false });
      try {
        const { token: admin } = await createToken(root, 'admin', { role: 'admin' }, { storage: s3.options });
        const auth = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
        assert.equal((await fetch(`${a.url}/v1/datasets`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'gen', schema: { prompt: 'text' } }) })).status, 201);
        const ds = await quiver.open(`${b.url}/gen/main` as `http://${string}`, { token: admin });
        await ds.append([{ prompt: 'on s3' }]);
        await ds.commit('remote on s3');
        assert.deepEqual(await ds.query('select prompt from dataset'), [{ prompt: 'on s3' }]);
        assert.deepEqual(((await (await fetch(`${a.url}/v1/datasets`, { headers: auth })).json()) as { datasets: unknown[] }).datasets, [{ name: 'gen' }]);
        await revokeToken(root, 'admin', { storage: s3.options });
        assert.equal((await fetch(`${a.url}/v1/datasets`, { headers: auth })).status, 401);
        assert.equal((await fetch(`${b.url}/v1/datasets`, { headers: auth })).status, 401);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
