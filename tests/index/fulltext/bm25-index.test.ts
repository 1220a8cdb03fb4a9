import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fts5, quoted } from '../../helpers/fts5.js';
import fc from 'fast-check';
import { prompts, rng, subset, textQueries } from '../../../bench/lib/datagen.js';
import { Bitmap, FullTextIndex, Tokenizer } from '../../../src/index/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20240601);
const N = 20_000;
const docs = prompts(N, 3, 2000);
const queries = textQueries(150, 4, 2000);
const index = FullTextIndex.build(docs);


/** Naive BM25 as FTS5 defines it, over every document: the property tests' reference. */
function reference(corpus: string[], query: string, k: number, mode: 'and' | 'or', filter?: Bitmap) {
  const tk = new Tokenizer();
  const toks = corpus.map((d) => tk.tokenize(d));
  const avgdl = toks.reduce((a, t) => a + t.length, 0) / corpus.length;
  const qt = tk.tokenize(query);
  const idf = qt.map((t) => {
    const df = toks.filter((d) => d.includes(t)).length;
    const v = Math.log((corpus.length - df + 0.5) / (df + 0.5));
    return v <= 0 ? 1e-6 : v;
  });
  const out: [number, number][] = [];
  toks.forEach((d, i) => {
    if (filter && !filter.has(i)) return;
    const tfs = qt.map((t) => d.filter((x) => x === t).length);
    if (qt.length === 0 || (mode === 'and' ? tfs.some((f) => f === 0) : tfs.every((f) => f === 0))) return;
    let s = 0;
    qt.forEach((_, j) => (s += idf[j] * ((tfs[j] * 2.2) / (tfs[j] + 1.2 * (1 - 0.75 + (0.75 * d.length) / avgdl)))));
    out.push([i, s]);
  });
  out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return out.slice(0, k).map((x) => x[0]);
}

describe('FullTextIndex', () => {
  for (const mode of ['and', 'or'] as const) {
    it(`ranks the top 10 exactly as FTS5 bm25() for ${mode.toUpperCase()} queries, ties by ordinal`, () => {
      const db = fts5(docs);
      const st = db.prepare('SELECT rowid, bm25(t) AS s FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10');
      for (const q of queries) {
        const theirs = st.all(quoted(q, mode === 'and' ? ' ' : ' OR ')) as { rowid: number; s: number }[];
        const ours = index.search(q, 10, { mode });
        assert.deepEqual([...ours.ordinals], theirs.map((r) => r.rowid), q);
        theirs.forEach((r, i) => assert.ok(Math.abs(-r.s - ours.scores[i]) <= 1e-9 * Math.abs(r.s), `${q}: score ${i}`));
      }
      db.close();
    });
  }

  it('matches (implicit AND) the same documents as FTS5 MATCH', () => {
    const db = fts5(docs);
    const st = db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid');
    for (const q of queries.slice(0, 40)) {
      const theirs = (st.all(quoted(q, ' ')) as { rowid: number }[]).map((r) => r.rowid);
      assert.deepEqual([...index.match(q)], theirs, q);
    }
    db.close();
  });

  it('applies a filter without changing the statistics, and returns min(k, matches)', () => {
    const filter = Bitmap.fromOrdinals(N, subset(N, 0.05, 8));
    for (const q of queries.slice(0, 30)) {
      for (const mode of ['and', 'or'] as const) {
        const got = index.search(q, 10, { filter, mode });
        assert.deepEqual([...got.ordinals], reference(docs.slice(), q, 10, mode, filter).slice(0, 10), q);
        for (const o of got.ordinals) assert.ok(filter.has(o));
      }
    }
  });

  it('returns nothing for a query with no tokens or (AND) an unknown term', () => {
    assert.equal(index.search('  ,. ', 10).ordinals.length, 0);
    assert.equal(index.search(`${queries[0]} zzzzunknown`, 10).ordinals.length, 0);
    assert.ok(index.search(`${queries[0]} zzzzunknown`, 10, { mode: 'or' }).ordinals.length > 0);
  });

  it('round-trips through serialize/deserialize and detects corruption', () => {
    const bytes = index.serialize();
    const copy = FullTextIndex.deserialize(bytes);
    for (const q of queries.slice(0, 20)) assert.deepEqual(copy.search(q, 10), index.search(q, 10));
    const bad = bytes.slice();
    bad[bytes.length >> 1] ^= 1;
    assert.throws(() => FullTextIndex.deserialize(bad), /index: corrupt full-text index: checksum mismatch/);
    assert.throws(() => FullTextIndex.deserialize(bytes.subarray(0, 100)), /index: corrupt full-text index/);
  });

  it('gives the same results after random add() sequences as the naive reference (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom<'and' | 'or'>('and', 'or'), (chunks, seed, mode) => {
        const total = chunks.reduce((a, b) => a + b, 0);
        const corpus = prompts(total, seed, 60);
        const fts = new FullTextIndex();
        let at = 0;
        for (const c of chunks) {
          fts.add(corpus.slice(at, at + c));
          at += c;
          // Searching between adds exercises the bounds' recomputation after statistics change.
          fts.search(corpus[0], 3, { mode });
        }
        const r = rng(seed);
        for (let i = 0; i < 5; i++) {
          const q = corpus[Math.floor(r() * total)].split(' ').slice(0, 1 + Math.floor(r() * 3)).join(' ');
          assert.deepEqual([...fts.search(q, 7, { mode }).ordinals], reference(corpus, q, 7, mode), `query "${q}"`);
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
});
