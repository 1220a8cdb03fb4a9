// Vacuum beside live writers: it must never delete what a writer has staged, what a commit in
// flight references, or an object a new commit would reuse, whatever `olderThan` says. Races
// are made deterministic with a store wrapper that runs the other side at one exact call.
import assert from 'node:assert/strict';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { ForwardingStore, LocalStore, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../../../src/storage/index.js';
import { vacuum } from '../../../src/dataset/versioning/vacuum.js';
import { layout, writeMetadata } from '../../../src/format/index.js';
import { tempDir } from '../../helpers/tmp.js';

const schema = { prompt: 'text', rating: 'int' };
const rec = (i: number) => ({ prompt: `p${i}`, rating: i % 5 });
/** Everything counts as older than the grace: the case of a writer slower than it. */
const everything = () => ({ olderThan: new Date(Date.now() + 3_600_000) });

/** Passes every call through to `inner`, first running `hook` once when `when` matches a call. */
class HookStore extends ForwardingStore {
  private fired = false;
  constructor(
    inner: ObjectStore,
    private readonly when: (op: 'get' | 'put', key: string, condition?: PutCondition) => boolean,
    private readonly hook: () => Promise<unknown>,
  ) {
    super(inner);
  }
  private async maybe(op: 'get' | 'put', key: string, condition?: PutCondition): Promise<void> {
    if (this.fired || !this.when(op, key, condition)) return;
    this.fired = true;
    await this.hook();
  }
  get hookRan(): boolean {
    return this.fired;
  }
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.maybe('get', key);
    return this.inner.get(key, range);
  }
  override async getWithInfo(key: string): Promise<StoredObject> {
    await this.maybe('get', key);
    return this.inner.getWithInfo(key);
  }
  override async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    await this.maybe('put', key, condition);
    return this.inner.put(key, data, condition);
  }
}

const count = async (ds: quiver.Dataset) => Number((await ds.query('select count(*) as n from dataset'))[0].n);

describe('vacuum beside writers', () => {
  it('keeps fragments a writer has staged but not committed (16)', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema, write: { stagedBytesMax: 1 } });
    await ds.append([rec(1), rec(2)]); // written as a fragment at once: stagedBytesMax is 1
    const other = await quiver.open(dir);
    await other.vacuum(everything());
    await ds.commit('after a vacuum');
    const again = await quiver.open(dir);
    assert.equal(await count(again), 2);
    for (const h of [ds, other, again]) await h.close();
  });

  it('keeps every file of a commit in flight even with olderThan 0 (18)', async () => {
    const dir = tempDir();
    const store = new LocalStore(dir);
    let result: quiver.VacuumResult | undefined;
    const hooked = new HookStore(store, (op, key, c) => op === 'put' && key === layout.branch('main') && !!c && 'ifMatch' in c, async () => (result = await vacuum(store, { olderThan: 0 })));
    const ds = await quiver.create(hooked, { schema });
    await ds.append([rec(1), rec(2), rec(3)]);
    await ds.commit('raced by a vacuum');
    assert.ok(hooked.hookRan && result);
    const again = await quiver.open(dir);
    assert.equal(await count(again), 3);
    for (const h of [ds, again]) await h.close();
  });

  it('does not delete an unreachable manifest that a new commit reuses during the mark phase (17)', async () => {
    const dir = tempDir();
    const store = new LocalStore(dir);
    const ds = await quiver.create(store, { schema });
    await ds.append([rec(1), rec(2)]);
    await ds.commit('rows');
    await ds.createIndex('rating', { kind: 'scalar' });
    await ds.createIndex('prompt', { kind: 'scalar' });
    // A branch makes the manifest "prompt's index only", then goes away: that manifest is unreachable.
    const side = await ds.branch('side');
    await side.dropIndex('rating', 'scalar');
    await side.close();
    await ds.deleteBranch('side');
    // While vacuum walks the refs it read, main produces the very same manifest.
    const hooked = new HookStore(store, (op, key) => op === 'get' && key.startsWith(layout.manifestsPrefix), () => ds.dropIndex('rating', 'scalar'));
    await vacuum(hooked, everything());
    assert.ok(hooked.hookRan);
    const again = await quiver.open(dir);
    assert.equal(await count(again), 2);
    for (const h of [ds, again]) await h.close();
  });

  it('deletes a dead writer’s staged files once its pending marker is older than the lease', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema, write: { stagedBytesMax: 1 } });
    await ds.append([rec(1)]);
    const markers = readdirSync(join(dir, 'meta/pending'));
    assert.equal(markers.length, 1);
    const r1 = await vacuum(new LocalStore(dir), everything());
    assert.equal(r1.deleted, 0);
    const r2 = await vacuum(new LocalStore(dir), { ...everything(), pendingLeaseMs: 0 });
    assert.ok(r2.deleted >= 1, `deleted ${r2.deleted}`);
    assert.deepEqual(readdirSync(join(dir, 'meta/pending')), []);
    // The writer notices at commit instead of publishing a version whose files are gone.
    await assert.rejects(ds.commit('too late'), (e) => quiver.isQuiverError(e, 'not_found') && /pending/.test(e.message));
    await ds.close();
  });

  it('removes its pending marker once the writer has published everything it staged', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema });
    await ds.append([rec(1)]);
    await ds.commit('one');
    assert.deepEqual(readdirSync(join(dir, 'meta/pending')), []);
    await ds.close();
  });
});

describe('vacuum sweeps', () => {
  it('deletes unreachable index files and old temporary files through the store', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema: { ...schema, emb: 'emb-3' } });
    await ds.append([1, 2, 3, 4].map((i) => ({ ...rec(i), emb: [i, 1, 0] })));
    await ds.commit('rows');
    const side = await ds.branch('side');
    await side.createIndex('emb', { kind: 'vector', metric: 'l2' });
    await side.close();
    const indexFiles = () => readdirSync(join(dir, 'index'));
    assert.equal(indexFiles().length, 1);
    await ds.deleteBranch('side');
    writeFileSync(join(dir, 'index', '.tmp-999999-abc'), 'x');
    utimesSync(join(dir, 'index', '.tmp-999999-abc'), new Date(0), new Date(0)); // a put long dead
    writeFileSync(join(dir, 'index', '.tmp-999999-young'), 'x'); // maybe a put still running
    const r = await ds.vacuum(everything());
    assert.deepEqual(indexFiles(), ['.tmp-999999-young']);
    assert.equal(r.tmpFiles, 1);
    assert.equal(await count(ds), 4);
    await ds.close();
  });
});
