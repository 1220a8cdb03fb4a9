// The one `url@ref` parser and resolution rule (src/io/address.ts) that every CLI command and
// io's export use: the split at the last `@` after the last `/`, and a name resolved as a branch,
// else a tag, else a commit id, on a real folder dataset whose names collide on purpose.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { openAddress, parseAddress, resolveAt, withDataset } from '../../src/io/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('dataset addresses', () => {
  it('splits url@ref at the last @ after the last slash only', () => {
    assert.deepEqual(parseAddress('./gen@ft-v12'), { url: './gen', at: 'ft-v12' });
    assert.deepEqual(parseAddress('s3://bucket/gen'), { url: 's3://bucket/gen' });
    assert.deepEqual(parseAddress('s3://bucket/user@x/gen'), { url: 's3://bucket/user@x/gen' });
    assert.deepEqual(parseAddress('./a@b/gen@release-3'), { url: './a@b/gen', at: 'release-3' });
    assert.throws(() => parseAddress('./gen@'), /url or url@branch\|tag\|version, got "\.\/gen@"/);
    assert.throws(() => parseAddress('@main'), /url or url@branch\|tag\|version, got "@main"/);
    assert.throws(() => parseAddress(''), /address is empty/);
  });

  it('resolves a name as a branch, else a tag, else a version', () => {
    assert.deepEqual(resolveAt('x', ['main', 'x'], ['x']), { branch: 'x' });
    assert.deepEqual(resolveAt('x', ['main'], ['x']), { tag: 'x' });
    assert.deepEqual(resolveAt('x', ['main'], ['y']), { version: 'x' });
  });

  it('opens branches, tags and versions; a name that is both a branch and a tag is the branch', async () => {
    const url = join(tempDir('quiver-address-'), 'ds');
    const ds = await quiver.create(url, { schema: { n: 'int' } });
    await ds.append([{ n: 1 }]);
    const v1 = await ds.commit('one');
    await ds.tag('both', { at: v1.id });
    // A tag spelled like a commit id (the second commit's), pointing at the first: the tag wins.
    await ds.append([{ n: 2 }]);
    const v2 = await ds.commit('two');
    await ds.tag(v2.id, { at: v1.id });
    const b = await ds.branch('both');
    await b.append([{ n: 3 }, { n: 4 }]);
    await b.commit('branch rows');
    await b.close();
    await ds.close();

    const count = (address: string) => withDataset(address, async (d) => ({ rows: Number((await d.query('select count(*) as n from dataset'))[0].n), writable: !d.readOnly }));
    assert.deepEqual(await count(url), { rows: 2, writable: true }, 'no @: the default branch head');
    assert.deepEqual(await count(`${url}@main`), { rows: 2, writable: true });
    assert.deepEqual(await count(`${url}@both`), { rows: 4, writable: true }, 'the branch, not the tag of the same name');
    assert.deepEqual(await count(`${url}@${v1.id}`), { rows: 1, writable: false }, 'a commit id');
    assert.deepEqual(await count(`${url}@${v2.id}`), { rows: 1, writable: false }, 'a tag named like a commit id is the tag');
    await assert.rejects(openAddress(`${url}@nope`), (e: quiver.QuiverError) => e.code === 'not_found' && /no branch, tag or version "nope"/.test(e.message) && e.details.at === 'nope');
    await assert.rejects(openAddress(`${url}@${'0'.repeat(32)}`), (e: quiver.QuiverError) => e.code === 'not_found' && /no branch, tag or version/.test(e.message));
    await assert.rejects(openAddress(`${join(url, 'missing')}@main`), (e: quiver.QuiverError) => e.code === 'not_found' && /no dataset at/.test(e.message));
  });
});
