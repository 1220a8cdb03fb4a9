// A dataset whose home is object storage: create, append, commit, query and reopen on s3:// and
// az://; four processes committing to one s3:// dataset lose no commit; a request failing in the
// middle of a commit leaves the last committed version intact.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { vacuum } from '../../src/dataset/versioning/vacuum.js';
import { openStore } from '../../src/storage/index.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { withServer } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const schema = { worker: 'int', seq: 'int', prompt: 'text', blob: 'binary' };
const rows = (worker: number, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ worker, seq: from + i, prompt: `w${worker} p${from + i}`, blob: new Uint8Array(200).fill(i) }));

const SRC = resolve('src/index.ts');
/** A writer process: opens the dataset and commits `commits` batches, each after a fresh read of the ref. */
const WRITER = `
import * as quiver from ${JSON.stringify(SRC)};
const [url, worker, commits, storage] = process.argv.slice(2);
const ds = await quiver.open(url, { storage: JSON.parse(storage) });
for (let s = 0; s < Number(commits); s++) {
  await ds.append([0, 1].map((k) => ({ worker: Number(worker), seq: s * 2 + k, prompt: 'p', blob: null })));
  await ds.commit('w' + worker + ' c' + s);
}
await ds.close();
`;

function run(script: string, args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => res({ code, err }));
  });
}

for (const name of ['s3', 'azure'] as const) {
  const label = name === 's3' ? 'dataset on s3:// (radosgw)' : 'dataset on az:// (Azurite)';
  withServer(name, label, (server) => {
    describe(label, () => {
      before(() => server.prepare());

      it('creates, appends, commits, queries and reopens', async () => {
        const url = server.url('ds');
        const ds = await quiver.create(url, { schema, storage: server.options });
        await ds.append(rows(1, 0, 5));
        await ds.commit('batch 1');
        await ds.append(rows(1, 5, 3));
        await ds.commit('batch 2');
        assert.deepEqual(await ds.query('select count(*) as n, sum(octet_length(blob)) as b from dataset'), [{ n: 8n, b: 1600 }]);
        await ds.close();
        const again = await quiver.open(url, { storage: server.options });
        assert.deepEqual(await again.query('select prompt from dataset where seq = 6'), [{ prompt: 'w1 p6' }]);
        assert.equal(again.version.message, 'batch 2');
        await again.close();
      });

      it('notices at commit that a vacuum removed its expired pending marker and the files it listed', async () => {
        const url = server.url('lease');
        const ds = await quiver.create(url, { schema, storage: server.options, write: { stagedBytesMax: 1 } });
        await ds.append(rows(1, 0, 2));
        await ds.commit('kept');
        await ds.append(rows(1, 2, 2)); // written at once (stagedBytesMax 1): the marker is rewritten over its etag
        const store = openStore(url, server.options);
        const swept = await vacuum(store, { olderThan: new Date(Date.now() + 3_600_000), pendingLeaseMs: 0 });
        assert.ok(swept.deleted >= 1 && swept.expiredMarkers === 1, JSON.stringify(swept));
        await assert.rejects(ds.commit('too late'), (e) => isQuiverError(e, 'not_found') && /pending marker expired/.test(e.message));
        await ds.close();
        const again = await quiver.open(url, { storage: server.options });
        assert.equal(again.version.message, 'kept');
        await again.close();
      });

      it('refuses to create over an existing dataset and opens nothing where there is none', async () => {
        const url = server.url('ds');
        await (await quiver.create(url, { schema, storage: server.options })).close();
        await assert.rejects(quiver.create(url, { schema, storage: server.options }), (e) => isQuiverError(e, 'already_exists'));
        await assert.rejects(quiver.open(server.url('none'), { storage: server.options }), (e) => isQuiverError(e, 'not_found'));
      });
    });
  });
}

withServer('s3', 'dataset on s3:// (radosgw), several writers and faults', (server) => {
  describe('dataset on s3:// (radosgw), several writers and faults', () => {
    let proxy: FaultProxy;
    before(async () => {
      await server.prepare();
      proxy = await startFaultProxy(server.options.endpoint!);
    });
    after(() => proxy.close());

    it('loses no commit of 4 processes committing to one dataset', { timeout: 180_000 }, async () => {
      const url = server.url('multi');
      await (await quiver.create(url, { schema, storage: server.options })).close();
      const script = tempDir() + '/writer.mts';
      writeFileSync(script, WRITER);
      const COMMITS = 4;
      const runs = await Promise.all([1, 2, 3, 4].map((w) => run(script, [url, String(w), String(COMMITS), JSON.stringify(server.options)])));
      for (const r of runs) assert.equal(r.code, 0, r.err);
      const ds = await quiver.open(url, { storage: server.options });
      const counts = await ds.query('select worker, count(*) as n, count(distinct seq) as d from dataset group by worker order by worker');
      assert.deepEqual(counts, [1, 2, 3, 4].map((w) => ({ worker: w, n: BigInt(COMMITS * 2), d: BigInt(COMMITS * 2) })));
      const messages = new Set<string>();
      for await (const c of ds.log()) messages.add(c.message);
      for (const w of [1, 2, 3, 4]) for (let s = 0; s < COMMITS; s++) assert.ok(messages.has(`w${w} c${s}`), `commit w${w} c${s} lost`);
      await ds.close();
    });

    it('keeps the last committed version when the ref move fails in the middle of a commit', async () => {
      const url = server.url('fault');
      const storage = { ...server.options, endpoint: proxy.url, retriesMax: 2, retryBaseMs: 1, retryDelayMsMax: 2 };
      const ds = await quiver.create(url, { schema, storage });
      await ds.append(rows(1, 0, 4));
      const first = await ds.commit('kept');
      await ds.append(rows(1, 4, 4));
      // Every attempt to move the branch ref fails as if the server were down; data and commit objects still land.
      proxy.rule = (r) => (r.method === 'PUT' && /\/refs\/heads\//.test(r.path) ? 'unavailable' : 'pass');
      try {
        await assert.rejects(ds.commit('lost'), (e) => isQuiverError(e, 'io'));
      } finally {
        proxy.rule = () => 'pass';
      }
      const again = await quiver.open(url, { storage: server.options });
      assert.equal(again.version.id, first.id);
      assert.deepEqual(await again.query('select count(*) as n from dataset'), [{ n: 4n }]);
      await again.close();
      await ds.close();
    });
  });
});
