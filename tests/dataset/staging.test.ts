// Staged rows survive a failed write: a commit that fails on a full disk publishes nothing
// short, and the natural retry after space is freed commits every staged row.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { fullDiskSkip, resizeDisk, smallDisk } from '../helpers/tmpfs.js';

describe('Staging on a full disk', () => {
  const skip = fullDiskSkip();

  it('keeps the staged rows when a commit fails, and the retry commits them whole', { skip }, async () => {
    const disk = smallDisk(1024 * 1024)!;
    const dir = join(disk, 'ds');
    const ds = await quiver.create(dir, { schema: { n: 'int', blob: 'binary' } });
    const blobs = Array.from({ length: 4 }, () => randomBytes(400_000));
    await ds.append(blobs.map((blob, n) => ({ n, blob })));
    await assert.rejects(ds.commit('too big for the disk'), (e) => quiver.isQuiverError(e, 'io'));
    assert.equal(ds.stagedRows, 4);
    assert.deepEqual(readdirSync(join(dir, 'data')).filter((f) => statSync(join(dir, 'data', f)).size === 0), []);
    resizeDisk(disk, 64 * 1024 * 1024);
    await ds.commit('after freeing space');
    const again = await quiver.open(dir);
    const rows = await again.query('select n, blob from dataset order by n');
    assert.deepEqual(rows.map((r) => Buffer.from(r.blob as Uint8Array)), blobs);
    for (const h of [ds, again]) await h.close();
  });
});
