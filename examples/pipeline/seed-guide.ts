// The seed guide ("SQL Multimodal Pipeline") in TypeScript: select candidate rows with SQL,
// load bytes with a task UDF, classify with an actor UDF, return to SQL, write Parquet.
// Usage: npx tsx examples/pipeline/seed-guide.ts [workdir] [redis-url]   (makes sample media if absent)
// With a Redis URL the same SQL and UDFs run on a bullmq cluster: start workers first with
// `node bin/quiver.mjs worker --redis redis-url`. The tests run this file both ways, so it cannot rot.

import { existsSync } from 'node:fs';
import { connect, configure } from '../../src/pipeline/index.js';
import { makeMedia } from './make-media.js';
import { ImageClassifier } from './udfs/image-classifier.js';
import { loadImageBytes } from './udfs/load-image-bytes.js';

const workdir = process.argv[2] ?? 'seed-guide-work';
const redis = process.argv[3];
if (!existsSync(`${workdir}/data/media_index`)) await makeMedia(workdir, 40);
process.chdir(workdir);

// The one setting that moves the UDF stages to a cluster; the backends below name where each runs.
configure({ runner: redis ? { kind: 'bullmq', connection: redis } : 'local' });
const con = await connect();

// 1. Start with metadata in SQL: filters run in DuckDB before any UDF sees a row.
const items = con.sql(`
  select id, path, media_type from read_parquet('data/media_index/*.parquet')
  where media_type in ('image/png', 'image/jpeg') and path is not null`);

// 2. Add bytes: a function exported by its own module, run in child processes.
const withBytes = items.mapBatches(loadImageBytes, {
  schema: { id: 'BIGINT', path: 'VARCHAR', media_type: 'VARCHAR', image_bytes: 'BLOB' },
  batchSize: 32,
  backend: redis ? 'cluster_task' : 'subprocess_task',
});

// 3. Run the model step: a class constructed once per actor process.
const classified = withBytes.mapBatches(ImageClassifier, {
  schema: { id: 'BIGINT', path: 'VARCHAR', media_type: 'VARCHAR', label: 'VARCHAR', score: 'DOUBLE' },
  batchSize: 16,
  backend: redis ? 'cluster_actor' : 'subprocess_actor',
  concurrency: 2,
});

// 4. Return to SQL.
await classified.toTable('classified_media');
await con.sql(`
  select label, count(*) as rows, avg(score) as avg_score
  from classified_media group by label order by rows desc`).show();

// 5. Write only the columns downstream systems need.
await con.sql('select id, path, media_type, label, score from classified_media').writeParquet('output/classified_media/', { overwrite: true });
console.log('wrote output/classified_media/');
await con.close();
