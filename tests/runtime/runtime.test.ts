// The process-wide runtime: options checked, DuckDB started with them, one instance for datasets
// and pipeline connections, and one memory bound over the search caches of every handle.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type * as arrow from 'apache-arrow';
import * as quiver from '../../src/index.js';
import { Engine } from '../../src/query/index.js';
import { prng, tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

async function settings(rt: quiver.Runtime): Promise<{ memory: string; threads: bigint }> {
  const s = await (await rt.engine()).session();
  try {
    const r = await s.all(`select current_setting('memory_limit') as memory, current_setting('threads') as threads`);
    return r.rows[0] as { memory: string; threads: bigint };
  } finally {
    s.close();
  }
}

function vectors(rand: () => number, n: number, dim: number) {
  return Array.from({ length: n }, (_, i) => ({ n: i, emb: Float32Array.from({ length: dim }, () => rand() - 0.5) }));
}

describe('createRuntime', () => {
  it('refuses options it cannot run with, naming them', () => {
    const bad: unknown[] = [{ threads: 0 }, { threads: 1.5 }, { memoryBytesMax: 1024 }, { memoryBytesMax: -1 }, { diskBytesMax: -5 }, { cacheDir: '' }, { memoryLimit: '2GB' }, null];
    for (const o of bad) {
      assert.throws(() => quiver.createRuntime(o as quiver.RuntimeOptions), (e: unknown) => quiver.isQuiverError(e, 'invalid_input') && /^runtime: /.test((e as Error).message), JSON.stringify(o));
    }
  });

  it('starts DuckDB with its threads and the engine share of memoryBytesMax, not 80 % of RAM', async () => {
    const rt = quiver.createRuntime({ memoryBytesMax: 256 * MiB, threads: 1 });
    const s = await settings(rt);
    assert.equal(s.threads, 1n);
    assert.equal(s.memory, `${256 * quiver.MEMORY_SHARES.engine}.0 MiB`);
    const m = rt.memory();
    assert.equal(m.engineBytesMax + m.searchBytesMax + m.objectBytesMax, 256 * MiB, 'the shares add up to the bound');
    assert.equal(rt.objectCache.memoryBytesMax, m.objectBytesMax);
    assert.equal(rt.searchCache.bytesMax, m.searchBytesMax);
    await rt.close();
    await assert.rejects(async () => rt.engine(), (e: unknown) => quiver.isQuiverError(e, 'closed'));
  });

  it('keeps its spill files and object copies in a folder of its own under cacheDir, removed at close', async () => {
    const dir = tempDir('quiver-rt-');
    const rt = quiver.createRuntime({ memoryBytesMax: 128 * MiB, threads: 1, cacheDir: dir });
    await rt.engine();
    const [own] = readdirSync(dir);
    assert.match(own, /^quiver-/);
    assert.equal(rt.objectCache.directory, join(dir, own, 'objects'));
    await rt.close();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('is refused by open and create when it is not a runtime', async () => {
    await assert.rejects(quiver.create(`memory://rt-bad-${Math.random()}`, { schema: { n: 'int' }, runtime: {} as quiver.Runtime }), (e: unknown) => quiver.isQuiverError(e, 'invalid_input'));
  });
});

describe('one DuckDB instance per runtime', () => {
  it('serves a dataset handle and a pipeline connection on it from one instance', async () => {
    const before = Engine.instancesOpen;
    const rt = quiver.createRuntime({ memoryBytesMax: 256 * MiB, threads: 1 });
    const url = `memory://rt-shared-${Math.random()}`;
    const ds = await quiver.create(url, { schema: { n: 'int' }, runtime: rt });
    await ds.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await ds.commit('rows');
    assert.deepEqual(await ds.query('select sum(n)::int as s from dataset'), [{ s: 6 }]);
    const con = await quiver.connect({ runtime: rt });
    assert.deepEqual(await con.sql('select 40 + 2 as answer').rows(), [{ answer: 42 }]);
    const other = await quiver.open(url, { runtime: rt });
    assert.deepEqual(await other.query('select count(*)::int as c from dataset'), [{ c: 3 }]);
    assert.equal(Engine.instancesOpen - before, 1, 'a dataset, a second handle and a connection: one instance');
    assert.equal(con.engine, await rt.engine());
    await con.close();
    await other.close();
    await ds.close();
    assert.equal(Engine.instancesOpen - before, 1, 'closing a connection leaves the runtime engine open');
    await rt.close();
    assert.equal(Engine.instancesOpen, before);
  });

  it('reads and writes datasets through a connection on its runtime, not the default one', async () => {
    const before = Engine.instancesOpen;
    const rt = quiver.createRuntime({ memoryBytesMax: 256 * MiB, threads: 1 });
    const url = `memory://rt-con-ds-${Math.random()}`;
    const ds = await quiver.create(url, { schema: { n: 'int' }, runtime: rt });
    await ds.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await ds.commit('rows');
    const con = await quiver.connect({ runtime: rt });
    assert.deepEqual((await con.dataset(url).rows()).map((r) => r.n), [1, 2, 3]);
    assert.deepEqual(await con.sql('select sum(n)::int as s from src', { datasets: { src: url } }).rows(), [{ s: 6 }]);
    const out = `memory://rt-con-out-${Math.random()}`;
    await con.sql('select n * 10 as n from src', { datasets: { src: url } }).writeDataset(out, { message: 'tens' });
    // The provider's handles ran on `rt`: still the one instance (the default runtime's would be a second).
    assert.equal(Engine.instancesOpen - before, 1, 'con.dataset, a SQL over a dataset and writeDataset: one instance');
    const written = await quiver.open(out, { runtime: rt });
    assert.deepEqual(await written.query('select n from dataset order by n'), [{ n: 10 }, { n: 20 }, { n: 30 }]);
    await written.close();
    await con.close();
    await ds.close();
    await rt.close();
    assert.equal(Engine.instancesOpen, before, 'closing the connection closed the handles it opened on the runtime');
  });

  it('gives each connection its own tables and SQL functions on the shared instance', async () => {
    const rt = quiver.createRuntime({ memoryBytesMax: 256 * MiB, threads: 1 });
    const a = await quiver.connect({ runtime: rt });
    const b = await quiver.connect({ runtime: rt });
    await a.run('create table t as select 1 as x');
    await b.run('create table t as select 2 as x');
    const params = { x: 'INTEGER' };
    await a.registerFunction('plus', (tb: arrow.Table) => Array.from(tb.getChild('x')!.toArray() as Int32Array, (v) => v + 10), { params, returns: 'INTEGER' });
    await b.registerFunction('plus', (tb: arrow.Table) => Array.from(tb.getChild('x')!.toArray() as Int32Array, (v) => v + 100), { params, returns: 'INTEGER' });
    const read = async (c: quiver.Connection) => (await c.sql('select plus(x) as y from t').rows())[0].y;
    assert.equal(await read(a), 11);
    assert.equal(await read(b), 102);
    await a.close();
    assert.equal(await read(b), 102, 'closing one connection drops only its catalog');
    await b.close();
    await rt.close();
  });
});

describe('the memory bound over every handle', () => {
  it('keeps the search caches of several handles, together, within the search share, least recently used out first', async () => {
    // 64 MiB: a search share of 28 MiB; each dataset's vectors are 8 MiB, so four handles' would be 32 MiB.
    const rt = quiver.createRuntime({ memoryBytesMax: 64 * MiB, threads: 1 });
    const bound = rt.memory().searchBytesMax;
    const rand = prng(12);
    const dim = 1024;
    const handles: { ds: quiver.Dataset; q: Float32Array; want: number }[] = [];
    for (let h = 0; h < 4; h++) {
      const rows = vectors(rand, 2048, dim);
      const ds = await quiver.create(`memory://rt-budget-${h}-${Math.random()}`, { schema: { n: 'int', emb: `emb-${dim}` }, runtime: rt });
      await ds.append(rows);
      await ds.commit('vectors');
      const want = 7 + h * 100;
      handles.push({ ds, q: rows[want].emb, want });
    }
    let loaded = 0;
    for (const [i, { ds, q, want }] of handles.entries()) {
      const r = await ds.query('select n from dataset order by cosine_similarity(emb, $1) desc limit 3', [q]);
      assert.equal(r[0].n, want, `handle ${i} answers with its own nearest row`);
      loaded += 2048 * dim * 4;
      assert.ok(rt.memory().searchBytes <= bound, `after handle ${i}: ${rt.memory().searchBytes} bytes held, bound ${bound}`);
    }
    assert.ok(loaded > bound, 'the handles loaded more than the bound, so it was enforced, not just unreached');
    assert.ok(rt.memory().searchBytes >= 3 * 2048 * dim * 4, 'the three most recent handles keep their vectors');
    // The first handle's vectors were the least recently used: it reads them again, still right.
    const again = await handles[0].ds.query('select n from dataset order by cosine_similarity(emb, $1) desc limit 1', [handles[0].q]);
    assert.equal(again[0].n, handles[0].want);
    assert.ok(rt.memory().searchBytes <= bound);
    for (const { ds } of handles) await ds.close();
    await rt.close();
  });
});

describe('configureRuntime', () => {
  it('sets the default runtime before first use, and refuses once a handle has used it', async () => {
    const before = Engine.instancesOpen;
    const rt = quiver.configureRuntime({ memoryBytesMax: 128 * MiB, threads: 1 });
    assert.equal(quiver.defaultRuntime(), rt);
    const url = `memory://rt-default-${Math.random()}`;
    const ds = await quiver.create(url, { schema: { n: 'int' } });
    assert.equal(ds.runtime, rt);
    await ds.append([{ n: 5 }, { n: 6 }]);
    await ds.commit('rows');
    assert.deepEqual(await ds.query('select max(n)::int as m from dataset'), [{ m: 6 }]);
    const con = await quiver.connect();
    assert.equal(con.engine, await rt.engine(), 'connect() without a runtime uses the default one, like open');
    assert.deepEqual(await con.dataset(url).rows().then((r) => r.map((x) => x.n)), [5, 6]);
    assert.equal(Engine.instancesOpen - before, 1, 'a dataset, a pipeline over it and its provider: one instance');
    assert.equal((await settings(rt)).memory, '64.0 MiB');
    assert.throws(() => quiver.configureRuntime({ threads: 2 }), (e: unknown) => quiver.isQuiverError(e, 'invalid_input') && /in use/.test((e as Error).message));
    await con.close();
    await ds.close();
  });
});
