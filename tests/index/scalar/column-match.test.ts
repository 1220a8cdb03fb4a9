import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareText, encode, matchInto, numberColumn, type ColumnData, type MatchPredicate } from '../../../src/index/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261122);
const ids = (n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(10 + i));
/** The file positions matching `p`, through matchInto with each position as its own ordinal. */
function rows(col: ColumnData, p: MatchPredicate): number[] {
  const n = col.rowIds.length;
  const words = new Uint32Array((n + 31) >>> 5);
  matchInto(col, p, Int32Array.from({ length: n }, (_, i) => i), words);
  return Array.from({ length: n }, (_, r) => r).filter((r) => (words[r >>> 5] >>> (r & 31)) & 1);
}

describe('scalar index columns', () => {
  it('answer =, <, <=, >, >=, in, is null and their negations on numbers; NULL never matches', () => {
    const values = [5, 0, 1, 3, 3, 9];
    const valid = Uint8Array.from([1, 0, 1, 1, 1, 1]);
    const col = numberColumn(ids(6), Float64Array.from(values), valid);
    assert.deepEqual(rows(col, { op: '=', values: [3] }), [3, 4]);
    assert.deepEqual(rows(col, { op: '<', values: [3] }), [2]);
    assert.deepEqual(rows(col, { op: '<=', values: [3] }), [2, 3, 4]);
    assert.deepEqual(rows(col, { op: '>', values: [3] }), [0, 5]);
    assert.deepEqual(rows(col, { op: '>=', values: [9] }), [5]);
    assert.deepEqual(rows(col, { op: 'in', values: [1, 9, 4] }), [2, 5]);
    // NOT (x < 3) keeps the non-null rows that fail it; the NULL row (position 1) is in neither.
    assert.deepEqual(rows(col, { op: '<', values: [3], negate: true }), [0, 3, 4, 5]);
    assert.deepEqual(rows(col, { op: 'in', values: [1, 9], negate: true }), [0, 3, 4]);
    assert.deepEqual(rows(col, { op: 'null', values: [] }), [1]);
    assert.deepEqual(rows(col, { op: 'null', values: [], negate: true }), [0, 2, 3, 4, 5]);
    // NaN is greater than every number, as in DuckDB.
    const nan = numberColumn(ids(3), Float64Array.from([NaN, 1, 2]), Uint8Array.from([1, 1, 1]));
    assert.deepEqual(rows(nan, { op: '>', values: [1] }), [0, 2]);
    assert.deepEqual(rows(nan, { op: '<=', values: [2] }), [1, 2]);
  });

  it('agree with a row-by-row reference on random columns and predicates (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }), { minLength: 0, maxLength: 60 }),
        fc.constantFrom('=', '<', '<=', '>', '>=', 'in', 'null'),
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (xs, op, vs, negate) => {
          const col = numberColumn(ids(xs.length), Float64Array.from(xs, (x) => x ?? 0), Uint8Array.from(xs, (x) => (x === null ? 0 : 1)));
          const p = { op: op as MatchPredicate['op'], values: op === 'in' ? vs : op === 'null' ? [] : [vs[0]], negate };
          const want = xs.flatMap((x, i) => {
            if (op === 'null') return (x === null) !== negate ? [i] : [];
            if (x === null) return [];
            const v = vs[0];
            const t = op === '=' ? x === v : op === '<' ? x < v : op === '<=' ? x <= v : op === '>' ? x > v : op === '>=' ? x >= v : vs.includes(x);
            return t !== negate ? [i] : [];
          });
          assert.deepEqual(rows(col, p), want);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('compare text in code point order (DuckDB byte order), dictionary-encoded', () => {
    const { codes, dict } = encode(['b', null, 'a', '\u{1F600}', '\uFF5E', 'b']);
    const col: ColumnData = { kind: 'string', rowIds: ids(6), codes, dict, bytes: 0 };
    assert.deepEqual(rows(col, { op: '=', values: ['b'] }), [0, 5]);
    assert.deepEqual(rows(col, { op: '>', values: ['\uFF5E'] }), [3]); // an astral char sorts after U+FF5E in UTF-8
    assert.deepEqual(rows(col, { op: '=', values: ['b'], negate: true }), [2, 3, 4]);
    assert.deepEqual(rows(col, { op: 'null', values: [] }), [1]);
    assert.ok(compareText('\u{1F600}', '\uFF5E') > 0 && '\u{1F600}' < '\uFF5E');
  });

  it('answer list_contains on label lists with DuckDB semantics for NULL lists, NULL and no elements', () => {
    // rows: ['a','b'], NULL, [], ['b', NULL], ['c']
    const { codes, dict } = encode(['a', 'b', 'b', null, 'c']);
    const col: ColumnData = { kind: 'list', rowIds: ids(5), offsets: Int32Array.from([0, 2, 2, 2, 4, 5]), codes, dict, valid: Uint8Array.from([1, 0, 1, 1, 1]), bytes: 0 };
    assert.deepEqual(rows(col, { op: 'contains', values: ['b'] }), [0, 3]);
    assert.deepEqual(rows(col, { op: 'contains', values: ['b'], negate: true }), [2, 4]);
    assert.deepEqual(rows(col, { op: 'contains', values: ['zzz'] }), []);
    assert.deepEqual(rows(col, { op: 'null', values: [] }), [1]);
  });
});
