// The dataset seam: without a provider, dataset sources and sinks fail with `unsupported`; with
// one (a small file-backed provider written here, standing in for src/dataset), a relation reads
// a dataset, `since` reads only new rows, and writeDataset commits once with the pipeline's lineage.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { configure, connect, type Connection, type DatasetLineage, type DatasetProvider } from '../../src/pipeline/index.js';
import { isQuiverError } from '../../src/errors.js';
import { Engine } from '../../src/query/index.js';
import { currentConfig } from '../../src/pipeline/config.js';
import { double, failOn6Mod7 } from './fixtures/udfs.js';

/** Versions are numbered from 1; each commit adds one Parquet file per append. */
function fileProvider(dir: string, engine: Engine): DatasetProvider & { commits: { message?: string; lineage: DatasetLineage }[] } {
  const files: { version: number; file: string }[] = [];
  const commits: { message?: string; lineage: DatasetLineage }[] = [];
  return {
    commits,
    async sqlFor(ref, { since }) {
      const upTo = typeof ref.version === 'number' ? ref.version : commits.length;
      const live = files.filter((f) => f.version <= upTo && f.version > Number(since ?? 0));
      if (live.length === 0) return 'select null::BIGINT as x, null::BIGINT as y where false';
      return `select * from read_parquet([${live.map((f) => `'${f.file}'`).join(', ')}])`;
    },
    async openSink(_url, { message, lineage }) {
      const staged: arrow.Table[] = [];
      return {
        append: async (b) => void staged.push(b),
        async commit() {
          const version = commits.length + 1;
          for (const [i, t] of staged.entries()) {
            const file = join(dir, `v${version}-${i}.parquet`);
            const s = await engine.session();
            try {
              await s.insertArrow(`stage_${version}_${i}`, t, { create: true, temp: true });
              await s.run(`copy stage_${version}_${i} to '${file}' (format parquet)`);
            } finally {
              s.close();
            }
            files.push({ version, file });
          }
          commits.push({ message, lineage });
          return { version };
        },
        abort: async () => void (staged.length = 0),
      };
    },
  };
}

describe('dataset seam', () => {
  let con: Connection;
  let engine: Engine;
  let dir: string;
  before(async () => {
    con = await connect({ terminal: 'off' });
    engine = await Engine.create();
    dir = mkdtempSync(join(tmpdir(), 'quiver-ds-'));
  });
  after(async () => {
    configure({ datasets: undefined });
    await con.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with unsupported when no dataset provider is configured', async () => {
    const saved = currentConfig().datasets;
    configure({ datasets: undefined });
    const runs = [() => con.dataset('file:///x').rows(), () => con.sql('select 1 as x').writeDataset('file:///x'), () => con.sql('select * from d', { datasets: { d: 'file:///x' } }).rows()];
    for (const run of runs) await assert.rejects(run(), (e) => isQuiverError(e, 'unsupported'));
    assert.throws(() => con.sql('select 1', { since: 3 }), /since needs the datasets/);
    configure({ datasets: saved });
  });

  it('commits pipeline output with its lineage, reads versions and only new rows since one', async () => {
    const provider = fileProvider(dir, engine);
    configure({ datasets: provider });
    const rel = con.sql('select range as x from range(4)').mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } });
    const first = await rel.writeDataset('file:///media', { message: 'first' });
    assert.equal(first.version, 1);
    assert.equal(provider.commits[0].message, 'first');
    assert.equal(provider.commits[0].lineage.stages[0].name, 'double');
    assert.deepEqual(provider.commits[0].lineage.source, { kind: 'sql', sql: 'select range as x from range(4)', datasets: {} });
    await con.sql('select range + 10 as x from range(2)').mapBatches(double, { schema: { x: 'BIGINT', y: 'BIGINT' } }).writeDataset('file:///media');
    assert.equal((await con.dataset('file:///media').rows()).length, 6);
    assert.equal((await con.dataset('file:///media', { version: 1 }).rows()).length, 4);
    const added = await con.sql('select x from media order by x', { datasets: { media: 'file:///media' }, since: 1 }).rows();
    assert.deepEqual(added.map((r) => Number(r.x)), [10, 11]);
  });

  it('commits nothing when the pipeline fails', async () => {
    const provider = fileProvider(dir, engine);
    configure({ datasets: provider });
    const failing = con.sql('select range as x from range(20)').mapBatches(failOn6Mod7, { schema: { x: 'BIGINT' }, batchSize: 5 });
    await assert.rejects(failing.writeDataset('file:///media'), (e) => isQuiverError(e, 'udf_failed'));
    assert.equal(provider.commits.length, 0);
  });
});
