// One resolution rule for names: a branch, else a tag, else a commit id — the same in
// Dataset.checkout / diff (resolveCommit) and in CLI addresses (openAddress), so a tag spelled
// like a commit id names the same version everywhere.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { openAddress } from '../../../src/io/address.js';
import { tempDir } from '../../helpers/tmp.js';

const count = async (ds: quiver.Dataset) => (await ds.query('select count(*)::int as n from dataset'))[0]!.n as number;

describe('resolving a branch, tag or commit id', () => {
  it('prefers a tag spelled like a commit id over that commit, in checkout, diff and addresses alike', async () => {
    const url = join(tempDir(), 'gen');
    const ds = await quiver.create(url, { schema: { prompt: 'text' } });
    try {
      await ds.append([{ prompt: 'a' }]);
      const v1 = await ds.commit('one row');
      await ds.append([{ prompt: 'b' }, { prompt: 'c' }]);
      const v2 = await ds.commit('three rows');
      // A tag whose name is v1's id but which points at v2.
      await ds.tag(v1.id, { at: v2.id });

      const viaCheckout = await ds.checkout(v1.id);
      assert.equal(await count(viaCheckout), 3, 'checkout(name) took the commit id before the tag');
      await viaCheckout.close();
      const viaAddress = await openAddress(`${url}@${v1.id}`);
      assert.equal(await count(viaAddress), 3);
      await viaAddress.close();
      const changed = [];
      for await (const r of (await ds.diff(v1.id, v2.id)).rows()) changed.push(r);
      assert.equal(changed.length, 0, 'diff resolved the tag, so both sides are v2');

      // A commit id that no ref shadows still resolves to its commit.
      const plain = await ds.checkout(v2.id);
      assert.equal(await count(plain), 3);
      await plain.close();
      await assert.rejects(ds.checkout('f'.repeat(32)), (e: unknown) => quiver.isQuiverError(e, 'not_found'));
      await assert.rejects(ds.checkout('no-such-name'), (e: unknown) => quiver.isQuiverError(e, 'not_found'));
    } finally {
      await ds.close();
    }
  });
});
