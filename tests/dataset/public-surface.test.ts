// The public face of a dataset handle is exactly its documented API: internals (publish, the
// view, the staging area, the DuckDB session, …) are #private, so neither TypeScript nor a
// JavaScript caller (or a REPL's completion) can reach them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { MemoryStore } from '../../src/storage/index.js';

const METHODS = [
  'addColumn', 'alterColumn', 'append', 'branch', 'branches', 'checkout', 'close', 'commit', 'compact', 'createIndex', 'curate', 'delete', 'deleteBranch', 'deleteTag',
  'diff', 'discard', 'dropColumn', 'dropIndex', 'explain', 'fragmentRows', 'log', 'merge', 'nearDuplicates', 'query', 'queryArrow', 'readSlice', 'refresh', 'renameColumn', 'scanSql', 'scoped', 'setTenantColumn', 'stageChange', 'stageWritten', 'stream', 'sync', 'tag', 'tags',
  'update', 'upsert', 'vacuum', 'versions', 'withVersionBase',
];
const GETTERS = ['indexes', 'readOnly', 'refreshedAt', 'rowCount', 'schema', 'stagedRows', 'tenantColumn', 'url', 'version'];

describe('Dataset public surface', () => {
  it('shows only the documented methods and getters on the prototype', () => {
    const names = Object.getOwnPropertyNames(quiver.Dataset.prototype).filter((n) => n !== 'constructor').sort();
    assert.deepEqual(names, [...METHODS, ...GETTERS].sort());
  });

  it('holds no own property but the store, the branch name and the runtime', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { n: 'int' } });
    assert.deepEqual(Object.keys(ds).sort(), ['branchName', 'runtime', 'store']);
    await ds.close();
  });
});
