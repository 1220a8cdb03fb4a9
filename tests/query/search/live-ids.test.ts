// manifestLiveIds: a version's live row ids from its manifest alone, only where the manifest
// alone decides them (dense ids, nothing deleted, no two fragments over one id); otherwise
// undefined, and the search reads them through the view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FragmentMeta, Manifest } from '../../../src/format/index.js';
import { manifestLiveIds } from '../../../src/query/search/search-exec.js';

const frag = (min: number, rows: number, extra: Partial<FragmentMeta> = {}): FragmentMeta => ({ id: `f${min}`, key: `data/f${min}.parquet`, rows, bytes: 1, rowIdMin: String(min), rowIdMax: String(min + rows - 1), rowIdsDense: true, ...extra });
const manifest = (fragments: FragmentMeta[]): Manifest => ({ schema: [], fragments, groups: {}, indexes: [] });

describe('manifestLiveIds', () => {
  it('lists the dense ranges of every fragment ascending, whatever their order in the manifest', () => {
    const ids = manifestLiveIds(manifest([frag(10, 3), frag(0, 2), frag(5, 1)]));
    assert.deepEqual(Array.from(ids!, Number), [0, 1, 5, 10, 11, 12]);
  });

  it('keeps a fragment whose deletion file is empty', () => {
    assert.equal(manifestLiveIds(manifest([frag(0, 2, { deletes: { key: 'd', count: 0 } })]))!.length, 2);
  });

  it('leaves the view to decide when a fragment has deleted rows, ids with gaps or ids another fragment holds', () => {
    assert.equal(manifestLiveIds(manifest([frag(0, 2), frag(2, 2, { deletes: { key: 'd', count: 1 } })])), undefined);
    assert.equal(manifestLiveIds(manifest([frag(0, 2), frag(2, 2, { rowIdsDense: undefined })])), undefined);
    assert.equal(manifestLiveIds(manifest([frag(0, 3), frag(2, 2)])), undefined);
    assert.equal(manifestLiveIds(manifest([{ ...frag(0, 2), rowIdMax: '5' }])), undefined);
  });
});
