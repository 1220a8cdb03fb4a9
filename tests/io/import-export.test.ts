// Import and export (src/io): every format both ways with a round trip, the metadata join of an
// image folder, bad files under both policies, schema mismatches naming column and file, a
// failed import resumed with each row committed once, export of a tag, shard cuts.
import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { create, exportVersion, importFiles, open, isQuiverError, type ExportFormat } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { contents, datasetWith, records } from './fixtures.js';

const DEST: Record<ExportFormat, string> = { parquet: 'out.parquet', jsonl: 'out.jsonl', webdataset: 'shards', images: 'photos' };

describe('exportVersion and importFiles', () => {
  for (const to of ['parquet', 'jsonl', 'webdataset', 'images'] as ExportFormat[]) {
    it(`round-trips every column through ${to}`, async () => {
      const dir = tempDir();
      const src = join(dir, 'src');
      await (await datasetWith(src, await records(12))).close();
      const dest = join(dir, DEST[to]);
      const out = await exportVersion(src, dest, { to, shardRows: 5 });
      assert.equal(out.rows, 12);
      const back = join(dir, 'back');
      await (await datasetWith(back, [])).close();
      const report = await importFiles(back, dest, { ...(to === 'images' ? { metadata: join(dest, 'metadata.jsonl') } : {}), commitRows: 5 });
      assert.equal(report.rows, 12);
      assert.deepEqual(report.skipped, []);
      assert.deepEqual(await contents(back), await contents(src));
    });
  }

  it('infers a new dataset schema from the source (images and their metadata, WebDataset fields)', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    await (await datasetWith(src, await records(4))).close();
    await exportVersion(src, join(dir, 'shards'), { to: 'webdataset' });
    await importFiles(join(dir, 'wds'), join(dir, 'shards'));
    const ds = await open(join(dir, 'wds'));
    assert.deepEqual(Object.fromEntries(ds.schema.map((c) => [c.name, c.type.kind])), { image: 'image', prompt: 'text', rating: 'int64', emb: 'embedding', meta: 'json' });
    assert.equal(ds.rowCount, 4);
    await ds.close();
  });

  it('imports a Parquet BLOB column declared image by schema as an image column, bytes unchanged', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    await (await datasetWith(src, await records(4))).close();
    await exportVersion(src, join(dir, 'rows.parquet'), { to: 'parquet' });
    const url = join(dir, 'declared');
    await importFiles(url, join(dir, 'rows.parquet'), { schema: { image: 'image', prompt: 'text', rating: 'int64?', emb: 'emb-4', meta: 'json?' } });
    const ds = await open(url);
    assert.equal(ds.schema.find((c) => c.name === 'image')?.type.kind, 'image');
    await ds.close();
    assert.deepEqual(await contents(url), await contents(src));
  });

  it('joins an image folder with a CSV metadata file by file name; an image without metadata gets nulls', async () => {
    const dir = tempDir();
    const photos = join(dir, 'photos');
    mkdirSync(join(photos, 'sub'), { recursive: true });
    const recs = await records(3);
    writeFileSync(join(photos, 'a.png'), recs[0].image as Uint8Array);
    writeFileSync(join(photos, 'sub', 'b.jpg'), recs[1].image as Uint8Array);
    writeFileSync(join(photos, 'c.png'), recs[2].image as Uint8Array);
    writeFileSync(join(dir, 'meta.csv'), 'file_name,prompt,rating\nsub/b.jpg,a bee,4\na.png,an ant,2\n');
    const url = join(dir, 'ds');
    const report = await importFiles(url, photos, { metadata: join(dir, 'meta.csv') });
    assert.equal(report.rows, 3);
    const ds = await open(url);
    const rows = await ds.query('select file_name, prompt, rating, image_format from dataset order by file_name');
    assert.deepEqual(rows.map((r) => [r.file_name, r.prompt, r.rating, r.image_format]), [['a.png', 'an ant', 2n], ['c.png', null, null], ['sub/b.jpg', 'a bee', 4n]].map((r, i) => [...r, ['png', 'png', 'jpeg'][i]]));
    await ds.close();
  });

  it('fails on a bad image naming its path and commits nothing, or skips and reports it', async () => {
    const dir = tempDir();
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    const recs = await records(3);
    for (const [i, r] of recs.entries()) writeFileSync(join(photos, `${i}.png`), r.image as Uint8Array);
    writeFileSync(join(photos, '1b.jpg'), Buffer.from('\xff\xd8 but not a jpeg', 'latin1'));
    const url = join(dir, 'ds');
    await (await create(url, { schema: { image: 'image', file_name: 'text' } })).close();
    await assert.rejects(importFiles(url, photos, { commitRows: 100 }), (e) => isQuiverError(e, 'schema_mismatch') && /1b\.jpg/.test(e.message) && e.details.path === '1b.jpg');
    const ds = await open(url);
    assert.equal(ds.rowCount, 0);
    assert.equal((await ds.versions()).length, 1);
    await ds.close();
    const report = await importFiles(url, photos, { onError: 'skip' });
    assert.equal(report.rows, 3);
    assert.deepEqual(report.skipped.map((s) => s.at), ['1b.jpg']);
    assert.match(report.skipped[0].reason, /expects PNG, JPEG, WebP or GIF bytes/);
  });

  it('refuses a file whose column the dataset lacks, a value that does not fit, or a --schema unlike the dataset\'s, naming column and file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rows.csv'), 'prompt,colour\nx,red\n');
    const url = join(dir, 'ds');
    await (await datasetWith(url, [])).close();
    await assert.rejects(importFiles(url, join(dir, 'rows.csv')), (e) => isQuiverError(e, 'schema_mismatch') && e.details.column === 'colour' && e.details.path === 'rows.csv' && /column "colour" of rows\.csv/.test(e.message));
    await assert.rejects(importFiles(url, join(dir, 'rows.csv'), { schema: { prompt: 'text', colour: 'text' } }), (e) => isQuiverError(e, 'schema_mismatch') && /column "colour" is absent in the dataset, text in the schema given/.test(e.message));
    writeFileSync(join(dir, 'rows.jsonl'), '{"prompt":"x","rating":"five"}\n');
    await assert.rejects(importFiles(url, join(dir, 'rows.jsonl')), (e) => isQuiverError(e, 'schema_mismatch') && e.details.column === 'rating' && /rows\.jsonl:1/.test(e.message));
  });

  it('resumes a failed import after its last commit, committing every row exactly once', async () => {
    const dir = tempDir();
    const url = join(dir, 'ds');
    const file = join(dir, 'rows.jsonl');
    const line = (i: number) => JSON.stringify({ prompt: `p${i}`, rating: i, emb: [i, 0, 0, 0] });
    const lines = Array.from({ length: 11 }, (_, i) => line(i));
    lines[7] = '{"prompt": broken';
    writeFileSync(file, lines.join('\n'));
    const schema = { prompt: 'text', rating: 'int64?', emb: 'emb-4' };
    await (await create(url, { schema })).close();
    await assert.rejects(importFiles(url, file, { commitRows: 3 }), /rows\.jsonl:8: not JSON/);
    let ds = await open(url);
    assert.equal(ds.rowCount, 6, 'two commits of three rows before the bad line');
    await ds.close();
    lines[7] = line(7);
    writeFileSync(file, lines.join('\n'));
    const report = await importFiles(url, file, { commitRows: 3 });
    assert.deepEqual(report.resumedFrom, { file: 'rows.jsonl', items: 6, fileDone: false });
    assert.equal(report.rows, 5);
    ds = await open(url);
    const got = (await ds.query('select rating from dataset order by rating')).map((r) => Number(r.rating));
    assert.deepEqual(got, Array.from({ length: 11 }, (_, i) => i));
    await ds.close();
    assert.equal((await importFiles(url, file)).alreadyDone, true);
  });

  it('marks its last commit done when the rows are an exact multiple of commitRows', async () => {
    const dir = tempDir();
    const url = join(dir, 'ds');
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `p${i}` })).join('\n'));
    const first = await importFiles(url, file, { commitRows: 3 });
    assert.equal(first.commits.length, 2);
    const again = await importFiles(url, file, { commitRows: 3 });
    assert.equal(again.alreadyDone, true);
    assert.equal(again.rowsTotal, 6);
    const ds = await open(url);
    assert.equal(ds.rowCount, 6);
    await ds.close();
  });

  it('exports the version a tag names, not the branch head', async () => {
    const dir = tempDir();
    const url = join(dir, 'ds');
    const recs = await records(6);
    const ds = await datasetWith(url, recs.slice(0, 4));
    await ds.tag('v1');
    await ds.append(recs.slice(4));
    await ds.commit('more');
    await ds.close();
    const out = await exportVersion(`${url}@v1`, join(dir, 'v1.jsonl'), { to: 'jsonl' });
    assert.equal(out.rows, 4);
    const prompts = readFileSync(join(dir, 'v1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).prompt);
    assert.deepEqual(prompts, ['prompt 0', 'prompt 1', 'prompt 2', 'prompt 3']);
    await assert.rejects(exportVersion(`${url}@nope`, join(dir, 'x.jsonl'), { to: 'jsonl' }), (e) => isQuiverError(e, 'not_found') && /no branch, tag or version "nope"/.test(e.message));
  });

  it('cuts WebDataset shards at shardRows and at shardBytes, keyed by row id', async () => {
    const dir = tempDir();
    const url = join(dir, 'ds');
    await (await datasetWith(url, await records(7))).close();
    const byRows = await exportVersion(url, join(dir, 'a'), { to: 'webdataset', shardRows: 3 });
    assert.deepEqual(byRows.files, ['shard-000000.tar', 'shard-000001.tar', 'shard-000002.tar']);
    const byBytes = await exportVersion(url, join(dir, 'b'), { to: 'webdataset', shardBytes: 4096 });
    assert.ok(byBytes.files.length >= 3, `${byBytes.files.length} shards`);
    for (const f of byBytes.files) assert.ok(readFileSync(join(dir, 'b', f)).length <= 4096 + 1024 * 2, f);
    const names = readdirSync(join(dir, 'a'));
    assert.equal(names.length, 3);
  });
});
