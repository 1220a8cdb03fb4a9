// Which version `open`, `checkout` and a pipeline's `con.dataset` read: every combination of
// version/tag/branch/asOf is either in the allowed table or refused with invalid_input, and
// asOf takes a Date or an ISO 8601 string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { openTarget, parseAsOf } from '../../src/dataset/open-target.js';
import { tempDir } from '../helpers/tmp.js';

const KEYS = ['version', 'branch', 'tag', 'asOf'] as const;
const SAMPLE = { version: 'c0ffee', branch: 'ft', tag: 'r3', asOf: '2026-11-30T00:00:00Z' };
const ALLOWED = new Set(['', 'branch', 'version', 'tag', 'asOf', 'branch+asOf']);

function code(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    assert.ok(isQuiverError(e), `not a QuiverError: ${String(e)}`);
    return e.code;
  }
}

describe('openTarget', () => {
  it('allows exactly the combinations of its table and refuses every other with invalid_input', () => {
    for (let mask = 0; mask < 16; mask++) {
      const keys = KEYS.filter((_, i) => mask & (1 << i));
      const options = Object.fromEntries(keys.map((k) => [k, SAMPLE[k]]));
      const expected = ALLOWED.has(keys.join('+')) ? 'ok' : 'invalid_input';
      assert.equal(code(() => openTarget(options, [], 'main')), expected, keys.join('+'));
    }
  });

  it('refuses an unknown option instead of ignoring it', () => {
    assert.equal(code(() => openTarget({ tags: 'r3' } as never, [], 'main')), 'invalid_input');
    assert.equal(code(() => openTarget({ write: {} } as never, ['write'], 'main')), 'ok');
  });

  it('accepts a Date or an ISO 8601 string for asOf and refuses anything else', () => {
    assert.equal(parseAsOf('2026-11-30T00:00:00Z').toISOString(), '2026-11-30T00:00:00.000Z');
    assert.equal(parseAsOf('2026-11-30').toISOString(), '2026-11-30T00:00:00.000Z');
    assert.equal(parseAsOf(new Date(5)).getTime(), 5);
    for (const bad of ['yesterday', '2026-13-45T00:00:00Z', '', 1764460800000, new Date('x'), null, {}]) {
      assert.equal(code(() => parseAsOf(bad)), 'invalid_input', String(bad));
    }
  });
});

describe('open with version-picking options', () => {
  it('opens a time given as an ISO string, rejects version with branch, and a bad time, with typed errors', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema: { n: 'int' } });
    await ds.append({ n: 1 });
    await ds.commit('one');
    await ds.append({ n: 2 });
    const last = await ds.commit('two');
    const at = await quiver.open(dir, { asOf: last.time });
    assert.equal(at.version.id, last.id);
    assert.equal(at.readOnly, true);
    const first = (await ds.versions())[1];
    await assert.rejects(quiver.open(dir, { version: first.id, branch: 'main' }), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(quiver.open(dir, { asOf: 'not a time' }), (e) => isQuiverError(e, 'invalid_input'));
    await assert.rejects(quiver.open(dir, { asOf: '2000-01-01T00:00:00Z' }), (e) => isQuiverError(e, 'not_found'));
    await at.close();
    await ds.close();
  });

  it('reads the tagged version through con.dataset, not the branch head', async () => {
    const dir = tempDir();
    const ds = await quiver.create(dir, { schema: { n: 'int' } });
    await ds.append([{ n: 1 }, { n: 2 }]);
    await ds.commit('two rows');
    await ds.tag('r1');
    await ds.append({ n: 3 });
    await ds.commit('three rows');
    const con = await quiver.connect({ terminal: 'off' });
    try {
      assert.equal((await con.dataset(dir, { tag: 'r1' }).rows()).length, 2);
      assert.equal((await con.dataset(dir).rows()).length, 3);
      assert.throws(() => con.dataset(dir, { tag: 'r1', branch: 'main' }), (e) => isQuiverError(e, 'invalid_input'));
    } finally {
      await con.close();
      await ds.close();
    }
  });
});
