import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchema, parseTypeString, sqlType, t, isLarge, type SchemaInput } from '../../../src/format/index.js';
import { isQuiverError } from '../../../src/errors.js';

describe('parseTypeString', () => {
  it('reads the seed short strings', () => {
    assert.deepEqual(parseTypeString('text').type, { kind: 'text' });
    assert.deepEqual(parseTypeString('image').type, { kind: 'image' });
    assert.deepEqual(parseTypeString('emb-1536').type, { kind: 'embedding', dim: 1536 });
    assert.deepEqual(parseTypeString('int').type, { kind: 'int32' });
    assert.deepEqual(parseTypeString('list<text>').type, { kind: 'list', element: { kind: 'text' } });
    assert.deepEqual(parseTypeString('list<emb-4>').type, { kind: 'list', element: { kind: 'embedding', dim: 4 } });
  });

  it('treats columns as nullable unless marked required with !', () => {
    assert.equal(parseTypeString('text?').nullable, true);
    assert.equal(parseTypeString('text').nullable, true);
    assert.equal(parseTypeString('text!').nullable, false);
  });

  it('refuses unknown types and bad dimensions', () => {
    assert.throws(() => parseTypeString('blorb'), (e) => isQuiverError(e, 'invalid_input'));
    assert.throws(() => parseTypeString('emb-0'), (e) => isQuiverError(e, 'invalid_input'));
  });
});

describe('the typed builder', () => {
  it('offers the full set of types with nullability', () => {
    const cols = parseSchema({ a: t.int8(), b: t.uint64().required(), c: t.embedding(3), d: t.list(t.image()), e: t.json(), f: t.timestamp() });
    assert.deepEqual(cols.map((c) => sqlType(c.type)), ['TINYINT', 'UBIGINT', 'FLOAT[3]', 'BLOB[]', 'JSON', 'TIMESTAMP']);
    assert.equal(cols[1].nullable, false);
    assert.deepEqual(cols.map((c) => isLarge(c.type)), [false, false, true, true, false, false]);
  });
});

describe('parseSchema', () => {
  it('refuses bad names, reserved names, duplicates and image metadata collisions', () => {
    for (const bad of [{ '1x': 'text' }, { row_id: 'int' }, { a: 'text', A: 'int' }, { image: 'image', image_width: 'int' }, {}] as SchemaInput[]) {
      assert.throws(() => parseSchema(bad), (e) => isQuiverError(e, 'invalid_input'), JSON.stringify(bad));
    }
  });

  it('reserves the names Quiver itself uses in its SQL: row_id and anything starting with two underscores', () => {
    for (const name of ['row_id', 'ROW_ID', '__quiver_file', '__quiver_fragment', '__Quiver_target', '__score', '__q_cos']) {
      assert.throws(
        () => parseSchema({ [name]: 'text' }),
        (e) => isQuiverError(e, 'invalid_input') && e.message.includes('reserved') && e.details.column === name,
        name,
      );
    }
    assert.equal(parseSchema({ _private: 'text', a__b: 'int' }).length, 2);
  });
});
