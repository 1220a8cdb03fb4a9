// SegmentedTextIndex: several segments with deleted positions, searched as one collection,
// against one index built over the live documents alone and against SQLite FTS5 on them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fts5, quoted } from '../../helpers/fts5.js';
import fc from 'fast-check';
import { prompts, rng, textQueries } from '../../../bench/lib/datagen.js';
import { Bitmap, FullTextIndex, SegmentedTextIndex, TextSegment, type SearchPart } from '../../../src/index/index.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20240602);

/**
 * `corpus` cut into segments of the given sizes, each position deleted with probability
 * `deleteRate`; live documents get ordinals in a shuffled segment order (as fragments
 * rewritten by an update interleave), returned with the live texts by ordinal.
 */
function split(corpus: string[], sizes: number[], deleteRate: number, seed: number): { parts: SearchPart[]; live: string[] } {
  const r = rng(seed);
  const raw: { segment: TextSegment; alive: boolean[] }[] = [];
  let at = 0;
  for (const n of sizes) {
    const docs = corpus.slice(at, at + n);
    at += n;
    raw.push({ segment: TextSegment.build(docs), alive: docs.map(() => r() >= deleteRate) });
  }
  // Ordinals: live documents in a random interleaving of segments, each segment's in order.
  const cursors = raw.map(() => 0);
  const maps = raw.map((s) => new Int32Array(s.alive.length).fill(-1));
  const live: string[] = [];
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  for (;;) {
    const open = raw.map((_, i) => i).filter((i) => cursors[i] < raw[i].alive.length);
    if (open.length === 0) break;
    const i = open[Math.floor(r() * open.length)];
    const p = cursors[i]++;
    if (!raw[i].alive[p]) continue;
    maps[i][p] = live.length;
    live.push(corpus[offsets[i] + p]);
  }
  return { parts: raw.map((s, i) => ({ segment: s.segment, map: maps[i] })), live };
}


describe('SegmentedTextIndex', () => {
  it('scores segments with deletions bit-identically to one index over the live documents (property, seeded)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 0, max: 0.6, noNaN: true }), (sizes, seed, rate) => {
        const corpus = prompts(sizes.reduce((a, b) => a + b, 0), seed, 80);
        const { parts, live } = split(corpus, sizes, rate, seed);
        if (live.length === 0) return;
        const seg = new SegmentedTextIndex(parts);
        const whole = FullTextIndex.build(live);
        assert.equal(seg.documentCount, live.length);
        const r = rng(seed + 1);
        const filter = Bitmap.fromOrdinals(live.length, Uint32Array.from(live.keys()).filter(() => r() < 0.5));
        for (let i = 0; i < 6; i++) {
          const q = corpus[Math.floor(r() * corpus.length)].split(' ').slice(0, 1 + Math.floor(r() * 3)).join(' ');
          for (const mode of ['and', 'or'] as const) {
            assert.deepEqual(seg.search(q, 7, { mode }), whole.search(q, 7, { mode }), `seed ${seed} "${q}" ${mode}`);
            assert.deepEqual(seg.search(q, 5, { mode, filter }), whole.search(q, 5, { mode, filter }), `seed ${seed} "${q}" ${mode} filtered`);
          }
          assert.deepEqual([...seg.match(q)], [...whole.match(q)], `seed ${seed} match "${q}"`);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('ranks the top 10 exactly as FTS5 over the live documents, with a third of them deleted', () => {
    const corpus = prompts(6000, 7, 800);
    const { parts, live } = split(corpus, [2500, 1000, 1500, 1000], 0.33, 3);
    const seg = new SegmentedTextIndex(parts);
    const db = fts5(live);
    const st = db.prepare('SELECT rowid, bm25(t) AS s FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10');
    for (const q of textQueries(80, 5, 800)) {
      for (const mode of ['and', 'or'] as const) {
        const theirs = st.all(quoted(q, mode === 'and' ? ' ' : ' OR ')) as { rowid: number; s: number }[];
        const ours = seg.search(q, 10, { mode });
        assert.deepEqual([...ours.ordinals], theirs.map((x) => x.rowid), `${q} ${mode}`);
        theirs.forEach((x, i) => assert.ok(Math.abs(-x.s - ours.scores[i]) <= 1e-9 * Math.abs(x.s), `${q}: score ${i}`));
      }
    }
    db.close();
  });

  it('refuses segments built with different options', () => {
    const a = TextSegment.build(['red car']);
    const b = TextSegment.build(['red car'], { k1: 2 });
    assert.throws(() => new SegmentedTextIndex([{ segment: a, map: null }, { segment: b, map: null }]), /different options/);
  });
});

describe('TextSegment serialization', () => {
  const corpus = prompts(500, 11, 200);
  const segment = TextSegment.build(corpus, { stopwords: ['the'], minTokenLength: 2 });
  const rowIds = BigInt64Array.from(corpus.keys(), (i) => 1000n + BigInt(i) * 3n);

  it('round-trips postings, lengths, options and row ids', () => {
    const back = TextSegment.deserialize(segment.serialize(rowIds));
    assert.deepEqual(back.rowIds, rowIds);
    assert.deepEqual(back.segment.options, segment.options);
    const a = new SegmentedTextIndex([{ segment, map: null }]);
    const b = new SegmentedTextIndex([{ segment: back.segment, map: null }]);
    for (const q of textQueries(30, 12, 200)) assert.deepEqual(b.search(q, 10, { mode: 'or' }), a.search(q, 10, { mode: 'or' }));
  });

  it('detects a flipped bit anywhere and a truncation as corrupt (seeded)', () => {
    const bytes = segment.serialize(rowIds);
    const r = rng(SEED);
    for (let i = 0; i < 50; i++) {
      const bad = bytes.slice();
      const at = Math.floor(r() * bytes.length);
      bad[at] ^= 1 << Math.floor(r() * 8);
      assert.throws(() => TextSegment.deserialize(bad), (e: Error & { code?: string }) => e.code === 'corrupt', `bit flipped at ${at}`);
    }
    for (const n of [0, 11, 200, bytes.length - 1]) assert.throws(() => TextSegment.deserialize(bytes.subarray(0, n)), (e: Error & { code?: string }) => e.code === 'corrupt', `truncated to ${n}`);
  });
});
