// JSON-safe rows: every value a query can return survives JSON.stringify and JSON.parse as the
// documented plain form (bigint as number or string, embeddings as arrays, bytes as base64).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { MemoryStore } from '../../src/storage/index.js';

describe('toJsonRows', () => {
  it('turns bigints, embeddings, bytes, timestamps and nested values of a query into JSON that round-trips', async () => {
    const ds = await quiver.create(new MemoryStore(), { schema: { big: 'int64', emb: 'emb-2', blob: 'binary', created: 'timestamp', tags: 'list<text>' } });
    await ds.append({ big: 2n ** 62n, emb: [0.5, 0.25], blob: new Uint8Array([1, 2, 255]), created: new Date('2026-11-30T00:00:00Z'), tags: ['a'] });
    await ds.commit('one');
    const rows = await ds.query(`select row_id, (select count(*) from dataset) as n, big, emb, blob, created, tags, struct_pack(k := big) as s, 'nan'::double as x from dataset`);
    assert.throws(() => JSON.stringify(rows), TypeError, 'raw rows hold bigints');
    const json = quiver.toJsonRows(rows);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
    assert.deepEqual(json, [{ row_id: 0, n: 1, big: '4611686018427387904', emb: [0.5, 0.25], blob: 'AQL/', created: '2026-11-30T00:00:00.000Z', tags: ['a'], s: { k: '4611686018427387904' }, x: 'NaN' }]);
    await ds.close();
  });

  it('keeps safe integers as numbers and larger ones exact as strings', () => {
    assert.deepEqual([2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 53n, -(2n ** 64n)].map(quiver.toJsonValue), [2 ** 53 - 1, -(2 ** 53 - 1), '9007199254740992', '-18446744073709551616']);
  });
});
