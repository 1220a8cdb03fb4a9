import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyManifest, parseSchema, type FragmentMeta } from '../../../src/format/index.js';
import { planAutoCompaction, planCompaction } from '../../../src/dataset/versioning/compact.js';

const frag = (id: string, rows: number): FragmentMeta => ({ id, key: `data/${id}.scalar.parquet`, rows, bytes: rows * 10, rowIdMin: '0', rowIdMax: '0' });
const manifest = (fragments: FragmentMeta[]) => ({ ...emptyManifest(parseSchema({ a: 'int' })), fragments });

describe('planAutoCompaction', () => {
  it('waits until a size tier holds smallFragmentsMax fragments, then merges only that tier', () => {
    const ones = Array.from({ length: 3 }, (_, i) => frag(`one${i}`, 1));
    const hundreds = Array.from({ length: 4 }, (_, i) => frag(`h${i}`, 100));
    assert.deepEqual(planAutoCompaction(manifest([...ones.slice(0, 2), ...hundreds.slice(0, 3)]), { smallFragmentsMax: 4 }), []);
    assert.deepEqual(planAutoCompaction(manifest([...ones, ...hundreds]), { smallFragmentsMax: 4 }).map((f) => f.id), ['h0', 'h1', 'h2', 'h3']);
  });

  it('does not pick a merged fragment again with the next small ones', () => {
    // 32 merges of 100-row fragments make one 3,200-row fragment: a higher tier.
    const merged = frag('merged', 3200);
    const fresh = Array.from({ length: 31 }, (_, i) => frag(`f${i}`, 100));
    assert.deepEqual(planAutoCompaction(manifest([merged, ...fresh])), []);
    assert.deepEqual(planAutoCompaction(manifest([merged, ...fresh, frag('f31', 100)])).map((f) => f.id).includes('merged'), false);
  });

  it('leaves explicit compact() picking every small fragment', () => {
    assert.equal(planCompaction(manifest([frag('merged', 3200), frag('a', 100), frag('b', 100)])).length, 3);
  });
});
