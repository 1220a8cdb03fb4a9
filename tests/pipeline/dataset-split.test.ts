// splitDatasetSource: which dataset sources split by fragment, that the pieces read in order give
// exactly the source's rows, and that `since` leaves out fragments the old version already had.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { create } from '../../src/dataset/index.js';
import { countPieces, pieceCountSql, pieceSql, splitDatasetSource, type DatasetPiece } from '../../src/pipeline/dataset-split.js';
import { QuiverDatasets } from '../../src/pipeline/datasets/quiver-datasets.js';
import { sourceSql } from '../../src/pipeline/source.js';
import type { SourcePlan } from '../../src/pipeline/plan.js';
import { Engine, type Session } from '../../src/query/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('splitDatasetSource', () => {
  const url = `${tempDir()}/ds`;
  const datasets = new QuiverDatasets();
  let engine: Engine;
  let s: Session;
  let base = '';
  const query = async (sql: string) => (await s.all(sql)).rows;
  const bound = (sql: string, since?: string): SourcePlan => ({ kind: 'sql', sql, datasets: { ds: { url } }, ...(since ? { since } : {}) });

  before(async () => {
    engine = await Engine.create({ threads: 2 });
    s = await engine.session();
    const ds = await create(url, { schema: { x: 'int64', tag: 'text' }, write: { fragmentRowsMax: 10, autoCompact: false } });
    // Three fragments of 10 rows (a commit each), deletes in two of them.
    for (const from of [0, 10, 20]) {
      await ds.append(Array.from({ length: 10 }, (_, i) => ({ x: BigInt(from + i), tag: `t${(from + i) % 3}` })));
      await ds.commit(`rows from ${from}`);
    }
    await ds.delete({ where: 'x % 4 = 1 and (x < 10 or x >= 20)' });
    base = (await ds.commit('base')).id;
    await ds.append(Array.from({ length: 15 }, (_, i) => ({ x: BigInt(30 + i), tag: `t${i % 3}` })));
    await ds.update({ where: 'x = 2', set: { tag: 'moved' } });
    await ds.commit('more');
    await ds.close();
  });
  after(async () => {
    await datasets.close();
    s.close();
    engine.close();
  });

  /** The rows of a source read whole, and read piece after piece. */
  const both = async (src: SourcePlan) => {
    const split = await splitDatasetSource(src, datasets, query);
    assert.ok(split, JSON.stringify(src));
    const pieces: string[] = [];
    for (const p of split.pieces) pieces.push(...(await query(await pieceSql(p, datasets))).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))));
    const whole = (await query(await sourceSql(src, datasets))).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    return { split, pieces, whole };
  };

  it('splits a row-wise SELECT over the bound dataset into one piece per fragment giving its rows', async () => {
    const { split, pieces, whole } = await both(bound('select x * 2 as y, upper(tag) as t from DS where x % 3 <> 0'));
    assert.deepEqual(split.pieces.map((p) => p.dataset.fragment), (await datasets.splitScans({ url })).map((f) => f.fragment), 'one piece per fragment, in manifest order');
    assert.ok(split.pieces.length > 1);
    assert.equal(split.filtered, true);
    assert.deepEqual([...pieces].sort(), [...whole].sort());
    const live = Array.from({ length: 45 }, (_, x) => x).filter((x) => !(x % 4 === 1 && (x < 10 || (x >= 20 && x < 30))));
    assert.equal(pieces.length, live.filter((x) => x % 3 !== 0).length);
  });

  it('counts each piece only when a WHERE or since filters it', async () => {
    const unfiltered = (await splitDatasetSource(bound('select x from ds'), datasets, query))!;
    assert.equal(unfiltered.filtered, false);
    let counted = 0;
    const count = async (p: DatasetPiece) => (counted++, Number((await query(await pieceCountSql(p, datasets)))[0].n));
    assert.deepEqual(await countPieces(unfiltered, count), unfiltered.pieces.map((p) => p.dataset.rows));
    assert.equal(counted, 0, 'the manifest gives unfiltered counts');
    const filtered = (await splitDatasetSource(bound('select x from ds where x >= 40'), datasets, query))!;
    assert.equal((await countPieces(filtered, count)).reduce((a, b) => a + b, 0), 5);
    assert.equal(counted, filtered.pieces.length);
  });

  it('gives with since only the fragments written after the version, and in them only the added rows', async () => {
    const { split, pieces, whole } = await both({ kind: 'dataset', dataset: { url }, since: base });
    const all = (await datasets.splitScans({ url })).length;
    assert.equal(all, 5);
    assert.equal(split.pieces.length, 3, `${split.pieces.length} of ${all} fragments: the two the base version has unchanged left out (the first's deletes changed with the update)`);
    assert.ok(split.pieces.every((p) => p.dataset.since === base));
    assert.deepEqual(pieces, whole);
    assert.deepEqual(pieces.map((r) => Number(JSON.parse(r).x)).sort((a, b) => a - b), Array.from({ length: 15 }, (_, i) => 30 + i), 'the moved row x = 2 is not added');
  });

  it('keeps whole any SELECT that mixes rows, reads another table or binds two datasets', async () => {
    const kept: SourcePlan[] = [
      bound('select count(*) from ds'),
      bound('select tag, sum(x) from ds group by tag'),
      bound('select x from ds order by x'),
      bound('select x from ds limit 3'),
      bound('select distinct tag from ds'),
      bound('select x, row_number() over () as n from ds'),
      bound('select a.x from ds a join ds b using (x)'),
      bound('select x from ds where x in (select max(x) from ds)'),
      bound('with t as (select * from ds) select x from t'),
      bound('select range from range(3)'),
      bound('select x from main.ds'),
      { kind: 'sql', sql: 'select x from ds', datasets: { ds: { url }, other: { url } } },
    ];
    for (const src of kept) assert.equal(await splitDatasetSource(src, datasets, query), undefined, JSON.stringify(src));
  });
});
