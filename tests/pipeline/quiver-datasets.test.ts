// Pipelines over real Quiver datasets: read a version, write with lineage, read incrementally.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { connect, quiverTypeOf } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('QuiverDatasets', () => {
  it('maps SQL types to dataset column types', () => {
    assert.deepEqual(['BIGINT', 'VARCHAR', 'BLOB', 'DOUBLE', 'FLOAT[8]', 'VARCHAR[]'].map(quiverTypeOf), ['int64', 'text', 'binary', 'float64', 'emb-8', 'list<text>']);
  });

  it('reads a dataset, writes a new one with lineage in the commit, and reads only new rows with since', async () => {
    const dir = tempDir();
    const src = await quiver.create(`${dir}/gen`, { schema: { prompt: 'text', rating: 'int', emb: 'emb-2' } });
    await src.append([{ prompt: 'a', rating: 5, emb: [1, 0] }, { prompt: 'b', rating: 1, emb: [0, 1] }]);
    const v1 = await src.commit('first');
    await src.append({ prompt: 'c', rating: 4, emb: [1, 1] });
    await src.commit('second');

    const con = await connect();
    const all = await con.dataset(`${dir}/gen`).rows();
    assert.deepEqual(all.map((r) => r.prompt).sort(), ['a', 'b', 'c']);
    const fresh = await con.sql('select prompt from gen', { datasets: { gen: `${dir}/gen` }, since: v1.id }).rows();
    assert.deepEqual(fresh.map((r) => r.prompt), ['c']);

    const good = con.sql('select prompt, rating, emb from gen where rating >= 4', { datasets: { gen: `${dir}/gen` } });
    await good.writeDataset(`${dir}/curated`, { message: 'curated by pipeline' });
    const out = await quiver.open(`${dir}/curated`);
    assert.deepEqual((await out.query('select prompt, emb from dataset order by prompt')).map((r) => [r.prompt, Array.from(r.emb as Float32Array)]), [['a', [1, 0]], ['c', [1, 1]]]);
    const [last] = (await out.versions()).slice(-1);
    assert.equal(last.message, 'curated by pipeline');
    assert.match(JSON.stringify(last.meta), /rating >= 4/);
    await out.close();
    await src.close();
    await con.close();
  });

  it('reports the rows writeDataset committed, with and without stages', async () => {
    const dir = tempDir();
    const con = await connect({ terminal: 'off' });
    try {
      const plain = con.sql('select range::INTEGER as n from range(7)');
      const staged = plain.map((r: Record<string, unknown>) => ({ n: r.n }), { schema: { n: 'INTEGER' } });
      const reports = [await plain.writeDataset(`${dir}/plain`), await staged.writeDataset(`${dir}/staged`)];
      assert.deepEqual(reports.map((r) => r.report.rowsOut), [7, 7]);
      const ds = await quiver.open(`${dir}/staged`);
      assert.equal(ds.rowCount, 7);
      await ds.close();
    } finally {
      await con.close();
    }
  });
});
