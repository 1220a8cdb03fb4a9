// A coordinator in a process of its own, for tests that kill it mid-run: it runs the held
// pipeline (cluster-udfs holdThenDouble) on the bullmq runner and prints "started" first.
// argv: redis URL, key prefix, run store URL, announcementTtlMs. Every batch is stored (none
// inline), so a killed coordinator leaves stored batches for the sweeper.

import { connect, configure } from '../../../../src/pipeline/index.js';

const [redis, prefix, store, ttl] = process.argv.slice(2);
configure({ runner: { kind: 'bullmq', connection: redis, prefix, store, watchIntervalMs: 100, announcementTtlMs: Number(ttl), inlineBytesMax: 0 }, progress: 'off' });
const con = await connect({ terminal: 'off' });
console.log('started');
await con.sql('select range as x from range(400)')
  .mapBatches({ module: new URL('../../fixtures/cluster-udfs.ts', import.meta.url).href, export: 'holdThenDouble' }, { schema: { x: 'BIGINT', y: 'BIGINT' }, batchSize: 20, backend: 'cluster_task', concurrency: 2 })
  .toArrow();
await con.close();
