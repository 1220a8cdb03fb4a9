// Re-runnable curation: a curated branch brought up to date with main keeps the same rule:
// main's new and changed rows pass through the branch's curate predicate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { MemoryStore } from '../../../src/storage/index.js';
import { isQuiverError } from '../../../src/errors.js';

const prompts = async (ds: quiver.Dataset) => (await ds.query('select prompt from dataset order by prompt')).map((r) => r.prompt);

describe('Dataset.sync', () => {
  it("passes main's new and changed rows through the branch's curate predicate", async () => {
    const main = await quiver.create(new MemoryStore(), { schema: { prompt: 'text', rating: 'int', unsafe: 'bool' } });
    await main.append([
      { prompt: 'good', rating: 5, unsafe: false },
      { prompt: 'low', rating: 1, unsafe: false },
      { prompt: 'fixed-later', rating: 2, unsafe: false },
      { prompt: 'spoiled-later', rating: 5, unsafe: false },
    ]);
    await main.commit('seed');
    const ft = await main.branch('ft-v12');
    const c = await ft.curate('rating >= $1 and not unsafe', 'curated', [4]);
    assert.deepEqual(c.meta, { curate: 'rating >= $1 and not unsafe', curateParams: [4] });
    assert.deepEqual(await prompts(ft), ['good', 'spoiled-later']);

    await main.append([{ prompt: 'new-good', rating: 4, unsafe: false }, { prompt: 'new-unsafe', rating: 5, unsafe: true }]);
    await main.update({ where: "prompt = 'fixed-later'", set: { rating: 5 } });
    await main.update({ where: "prompt = 'spoiled-later'", set: { unsafe: true } });
    await main.commit('today');

    const r = await ft.sync('main');
    assert.equal(r.merge.kind, 'merge');
    assert.equal(r.rejected, 2);
    assert.deepEqual(await prompts(ft), ['fixed-later', 'good', 'new-good']);
    assert.equal(r.curate!.meta!.sync, 'main');
    assert.equal((await ft.sync('main')).merge.kind, 'up-to-date');
    await ft.close();
    await main.close();
  });

  it('refuses a branch that was never curated', async () => {
    const main = await quiver.create(new MemoryStore(), { schema: { prompt: 'text' } });
    const b = await main.branch('plain');
    await assert.rejects(b.sync('main'), (e) => isQuiverError(e, 'invalid_input'));
    await b.close();
    await main.close();
  });
});
