import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CountingStore, LocalStore, MemoryStore, openStore } from '../../src/storage/index.js';
import { isQuiverError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { objectStoreCases } from './object-store.case.js';
import { withServer } from '../helpers/servers.js';

objectStoreCases('LocalStore', { make: () => new LocalStore(tempDir()), again: (s) => new LocalStore((s as LocalStore).root) });
objectStoreCases('MemoryStore', { make: () => new MemoryStore(), again: (s) => openStore(s.url) });
objectStoreCases('CountingStore(MemoryStore)', { make: () => new CountingStore(new MemoryStore()), again: (s) => new CountingStore(openStore(s.url)) });

for (const name of ['s3', 'azure'] as const) {
  const label = name === 's3' ? 'S3Store on radosgw' : 'AzureStore on Azurite';
  withServer(name, label, (server) => {
    // A small page size so the listing case crosses pages without writing thousands of keys.
    const options = { ...server.options, listPageKeysMax: 7 };
    objectStoreCases(label, { make: () => openStore(server.url(), options), again: (s) => openStore(s.url, options), prepare: () => server.prepare(), listPageKeys: 7 });
  });
}

describe('LocalStore', () => {
  it('leaves no temporary files behind after puts', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir);
    await s.put('x/y', new Uint8Array([1]));
    await s.put('x/y', new Uint8Array([2]), { ifAbsent: true }).catch(() => undefined);
    assert.deepEqual(readdirSync(`${dir}/x`), ['y']);
  });

  it('refuses keys that escape its folder', async () => {
    const s = new LocalStore(tempDir());
    await assert.rejects(s.put('../evil', new Uint8Array([1])), (e) => isQuiverError(e, 'invalid_input'));
  });

  it('breaks a lock left behind by a dead process', async () => {
    const dir = tempDir();
    const s = new LocalStore(dir, { lockWaitMsMax: 2000 });
    const a = await s.put('ref', new Uint8Array([1]));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/ref.lock`, '999999999'); // no such pid
    await s.put('ref', new Uint8Array([2]), { ifMatch: a.etag });
    assert.equal(existsSync(`${dir}/ref.lock`), false);
  });
});

describe('CountingStore', () => {
  it('counts gets and bytes per key', async () => {
    const c = new CountingStore(new LocalStore(tempDir()));
    await c.put('a', new Uint8Array(10));
    await c.get('a');
    await c.get('a', { offset: 0, length: 4 });
    assert.equal(c.counts.gets, 2);
    assert.equal(c.counts.getBytes, 14);
    assert.equal(c.keysRead.get('a'), 14);
    assert.equal(c.requestsRead.get('a'), 2);
  });

  it('keeps the inner store\'s local paths, counting each one handed out, and offers none over a store without them', async () => {
    const inner = new LocalStore(tempDir());
    const c = new CountingStore(inner);
    await c.put('a', new Uint8Array(10));
    assert.equal(c.localPath!('a'), inner.localPath('a'));
    assert.equal(c.counts.localPaths, 1);
    assert.equal(c.keysOpened.get('a'), 1);
    assert.equal(new CountingStore(new MemoryStore()).localPath, undefined);
  });

});

describe('openStore', () => {
  it('maps paths, file:// and memory:// to stores and refuses unknown schemes', () => {
    assert.ok(openStore('/tmp/x') instanceof LocalStore);
    assert.ok(openStore('file:///tmp/x') instanceof LocalStore);
    assert.ok(openStore('memory://t1') instanceof MemoryStore);
    assert.throws(() => openStore('gopher://x'), (e) => isQuiverError(e, 'unsupported'));
    assert.throws(() => openStore('gs://bucket/ds'), (e) => isQuiverError(e, 'unsupported') && /gs:\/\/bucket\/ds/.test((e as Error).message));
  });

  it('gives one memory:// name the same objects', async () => {
    await openStore('memory://shared-t').put('k', new Uint8Array([7]));
    assert.deepEqual([...(await openStore('memory://shared-t').get('k'))], [7]);
  });
});
