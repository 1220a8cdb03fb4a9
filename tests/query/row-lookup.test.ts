// RowLookup against DuckDB reading the same version through the dataset view: for any set of
// ids (live, deleted, moved by an update, absent), the VALUES relation it builds must hold
// exactly the rows and values the view holds, for every small column type.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { columnize, parseSchema, writeDeletes, writeFragment, type Manifest } from '../../src/format/index.js';
import { Engine, planScan, viewSql } from '../../src/query/index.js';
import { smallColumns } from '../../src/query/dataset-view.js';
import { RowLookup, valuesSql } from '../../src/query/row-lookup.js';
import { LocalStore } from '../../src/storage/index.js';
import { prng, tempDir } from '../helpers/tmp.js';

const schema = parseSchema({ t: 'text', j: 'json', b: 'bool', i8: 'int8', u32: 'uint32', i64: 'int64', u64: 'uint64', f32: 'float32', f64: 'float64', ts: 'timestamp', tags: 'list<text>', nums: 'list<int32>', image: 'image', shots: 'list<image>', emb: 'emb-4' });
const TEXTS = ['', "it's", 'back\\slash', 'ünïcödé ☃ 😀', 'a"b', 'line\nbreak', '%_like'];

async function records(rand: () => number, n: number) {
  const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: 'red' } }).png().toBuffer();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const maybe = <T>(v: T) => (rand() < 0.15 ? null : v);
  return Array.from({ length: n }, (_, i) => ({
    t: maybe(`${pick(TEXTS)} ${i}`),
    j: maybe({ k: i, s: pick(TEXTS), a: [1, null, 'x'] }),
    b: maybe(rand() < 0.5),
    i8: maybe(pick([-128, 0, 127, i % 100])),
    u32: maybe(pick([0, 4294967295, i])),
    i64: maybe(pick([-(1n << 63n), (1n << 63n) - 1n, BigInt(i)])),
    u64: maybe(pick([0n, (1n << 64n) - 1n, BigInt(i)])),
    f32: maybe(pick([0.1, -0, 1e30, Number.NaN, Number.POSITIVE_INFINITY, i / 7])),
    f64: maybe(pick([0.1, -0, 1e300, 5e-324, Number.NEGATIVE_INFINITY, i / 7])),
    ts: maybe(new Date(Date.UTC(2026, 0, 1) + i * 1234567)),
    tags: maybe(pick([[], ['safe'], ['a', 'b', "c'd"]])),
    nums: maybe(pick([[], [1, -2, 3], [2147483647]])),
    image: maybe(png),
    shots: maybe(pick([[], [png, png]])),
    emb: new Float32Array([i, 1, 2, 3]),
  }));
}

describe('RowLookup', () => {
  it('reads the same rows and values as the dataset view, across updates and deletes', async () => {
    const dir = tempDir();
    const store = new LocalStore(dir);
    const rand = prng(5);
    const recs = await records(rand, 300);
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => BigInt(from + i));
    // Two appends, then an update that moves rows 3, 5 and 250 to a third fragment, and a delete of 7 and 251.
    const a = await writeFragment(store, columnize(schema, recs.slice(0, 200), ids(0, 200)));
    const b = await writeFragment(store, columnize(schema, recs.slice(200), ids(200, 100)));
    const moved = [3n, 5n, 250n];
    const c = await writeFragment(store, columnize(schema, (await records(rand, 3)), moved));
    const delA = await writeDeletes(store, a.fragment.id, [3n, 5n, 7n]);
    const delB = await writeDeletes(store, b.fragment.id, [250n, 251n]);
    const m: Manifest = {
      schema,
      fragments: [{ ...a.fragment, deletes: { key: delA.key, count: delA.count } }, { ...b.fragment, deletes: { key: delB.key, count: delB.count } }, c.fragment],
      groups: Object.fromEntries(['image', 'shots', 'emb'].map((col) => [col, [a.groups[col], b.groups[col], c.groups[col]]])),
      indexes: [],
    };
    const paths = async (keys: readonly string[]) => keys.map((k) => store.localPath(k));
    const plan = planScan(m, { large: 'none' });
    const local = new Map((await paths(plan.keys)).map((p, i) => [plan.keys[i], p]));
    const view = viewSql(plan, (k) => local.get(k)!);
    const engine = await Engine.create({ threads: 1 });
    const s = await engine.session();
    after(() => {
      s.close();
      engine.close();
    });
    const columns = smallColumns(schema);
    assert.ok(columns.some((x) => x.name === 'image_width') && columns.some((x) => x.name === 'shots_format'), 'derived image columns are small columns');
    assert.ok(!columns.some((x) => x.name === 'emb' || x.name === 'image'), 'large columns are not');
    const lookup = new RowLookup(4096); // a small cache, so eviction runs too
    const names = ['row_id', ...columns.map((x) => x.name)].map((x) => `"${x}"`).join(', ');
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 320 }), { maxLength: 25 }), fc.subarray(columns, { minLength: 1 }), async (picked, cols) => {
        const want = picked.map(BigInt);
        const found = await lookup.rows(m, paths, want, cols.map((x) => x.name));
        const got = (await s.all(`SELECT * FROM (${valuesSql(cols, found, want.map((id) => ({ id, extra: [`${id} * 2`] })), [{ name: 'twice', sqlType: 'BIGINT' }])}) ORDER BY row_id`)).rows;
        const exact = (await s.all(`SELECT ${['row_id', ...cols.map((x) => x.name)].map((x) => `"${x}"`).join(', ')}, row_id * 2 AS twice FROM (${view}) WHERE row_id IN (${want.length ? want.join(', ') : 'NULL'}) ORDER BY row_id`)).rows;
        assert.deepEqual(got, exact);
      }),
      { numRuns: 60 },
    );
    // Every live row, all columns at once: the moved rows hold their new values.
    const all = ids(0, 300);
    const found = await lookup.rows(m, paths, all, columns.map((x) => x.name));
    assert.equal(found.rows.size, 300 - 2); // 7 and 251 are deleted
    const got = (await s.all(`SELECT * FROM (${valuesSql(columns, found, all.map((id) => ({ id, extra: [] })), [])}) ORDER BY row_id`)).rows;
    assert.deepEqual(got, (await s.all(`SELECT ${names} FROM (${view}) ORDER BY row_id`)).rows);
  });

  it('finds rows of a dense fragment by position, across row groups, as the row-id pages would', async () => {
    const store = new LocalStore(tempDir());
    const small = parseSchema({ t: 'text', n: 'int32' });
    const N = 20_000; // three row groups of up to 8,192 rows
    const first = 1_000_000n;
    const w = await writeFragment(store, columnize(small, Array.from({ length: N }, (_, i) => ({ t: `r${i}`, n: i })), Array.from({ length: N }, (_, i) => first + BigInt(i))));
    assert.equal(w.fragment.rowIdsDense, true);
    const shuffled = await writeFragment(store, columnize(small, [{ t: 'x', n: 1 }, { t: 'y', n: 2 }], [5n, 3n]));
    assert.equal(shuffled.fragment.rowIdsDense, undefined, 'ids out of order are not dense');
    const del = await writeDeletes(store, w.fragment.id, [first + 8191n, first + 8192n]);
    const frag = { ...w.fragment, deletes: { key: del.key, count: del.count } };
    const paths = async (keys: readonly string[]) => keys.map((k) => store.localPath(k));
    const manifest = (f: typeof frag): Manifest => ({ schema: small, fragments: [f], groups: {}, indexes: [] });
    const { rowIdsDense: _, ...scanned } = frag;
    const want = [0n, 1n, 8190n, 8191n, 8192n, 8193n, 16383n, 16384n, 19999n, 20000n, -1n].map((d) => first + d);
    const dense = await new RowLookup(1 << 20).rows(manifest(frag), paths, want, ['t', 'n']);
    const byPages = await new RowLookup(1 << 20).rows(manifest(scanned), paths, want, ['t', 'n']);
    assert.deepEqual([...dense.rows].sort(), [...byPages.rows].sort());
    assert.deepEqual([...dense.rows.keys()].map((id) => Number(id - first)).sort((a, b) => a - b), [0, 1, 8190, 8193, 16383, 16384, 19999]);
    assert.deepEqual(dense.rows.get(first + 16384n), ['r16384', 16384]);
    // Which ids are live, without columns (an update's check): the same ids as the pages give,
    // from the manifest entry and the deletes alone; the data file is never opened.
    const live = await new RowLookup(1 << 20).rows(manifest(frag), paths, want, []);
    assert.deepEqual([...live.rows.keys()].sort(), [...byPages.rows.keys()].sort());
    const asked: string[] = [];
    const unopened = async (keys: readonly string[]) => (asked.push(...keys), keys.map((k) => (k === frag.key ? store.localPath(k) + '.absent' : store.localPath(k))));
    assert.equal((await new RowLookup(1 << 20).rows(manifest(frag), unopened, want, [])).rows.size, 7);
    // Nor fetched: on object storage a local copy would be a download.
    assert.equal(asked.includes(frag.key), false, `asked for ${asked}`);
  });
});
