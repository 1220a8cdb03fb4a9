// The merge plan of an update written by other processes (row-merge.ts): which files the tasks
// write, from manifests and row-id ranges alone, the check that every row was matched, and the
// commit-time op refusing files another commit changed. The cluster run itself is tested in
// tests/pipeline/runner/bullmq/bullmq-update-dataset.test.ts.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkRowMerge, create, planRowMerge, rowMergeOp, RowMergeWriter, type Dataset, type RowMergeChange } from '../../src/dataset/index.js';
import { isQuiverError } from '../../src/errors.js';
import type { Manifest } from '../../src/format/index.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-row-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 40 rows in three fragments (row ids 0..15, 16..31, 32..39), a binary column in its own files, and row 3 deleted. */
async function dataset(name: string): Promise<Dataset> {
  const ds = await create(join(dir, name), { schema: { x: 'int64', tag: 'text', blob: 'binary' }, write: { fragmentRowsMax: 16, autoCompact: false } });
  for (const [from, n] of [[0, 16], [16, 16], [32, 8]]) {
    await ds.append(Array.from({ length: n }, (_, k) => ({ x: BigInt(from + k), tag: `t${from + k}`, blob: new Uint8Array(8).fill(from + k) })));
    await ds.commit(`rows from ${from}`);
  }
  await ds.delete({ where: 'x = 3' });
  await ds.commit('delete 3');
  return ds;
}

const manifestOf = (ds: Dataset) => ds.withVersionBase(async (_ctx, m) => m);

describe('row merge', () => {
  it('plans one task per fragment and per file of each large column set that a piece\'s row-id range meets', async () => {
    const ds = await dataset('plan');
    try {
      const m = await manifestOf(ds);
      assert.equal(m.fragments.length, 3);
      const pieces = [{ rows: 4, rowIdMin: '0', rowIdMax: '5' }, { rows: 2, rowIdMin: '20', rowIdMax: '21' }];
      const small = planRowMerge(m, pieces, ['tag']);
      assert.deepEqual(small.map((t) => [t.target, t.pieces]), [[{ fragment: m.fragments[0].id }, [0]], [{ fragment: m.fragments[1].id }, [1]]]);
      const large = planRowMerge(m, pieces, ['blob']);
      assert.deepEqual(large.filter((t) => 'column' in t.target).map((t) => t.target), [{ column: 'blob', file: m.groups.blob[0].key }, { column: 'blob', file: m.groups.blob[1].key }]);
      assert.throws(() => planRowMerge(m, pieces, ['nope']), (e) => isQuiverError(e, 'schema_mismatch'));
    } finally {
      await ds.close();
    }
  });

  it('fails with not_found when a row id matches no live row, and commits what the tasks wrote once', async () => {
    const ds = await dataset('run');
    try {
      const m = await manifestOf(ds);
      const rows = [[{ row_id: 2n, tag: 'two', blob: new Uint8Array([2]) }, { row_id: 17n, tag: 'seventeen', blob: new Uint8Array([17]) }], [{ row_id: 3n, tag: 'deleted', blob: new Uint8Array([3]) }]];
      const pieces = rows.map((r) => ({ rows: r.length, rowIdMin: String(r[0].row_id), rowIdMax: String(r.at(-1)!.row_id) }));
      const tasks = planRowMerge(m, pieces, ['tag', 'blob']);
      const writer = new RowMergeWriter(ds);
      const changes: RowMergeChange[] = [];
      for (const t of tasks) changes.push(await writer.merge(t, t.pieces.map((i) => rows[i])));
      assert.throws(() => checkRowMerge(m, pieces, ['tag', 'blob'], changes), (e) => isQuiverError(e, 'not_found') && /1 row id/.test((e as Error).message));
      // Without the deleted row: every row matched once, and the op gives update({ rows })'s values.
      const ok = [rows[0]];
      const okPieces = [pieces[0]];
      const okChanges: RowMergeChange[] = [];
      for (const t of planRowMerge(m, okPieces, ['tag', 'blob'])) okChanges.push(await writer.merge(t, t.pieces.map((i) => ok[i])));
      checkRowMerge(m, okPieces, ['tag', 'blob'], okChanges);
      await ds.stageChange(rowMergeOp(okChanges));
      await ds.commit('merged');
      await writer.release();
      const got = await ds.query('select row_id, tag, blob from dataset where row_id in (2, 17) order by row_id');
      assert.deepEqual(got.map((r) => [r.row_id, r.tag, [...(r.blob as Uint8Array)]]), [[2n, 'two', [2]], [17n, 'seventeen', [17]]]);
      assert.equal((await ds.query('select count(*)::int as n from dataset'))[0].n, 39);
    } finally {
      await ds.close();
    }
  });

  it('refuses at commit a fragment whose deletes, or a file that, another commit changed since the plan', async () => {
    const ds = await dataset('conflict');
    try {
      const m: Manifest = await manifestOf(ds);
      const f = m.fragments[0];
      const change: RowMergeChange = {
        target: { fragment: f.id }, matched: 1, filled: {}, rowsUpdated: 1, addFragments: [], groups: [], bytes: 0,
        deletes: { fragment: f.id, from: 'data/not-the-current-deletes.parquet', to: { key: 'data/x.parquet', count: 1, crc32: 0 } },
      };
      assert.throws(() => rowMergeOp([change])(m), (e) => isQuiverError(e, 'conflict'));
      const file: RowMergeChange = { ...change, deletes: undefined, groups: [{ column: 'blob', remove: ['data/gone.blob.parquet'], add: [] }] };
      assert.throws(() => rowMergeOp([file])(m), (e) => isQuiverError(e, 'conflict'));
    } finally {
      await ds.close();
    }
  });
});
