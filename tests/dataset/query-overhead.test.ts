// What a repeated query costs besides its search: the seed's vector + filter query, asked again
// and again on one handle over a local folder, re-reads nothing immutable (commit, manifest, data
// footers), checks the branch ref with one stat, and sends DuckDB nothing (no parse for planning,
// no final SELECT). Counted by a CountingStore under the dataset and by the engine's own counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { sharedEngine } from '../../src/dataset/shared-engine.js';
import { CountingStore, LocalStore } from '../../src/storage/index.js';
import { prng, tempDir } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 3);
const DAY = 86_400_000;
const schema = { prompt: 'text', prompt_emb: 'emb-16', rating: 'int', tags: 'list<text>', created_at: 'timestamp' };
const FILTER = `rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe')`;
const SQL = `select row_id, prompt, rating from dataset where ${FILTER} order by cosine_similarity(prompt_emb, $1) desc limit 20`;

function records(rand: () => number, n: number, now: number) {
  return Array.from({ length: n }, (_, i) => ({
    prompt: `prompt ${i}`,
    prompt_emb: Float32Array.from({ length: 16 }, () => rand() - 0.5),
    rating: 1 + Math.floor(rand() * 5),
    tags: rand() < 0.05 ? ['unsafe'] : ['safe'],
    created_at: new Date(now - Math.floor(rand() * 14) * DAY),
  }));
}

describe('a repeated query', () => {
  it('re-reads nothing immutable, checks the ref with one stat and sends DuckDB no statement', async () => {
    const rand = prng(SEED);
    const now = Date.now();
    const store = new CountingStore(new LocalStore(tempDir()));
    const writer = await quiver.create(store, { schema });
    await writer.append(records(rand, 400, now));
    await writer.commit('rows');
    await writer.createIndex('prompt_emb', { kind: 'vector', metric: 'cosine' });
    for (const c of ['rating', 'created_at', 'tags']) await writer.createIndex(c, { kind: 'scalar' });
    const reader = await quiver.open(store);
    const q = () => Float32Array.from({ length: 16 }, () => rand() - 0.5);
    await reader.query(SQL, [q()]); // loads this version's collections and plans the text once
    const engine = (await sharedEngine()).counts;
    store.reset();
    const statements = engine.statements;
    const QUERIES = 5;
    for (let i = 0; i < QUERIES; i++) assert.equal((await reader.query(SQL, [q()])).length, 20, `seed ${SEED}`);
    assert.equal(store.counts.gets, 0, `seed ${SEED}: gets of a repeated query: ${[...store.keysRead.keys()].join(', ')}`);
    assert.equal(store.counts.heads, QUERIES, `seed ${SEED}: one ref check a query`);
    assert.equal(engine.statements - statements, 0, `seed ${SEED}: DuckDB statements of a repeated query`);

    // Another handle publishes: the next query reads the new ref, commit and manifest once, and sees the rows.
    const fresh = records(rand, 50, now).map((r) => ({ ...r, rating: 5, tags: ['new'] }));
    const added = (await writer.append(fresh)).rowIds;
    await writer.commit('more');
    store.reset();
    const probe = fresh[7].prompt_emb;
    const after = await reader.query(SQL, [probe]);
    assert.equal(after[0].row_id, added[7], `seed ${SEED}: the new version answers`);
    assert.ok([...store.keysRead.keys()].some((k) => k.includes('manifest')), `seed ${SEED}: the new manifest is read: ${[...store.keysRead.keys()].join(', ')}`);
    store.reset();
    await reader.query(SQL, [q()]);
    assert.equal(store.counts.gets, 0, `seed ${SEED}: nothing is read again at the new version`);
    await reader.close();
    await writer.close();
  });
});
