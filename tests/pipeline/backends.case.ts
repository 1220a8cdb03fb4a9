// The one conformance suite for UDF backends: every backend runs these same cases (hono's
// common.case.test.ts pattern). Each backend's test file calls `runBackendCases(name)`.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type BackendName, type Connection } from '../../src/pipeline/index.js';
import { isQuiverError } from '../../src/errors.js';
import { makeMedia } from '../../examples/pipeline/make-media.js';
import { ImageClassifier } from '../../examples/pipeline/udfs/image-classifier.js';
import { loadImageBytes } from '../../examples/pipeline/udfs/load-image-bytes.js';
import { blobInfo, Counter, CrashOnce, double, failOn6Mod7, flaky, parity, plusOneRecords, repeatMod3, slowIdentity, wrongColumn } from './fixtures/udfs.js';
import { ref } from './fixtures/here.js';

const X = { x: 'BIGINT' };
const XY = { x: 'BIGINT', y: 'BIGINT' };
const nums = (n: number) => `select range as x from range(${n})`;
const xs = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.x));

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Error & { details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isQuiverError(e), `expected a QuiverError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e as never;
  }
  assert.fail(`expected ${code}`);
}

export function runBackendCases(backend: BackendName): void {
  const local = backend === 'inline';
  describe(`backend ${backend}`, () => {
    let con: Connection;
    let dir: string;
    before(async () => {
      con = await connect({ terminal: 'off' });
      dir = mkdtempSync(join(tmpdir(), `quiver-${backend}-`));
    });
    after(async () => {
      await con.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('maps batches to the declared schema from an Arrow table', async () => {
      const rows = await con.sql(nums(50)).mapBatches(double, { schema: XY, batchSize: 8, backend }).rows();
      assert.deepEqual(rows.map((r) => [Number(r.x), Number(r.y)]), Array.from({ length: 50 }, (_, i) => [i, 2 * i]));
      assert.equal(typeof rows[0].y, 'bigint');
    });

    it('accepts records and coerces integral numbers to BIGINT', async () => {
      const rows = await con.sql(nums(10)).mapBatches(ref('plusOneRecords'), { schema: XY, batchSize: 4, backend }).rows();
      assert.deepEqual(rows.map((r) => r.y), Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
      assert.ok(plusOneRecords);
    });

    it('runs row-wise map and one-to-many flatMap', async () => {
      // Both stages in one pipeline: their workers start together.
      const rows = await con.sql(nums(6))
        .map(parity, { schema: { x: 'BIGINT', parity: 'VARCHAR' }, backend })
        .flatMap(repeatMod3, { schema: { x: 'BIGINT', k: 'INTEGER' }, batchSize: 4, backend })
        .rows();
      assert.deepEqual(rows.map((r) => `${r.x}.${r.k}`), ['1.0', '2.0', '2.1', '4.0', '5.0', '5.1']);
    });

    it('keeps input order with concurrency 2', async () => {
      const ordered = await con.sql(nums(40)).mapBatches(slowIdentity, { schema: X, batchSize: 5, backend, concurrency: 2 }).rows();
      assert.deepEqual(xs(ordered), Array.from({ length: 40 }, (_, i) => i));
    });

    it('constructs a class once per actor, or once per batch for tasks', async () => {
      const rows = await con.sql(nums(12)).mapBatches(Counter, { schema: { x: 'BIGINT', instance: 'INTEGER', calls: 'INTEGER', pid: 'INTEGER' }, batchSize: 3, backend }).rows();
      const calls = rows.map((r) => r.calls);
      if (backend === 'subprocess_actor' || backend === 'inline') {
        assert.equal(new Set(rows.map((r) => `${r.pid}/${r.instance}`)).size, 1);
        assert.deepEqual(calls, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
      } else {
        assert.ok(calls.every((c) => c === 1), 'a task instance serves one batch');
        assert.equal(new Set(rows.map((r) => r.instance)).size, 4);
      }
      if (!local) assert.ok(rows.every((r) => r.pid !== process.pid) || backend === 'thread_task');
    });

    it('names the stage, the batch and the first row id when a UDF throws', async () => {
      const rel = con.sql(nums(20)).mapBatches(failOn6Mod7, { schema: X, batchSize: 5, backend, name: 'checker' });
      const e = await rejectsWith(rel.rows(), 'udf_failed');
      assert.match(e.message, /stage 1 "checker" failed on batch 1 \(first row id 5\).*bad row 6/);
      assert.deepEqual([e.details.stage, e.details.batch, e.details.firstRowId], [1, 1, 5]);
    });

    it('retries a failing batch up to maxRetries', async () => {
      const rel = con.sql(nums(9)).mapBatches(flaky, { schema: X, batchSize: 3, backend, maxRetries: 2, retryBackoffMs: 1 });
      assert.deepEqual(xs(await rel.rows()), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(rel.lastReport!.stages[0].retries, 3);
    });

    it('skips only the failing rows and counts them', async () => {
      const skip = con.sql(nums(20)).mapBatches(failOn6Mod7, { schema: X, batchSize: 5, backend, onError: 'skip' });
      assert.deepEqual(xs(await skip.rows()), Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 7 !== 6));
      assert.equal(skip.lastReport!.stages[0].skippedRows, 2);
    });

    it('rejects output that does not match the schema, naming stage, column and batch', async () => {
      const rel = con.sql(nums(4)).mapBatches(wrongColumn, { schema: X, backend, onError: 'skip' });
      const e = await rejectsWith(rel.rows(), 'schema_mismatch');
      assert.match(e.message, /stage 1 "wrongColumn", batch 0: column "surprise"/);
    });

    it('carries BLOBs across the backend boundary intact', async () => {
      const sql = `select range as x, repeat(chr(65 + (range % 26)::int), 1000 + range)::BLOB as b from range(30)`;
      const rows = await con.sql(sql).mapBatches(blobInfo, { schema: { x: 'BIGINT', len: 'INTEGER', first: 'INTEGER' }, batchSize: 7, backend }).rows();
      assert.deepEqual(rows.map((r) => [r.len, r.first]), Array.from({ length: 30 }, (_, i) => [1000 + i, 65 + (i % 26)]));
    });

    it('restarts a crashed worker and retries its batch', { skip: local && 'inline runs in this thread' }, async () => {
      const marker = join(dir, 'crash-marker');
      const rel = con.sql(nums(10)).mapBatches(CrashOnce, { schema: X, batchSize: 5, backend, constructorArgs: [marker] });
      assert.deepEqual(xs(await rel.rows()), Array.from({ length: 10 }, (_, i) => i));
      assert.ok(existsSync(marker));
      assert.equal(rel.lastReport!.stages[0].restarts, 1);
    });

    it('runs the seed guide on real PNG and JPEG files', async () => {
      const media = join(dir, 'seed');
      const made = await makeMedia(media, 12);
      const items = con.sql(`select id, path, media_type from read_parquet('${media}/data/media_index/*.parquet')
                             where media_type in ('image/png','image/jpeg') and path is not null`);
      const withBytes = items.mapBatches(loadImageBytes, { schema: { id: 'BIGINT', path: 'VARCHAR', media_type: 'VARCHAR', image_bytes: 'BLOB' }, batchSize: 4, backend });
      const classified = withBytes.mapBatches(ImageClassifier, { schema: { id: 'BIGINT', path: 'VARCHAR', media_type: 'VARCHAR', label: 'VARCHAR', score: 'DOUBLE' }, batchSize: 3, backend, concurrency: 2 });
      const table = `classified_${backend}`;
      await classified.toTable(table);
      const summary = await con.sql(`select label, count(*)::INT as n, avg(score) as s from ${table} group by label order by label`).rows();
      assert.deepEqual(summary, [{ label: 'invoice', n: 12, s: 1 }, { label: 'other', n: 1, s: 0 }]);
      const out = join(media, 'output', 'classified_media');
      await con.sql(`select id, path, media_type, label, score from ${table}`).writeParquet(out + '/');
      const back = await con.sql(`select id, media_type, label from read_parquet('${out}/*.parquet') order by id`).rows();
      const expected = made.filter((m) => m.path && m.media_type.startsWith('image/'));
      assert.deepEqual(back.map((r) => Number(r.id)), expected.map((m) => m.id));
      assert.deepEqual(back.map((r) => r.media_type), expected.map((m) => m.media_type));
    });
  });
}
