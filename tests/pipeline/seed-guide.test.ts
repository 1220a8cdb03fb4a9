// Runs examples/pipeline/seed-guide.ts as a user would (its own process, under tsx) so the
// example cannot rot, then checks its Parquet output against the media it was given.

import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/pipeline/index.js';
import { makeMedia } from '../../examples/pipeline/make-media.js';
import { loadImageBytes } from '../../examples/pipeline/udfs/load-image-bytes.js';
import { ImageClassifier } from '../../examples/pipeline/udfs/image-classifier.js';

describe('examples/pipeline/seed-guide.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-seed-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('classifies every PNG and JPEG, prints the summary and writes the curated Parquet', async () => {
    const media = await makeMedia(dir, 20);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/pipeline/seed-guide.ts', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /│ invoice │ 20 +│ 1 +│/);
    assert.match(r.stdout, /│ other +│ 1 +│ 0 +│/);
    assert.deepEqual(readdirSync(join(dir, 'output', 'classified_media')), ['part-00000.parquet']);
    const con = await connect({ terminal: 'off' });
    try {
      const rows = await con.sql(`select id, media_type, label, score from read_parquet('${dir}/output/classified_media/*.parquet') order by id`).rows();
      const images = media.filter((m) => m.path !== null && m.media_type.startsWith('image/'));
      assert.deepEqual(rows.map((x) => Number(x.id)), images.map((m) => m.id));
      assert.ok(rows.slice(0, 20).every((x) => x.label === 'invoice' && x.score === 1));
      assert.deepEqual([rows[20].label, rows[20].score], ['other', 0], 'the missing file is labelled other');
    } finally {
      await con.close();
    }
  });

  it('labels a row with a NULL path other when the SQL lets it through, instead of failing', async () => {
    const media = await makeMedia(join(dir, 'nulls'), 2);
    const con = await connect({ terminal: 'off' });
    try {
      const values = media.map((m) => `(${m.id}, ${m.path === null ? 'null' : `'${m.path}'`}, '${m.media_type}')`).join(', ');
      const rows = await con.sql(`select * from (values ${values}) t(id, path, media_type) where media_type like 'image/%'`)
        .mapBatches(loadImageBytes, { schema: { id: 'INTEGER', path: 'VARCHAR', media_type: 'VARCHAR', image_bytes: 'BLOB' } })
        .mapBatches(ImageClassifier, { schema: { id: 'INTEGER', path: 'VARCHAR', media_type: 'VARCHAR', label: 'VARCHAR', score: 'DOUBLE' } })
        .rows();
      const nullPath = rows.find((r) => r.path === null);
      assert.deepEqual([nullPath?.label, nullPath?.score], ['other', 0]);
      assert.equal(rows.filter((r) => r.label === 'invoice').length, 2);
    } finally {
      await con.close();
    }
  });
});
