// Segmented manifests: past SEGMENT_ENTRIES fragments (or a large column's files) a manifest is
// a root naming immutable segments, so a commit that appends one fragment or changes one
// fragment's deletes writes the root and the segments that changed, not the whole list; it
// reads back equal, refuses a damaged segment, and vacuum keeps what a version reaches.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { layout, readManifest, SEGMENT_ENTRIES, writeManifest, type FragmentMeta, type Manifest } from '../../src/format/index.js';
import * as quiver from '../../src/index.js';
import { CountingStore, LocalStore, MemoryStore } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';

const fragment = (i: number): FragmentMeta => ({ id: `f${i}`, key: `data/f${i}.scalar.parquet`, rows: 100, bytes: 4000 + i, rowIdMin: String(i * 100), rowIdMax: String(i * 100 + 99), crc32: i });
const manifestOf = (n: number): Manifest => ({
  schema: [{ name: 'prompt', type: { kind: 'text' }, nullable: true }] as Manifest['schema'],
  fragments: Array.from({ length: n }, (_, i) => fragment(i)),
  groups: { image: Array.from({ length: n }, (_, i) => ({ key: `data/f${i}.image.parquet`, rows: 100, bytes: 9000, rowIdMin: String(i * 100), rowIdMax: String(i * 100 + 99) })) },
  indexes: [],
});
const written = (s: CountingStore, prefix: string) => [...s.keysWritten].filter(([k]) => k.startsWith(prefix));
const envelopeFormat = async (s: MemoryStore, key: string) => JSON.parse(new TextDecoder().decode(await s.get(key))).quiver as number;
const strip = (m: Manifest) => ({ ...m, nonce: undefined });

describe('segmented manifests', () => {
  it('writes a long manifest as a root and segments, and a one-fragment commit writes only what changed', async () => {
    const mem = new MemoryStore();
    const store = new CountingStore(mem);
    const n = SEGMENT_ENTRIES * 4 + 10;
    const m1 = manifestOf(n);
    const id1 = await writeManifest(store, m1);
    assert.equal(written(store, 'meta/manifests/segments/').length, 10, '5 segments for the fragments, 5 for the image files');
    assert.equal(await envelopeFormat(mem, layout.manifest(id1)), 2, 'a segmented root is format 2, refused by format-1 readers');
    assert.ok((written(store, layout.manifest(id1))[0]![1]) < 4_000, 'the root holds segment ids, not entries');
    assert.deepEqual(strip(await readManifest(new CountingStore(mem), id1)), strip(m1));

    // The next version: one fragment's deletes changed (in the second segment), one fragment and its image file appended.
    const fragments = [...m1.fragments];
    fragments[SEGMENT_ENTRIES + 3] = { ...fragments[SEGMENT_ENTRIES + 3]!, deletes: { key: 'data/x.deletes-1.parquet', count: 1 } };
    fragments.push(fragment(n));
    const m2: Manifest = { ...m1, fragments, groups: { image: [...m1.groups.image!, { key: `data/f${n}.image.parquet`, rows: 100, bytes: 9000, rowIdMin: String(n * 100), rowIdMax: String(n * 100 + 99) }] } };
    store.reset();
    const id2 = await writeManifest(store, m2);
    const segs = written(store, 'meta/manifests/segments/');
    assert.equal(segs.length, 3, 'the changed fragment segment, the last fragment segment and the last image segment');
    const bytes = [...store.keysWritten.values()].reduce((a, b) => a + b, 0);
    store.reset();
    await writeManifest(store, manifestOf(SEGMENT_ENTRIES * 40));
    const whole = [...store.keysWritten.values()].reduce((a, b) => a + b, 0);
    assert.ok(bytes * 8 < whole, `a one-fragment commit wrote ${bytes} B; a whole manifest of 10x the list is ${whole} B`);
    // Read by a fresh process's view (nothing cached): the same manifest.
    assert.deepEqual(strip(await readManifest(new CountingStore(mem), id2)), strip(m2));

    // A small manifest stays one format-1 object.
    const small = await writeManifest(store, manifestOf(3));
    assert.equal(await envelopeFormat(mem, layout.manifest(small)), 1);
  });

  it('refuses a root whose segment is missing or damaged, naming it', async () => {
    const mem = new MemoryStore();
    const id = await writeManifest(mem, manifestOf(SEGMENT_ENTRIES + 1));
    // A copy under another URL: nothing of it is cached, as in a fresh process.
    const copy = new MemoryStore();
    const segKeys: string[] = [];
    for await (const o of mem.list('')) {
      await copy.put(o.key, await mem.get(o.key));
      if (o.key.startsWith('meta/manifests/segments/')) segKeys.push(o.key);
    }
    assert.equal(segKeys.length, 4, '2 for the fragments, 2 for the image files');
    const damaged = new Uint8Array(await mem.get(segKeys[0]!));
    damaged[damaged.length - 5] ^= 1;
    await copy.put(segKeys[0]!, damaged);
    await assert.rejects(readManifest(copy, id), (e: unknown) => quiver.isQuiverError(e, 'corrupt') && (e as Error).message.includes(segKeys[0]!));
    await copy.delete(segKeys[0]!);
    await assert.rejects(readManifest(copy, id), (e: unknown) => quiver.isQuiverError(e, 'not_found'));
  });

  it('a dataset past SEGMENT_ENTRIES fragments commits, reopens, vacuums and verifies with segments', async () => {
    const url = join(tempDir(), 'gen');
    const n = SEGMENT_ENTRIES + 40;
    const segmentsNow = async () => {
      const out = new Set<string>();
      for await (const o of new LocalStore(url).list('meta/manifests/segments/')) out.add(o.key);
      return out;
    };
    const ds = await quiver.create(url, { schema: { k: 'int64', prompt: 'text' }, write: { autoCompact: false, fragmentRowsMax: 1 } });
    // fragmentRowsMax 1 flushes each append call as its own fragment.
    for (let i = 0; i < n; i++) await ds.append({ k: i, prompt: `p${i}` });
    await ds.commit('one fragment per row');
    await ds.append([{ k: n, prompt: 'late' }]);
    await ds.commit('one more');
    await ds.update({ where: 'k = 3', set: { prompt: 'changed' } });
    await ds.commit('one update');
    const onMain = await segmentsNow();
    assert.ok(onMain.size >= 4, `segments written: ${onMain.size}`);
    // A branch's commit adds segments of its own; once the branch is gone, vacuum removes them and keeps main's.
    const side = await ds.branch('side');
    await side.append([{ k: -1, prompt: 'side' }]);
    await side.commit('side row');
    await side.close();
    assert.ok((await segmentsNow()).size > onMain.size);
    await ds.deleteBranch('side');
    await ds.vacuum({ olderThan: 0 });
    assert.deepEqual(await segmentsNow(), onMain);
    await ds.close();

    const again = await quiver.open(url);
    assert.deepEqual(await again.query('select count(*)::int as n, max(k)::int as top from dataset'), [{ n: n + 1, top: n }]);
    assert.deepEqual(await again.query('select prompt from dataset where k = 3'), [{ prompt: 'changed' }]);
    await again.close();
    const v = await quiver.verify(url);
    assert.equal(v.ok, true, JSON.stringify(v.problems.slice(0, 3)));
  });
});
