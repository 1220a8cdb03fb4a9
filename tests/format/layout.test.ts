import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { immutableKey, layout } from '../../src/format/index.js';

describe('layout', () => {
  it('calls data, index, manifest and commit keys immutable, and refs, the lease and the marker not', () => {
    for (const k of [layout.scalarFile('f'), layout.groupFile('f', 'image'), layout.deletesFile('f', 'g'), layout.manifest('m'), layout.commit('c'), `${layout.indexPrefix}x.qidx`]) assert.ok(immutableKey(k), k);
    for (const k of [layout.branch('main'), layout.tag('v1'), layout.rowIdLease, layout.marker]) assert.ok(!immutableKey(k), k);
  });
});
