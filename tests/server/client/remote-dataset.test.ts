// The remote client runs the same scenario as an embedded handle and gets the same answers:
// code moves between embedded and remote by the URL given to `quiver.open`. Errors come back
// as the same QuiverError codes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { served, genRecord, genSchema, type Served } from '../fixture.js';

let s: Served;
before(async () => {
  s = await served(0);
});
after(() => s.close());

type Handle = quiver.Dataset | quiver.RemoteDataset;

/** The scenario: what an inference worker, a curator and a trainer do, summarised without ids. */
async function scenario(ds: Handle, branchOf: (name: string) => Promise<Handle>): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const appended = await ds.append([await genRecord(1), await genRecord(2), await genRecord(3)]);
  out.appended = appended.rowIds.map((id) => typeof id);
  out.staged = ds.stagedRows;
  out.commit = (await ds.commit('from a worker')).stats.rowsAdded;
  out.rows = await ds.query('select row_id, prompt, big, emb, image from dataset where rating >= $1 order by prompt', [2]);
  out.arrow = (await ds.queryArrow('select prompt from dataset order by prompt')).getChild('prompt')!.toArray();
  out.search = await ds.query('select prompt from dataset order by cosine_similarity(emb, $1) desc limit 1', [new Float32Array([1, 3, 0, 0.5])]);
  out.explain = ((await ds.explain('select prompt from dataset order by cosine_similarity(emb, $1) desc limit 1', [new Float32Array([1, 3, 0, 0.5])])) as { shape: string }).shape;
  const ft = await ds.branch('ft');
  await ft.append({ prompt: 'ft-only', rating: 4 });
  await ft.commit('on ft');
  const d = await ds.diff('main', 'ft');
  const diffRows = [];
  for await (const r of d.rows()) diffRows.push({ change: r.change, rowId: typeof r.rowId, prompt: r.row?.prompt });
  out.diff = { counts: d.counts, rows: diffRows };
  out.merge = (await ds.merge('ft')).kind;
  await ds.update({ where: 'prompt = $1', params: ['p1'], set: { rating: 0 } });
  await ds.delete({ rowIds: [appended.rowIds[1]] });
  await ds.commit('feedback');
  out.after = await ds.query('select prompt, rating from dataset order by prompt');
  out.tag = (await ds.tag('v1')).message;
  out.tags = (await ds.tags()).map((t) => t.name);
  out.branches = (await ds.branches()).map((b) => b.name).sort();
  out.index = (await ds.createIndex('prompt', { kind: 'fulltext' })).operation;
  out.versions = (await ds.versions()).map((c) => c.message);
  const log = [];
  for await (const c of ds.log({ limit: 3 })) log.push(c.message);
  out.log = log;
  await ds.refresh();
  out.rowCount = ds.rowCount;
  await ft.close();
  const again = await branchOf('ft');
  out.ftRows = (await again.query('select count(*) as n from dataset'))[0].n;
  await again.close();
  out.errors = await Promise.all([ds.query('selec nothing'), ds.diff('main', 'no-such-branch'), branchOf('nope')].map((p) => p.then(() => 'ok', (e) => (isQuiverError(e) ? e.code : String(e)))));
  return out;
}

describe('RemoteDataset', () => {
  it('gives the same answers as an embedded handle to the same scenario', async () => {
    await (await quiver.create(join(s.root, 'local'), { schema: { ...genSchema } })).close();
    await s.call('POST', '/v1/datasets', s.admin, { name: 'remote', schema: genSchema });
    const local = await quiver.open(join(s.root, 'local'));
    const url = `${s.server.url}/remote/main` as `http://${string}`;
    const remote = await quiver.open(url, { token: s.write });
    assert.ok(remote instanceof quiver.RemoteDataset);
    try {
      const embedded = await scenario(local, (b) => quiver.open(join(s.root, 'local'), { branch: b }));
      const overHttp = await scenario(remote, (b) => quiver.open(`${s.server.url}/remote/${b}` as `http://${string}`, { token: s.write }));
      assert.deepEqual(overHttp, embedded);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it('records the token name as the author of its commits', async () => {
    const ds = await quiver.open(`${s.server.url}/remote/main` as `http://${string}`, { token: s.write });
    await ds.append({ prompt: 'authored' });
    const c = await ds.commit('who wrote this');
    assert.equal(c.meta?.author, 'writer-bob');
    await ds.close();
  });

  it('throws the server\u2019s error codes: unauthorized, forbidden, not_found', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (isQuiverError(e) ? e.code : String(e)));
    assert.equal(await code(quiver.open(`${s.server.url}/remote/main` as `http://${string}`)), 'unauthorized');
    assert.equal(await code(quiver.open(`${s.server.url}/nope/main` as `http://${string}`, { token: s.read })), 'not_found');
    const ro = await quiver.open(`${s.server.url}/remote/main` as `http://${string}`, { token: s.read });
    assert.equal(await code(ro.append({ prompt: 'no' })), 'forbidden');
  });

  it('streams the same StreamBatch objects as embedded: row ids, tensors, decoded images, text and bytes, nulls', async () => {
    const writer = await quiver.open(`${s.server.url}/remote/main` as `http://${string}`, { token: s.write });
    // A row of nulls, and an empty prompt: a null and an empty value must stay apart.
    await writer.append([{ prompt: '' }, await genRecord(7)]);
    await writer.commit('nulls and an empty text');
    await writer.close();
    const embedded = await quiver.open(join(s.root, 'remote'));
    const remote = await quiver.open(`${s.server.url}/remote/main` as `http://${string}`, { token: s.read });
    try {
      const cases: quiver.StreamOptions[] = [
        { batchRows: 3 },
        { columns: ['prompt', 'image', 'rating', 'emb', 'big'], batchRows: 2, shuffle: { seed: 5, blockRows: 2 }, decode: { image: { width: 8, height: 6, layout: 'chw', dtype: 'float32' } }, onUndecodable: 'skip' },
        { columns: ['big', 'rating'], where: 'rating >= 1', shard: { rank: 1, worldSize: 2 }, batchRows: 1 },
      ];
      for (const o of cases) {
        const mine = [];
        for await (const b of embedded.stream(o)) mine.push(b);
        const theirs = [];
        for await (const b of remote.stream(o)) theirs.push(b);
        assert.ok(mine.length > 0);
        assert.deepEqual(theirs, mine, JSON.stringify(o));
      }
      // The cursor after a batch resumes the remote stream where it stopped, as embedded.
      const o: quiver.StreamOptions = { batchRows: 2, shuffle: { seed: 9 } };
      const all = [];
      for await (const b of embedded.stream(o)) all.push(b);
      const first = remote.stream(o);
      for await (const _ of first) break;
      const rest = [];
      for await (const b of remote.stream({ ...o, resume: first.state() })) rest.push(b);
      assert.deepEqual(rest, all.slice(1));
    } finally {
      await embedded.close();
      await remote.close();
    }
  });

  it('streams training batches as Arrow record batches with streamArrow', async () => {
    const ds = await quiver.open(`${s.server.url}/remote/main` as `http://${string}`, { token: s.read });
    let n = 0;
    for await (const b of ds.streamArrow({ columns: ['prompt'], batchRows: 2 })) n += b.numRows;
    await ds.refresh();
    assert.equal(n, ds.rowCount);
  });
});
