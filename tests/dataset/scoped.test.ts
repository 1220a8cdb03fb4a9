// ds.scoped({ tenant }): every read path besides SQL (search, nearDuplicates, stream, diff,
// versions and log, row counts) sees one tenant, and writes reach only its rows: another
// tenant's rows are `forbidden` and nothing is staged. Attempts and leaks are counted and printed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { ALICE_ROWS, BOB_ROWS, SECRET, leaked, runAttempts, tenantFixture, type Attempt, type TenantFixture } from '../helpers/tenants.js';

type H = quiver.ScopedDataset;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Reads (other than SQL) that must see only alice. */
const readAttempts: Attempt<H>[] = [
  { name: 'nearDuplicates over every row', run: (h) => h.nearDuplicates('emb', { threshold: -1, k: 20 }), check: (r, f) => assert.ok((r as { a: bigint }[]).every((p) => f.aliceIds.includes(p.a))) },
  {
    name: 'stream of every row',
    run: async (h) => {
      const out: unknown[] = [];
      for await (const b of h.stream({ columns: ['row_id', 'prompt'] as never })) out.push(b);
      return out;
    },
  },
  { name: "stream where on the other tenant's rows", run: async (h) => collect(h.stream({ columns: ['prompt'] as never, where: "user_id = 'bob'" })) },
  { name: 'stream where reading a file', run: async (h) => collect(h.stream({ columns: ['prompt'] as never, where: "row_id in (select row_id from read_parquet('x'))" })), error: 'forbidden' },
  { name: 'stream where reading an internal view', run: async (h) => collect(h.stream({ columns: ['prompt'] as never, where: 'row_id in (select row_id from __quiver_target)' })), error: 'forbidden' },
  {
    name: 'diff from the empty first version',
    run: async (h) => {
      const d = await h.diff((await h.versions())[0].id);
      return { counts: d.counts, rows: await collect(d.rows()) };
    },
    check: (r) => assert.equal((r as { counts: { added: number } }).counts.added, ALICE_ROWS),
  },
  { name: 'versions row counts', run: (h) => h.versions(), check: (r) => assert.deepEqual((r as quiver.Commit[]).map((c) => c.stats.rows), [0, ALICE_ROWS, ALICE_ROWS]) },
  { name: 'log stats', run: async (h) => collect(h.log()), check: (r) => assert.ok((r as quiver.Commit[]).every((c) => c.stats.rows <= ALICE_ROWS && c.stats.rowsAdded === 0)) },
  { name: 'the handle row count', run: async (h) => ({ n: h.rowCount, version: h.version }), check: (r) => assert.equal((r as { n: number }).n, ALICE_ROWS) },
];

/** Writes of bob's rows from alice's handle: each `forbidden`, or a no-op on bob's rows. */
const writeAttempts: Attempt<H>[] = [
  { name: 'append a row of the other tenant', run: (h) => h.append({ user_id: 'bob', prompt: 'x' }), error: 'forbidden' },
  { name: 'append a mix of own and other rows', run: (h) => h.append([{ prompt: 'mine' }, { user_id: 'bob', prompt: 'x' }]), error: 'forbidden' },
  { name: 'append a null tenant', run: (h) => h.append({ user_id: null, prompt: 'x' }), error: 'forbidden' },
  { name: "update by the other tenant's row id", run: (h, f) => h.update({ rowIds: [f.bobIds[0]], set: { prompt: 'hacked' } }), error: 'forbidden' },
  { name: "update rows by the other tenant's row id", run: (h, f) => h.update({ rows: [{ row_id: f.bobIds[1], prompt: 'hacked' }] }), error: 'forbidden' },
  { name: 'update of a row id that does not exist', run: (h) => h.update({ rowIds: [987654321n], set: { prompt: 'x' } }), error: 'forbidden' },
  { name: 'update moving own rows to the other tenant', run: () => Promise.reject(new Error('replaced below')), error: 'forbidden' },
  { name: 'update rows moving a row to the other tenant', run: (h, f) => h.update({ rows: [{ row_id: f.aliceIds[0], user_id: 'bob' }] }), error: 'forbidden' },
  { name: "update where on the other tenant's rows", run: (h) => h.update({ where: "user_id = 'bob'", set: { prompt: 'hacked' } }), check: (r) => assert.deepEqual(r, { rows: 0 }) },
  { name: 'update where reading a file', run: (h) => h.update({ where: "(select count(*) from read_parquet('x')) > 0", set: { prompt: 'hacked' } }), error: 'forbidden' },
  { name: 'update where smuggling a union', run: (h) => h.update({ where: 'true) union select 1 --', set: { prompt: 'hacked' } }), error: 'invalid_sql' },
  { name: "delete by the other tenant's row id", run: (h, f) => h.delete({ rowIds: f.bobIds }), error: 'forbidden' },
  { name: "delete where on the other tenant's rows", run: (h) => h.delete({ where: "user_id = 'bob'" }), check: (r) => assert.deepEqual(r, { rows: 0 }) },
  { name: 'delete where through an internal view', run: (h) => h.delete({ where: 'row_id in (select row_id from __quiver_target)' }), error: 'forbidden' },
  { name: 'upsert a record of the other tenant', run: (h) => h.upsert({ user_id: 'bob', prompt: `${SECRET} red car 0`, rating: 1 }, { on: 'prompt' }), error: 'forbidden' },
  { name: 'upsert on the tenant column', run: (h) => h.upsert({ prompt: 'x' }, { on: 'user_id' }), error: 'invalid_input' },
];
writeAttempts[6] = { name: 'update moving own rows to the other tenant', run: (h) => h.update({ where: 'true', set: { user_id: 'bob' } }), error: 'forbidden' };

describe('ScopedDataset', () => {
  let f: TenantFixture;
  before(async () => {
    f = await tenantFixture(tempDir('scoped-'));
  });
  after(() => f.ds.close());

  it('sees only its tenant in search, nearDuplicates, stream, diff, versions and log', async () => {
    const alice = await f.ds.scoped({ tenant: 'alice' });
    const r = await runAttempts(alice, f, readAttempts);
    console.log(`scoped reads: ${r.attempts} attempts, ${r.leaks} leaks`);
    assert.deepEqual(r.failures, []);
    assert.equal(r.leaks, 0);
    const batches = await collect(alice.stream({ columns: ['prompt'] }));
    const ids = batches.flatMap((b) => Array.from(b.rowId.subarray(0, b.rows)));
    const prompts = batches.flatMap((b) => (b.columns.prompt as { values: string[] }).values.slice(0, b.rows));
    // The last batch is padded with rows from the epoch's start (remainder 'pad').
    assert.deepEqual([...new Set(ids)].sort(), [...f.aliceIds].sort());
    assert.ok(prompts.every((p) => p.startsWith('alice')), String(prompts));
    assert.ok(!leaked(prompts, f));
    await alice.close();
  });

  it("refuses writes of another tenant's rows, staging nothing, and leaves them unchanged", async () => {
    const alice = await f.ds.scoped({ tenant: 'alice' });
    const before = await f.ds.query('select row_id, prompt from dataset order by row_id');
    const r = await runAttempts(alice, f, writeAttempts);
    console.log(`scoped writes: ${r.attempts} attempts, ${r.leaks} leaks`);
    assert.deepEqual(r.failures, []);
    assert.equal(r.leaks, 0);
    assert.equal(alice.stagedRows, 0);
    await alice.discard();
    assert.deepEqual(await f.ds.query('select row_id, prompt from dataset order by row_id'), before);
    await alice.close();
  });

  it('fills in the tenant on append and upsert, and its writes commit for its rows only', async () => {
    const ds = (await tenantFixture(tempDir('scoped-write-'))).ds;
    const alice = await ds.scoped({ tenant: 'alice' });
    const bob = await ds.scoped({ tenant: 'bob' });
    const added = await alice.append({ prompt: 'alice new' });
    await alice.update({ rowIds: added.rowIds, set: { rating: 4 } }); // a staged row of its own
    await alice.commit('alice writes');
    await bob.delete({ where: 'true' });
    // bob's upsert on a key alice holds matches none of his rows: it inserts his own.
    assert.deepEqual((await bob.upsert({ prompt: 'alice new', rating: 1 }, { on: 'prompt' })).updated, 0);
    await bob.commit('bob clears his rows and adds one');
    assert.deepEqual(await ds.query("select user_id, count(*)::INT as n from dataset group by user_id order by user_id"), [{ user_id: 'alice', n: ALICE_ROWS + 1 }, { user_id: 'bob', n: 1 }]);
    assert.deepEqual(await ds.query("select user_id, rating from dataset where prompt = 'alice new' order by user_id"), [{ user_id: 'alice', rating: 4 }, { user_id: 'bob', rating: 1 }]);
    assert.equal(alice.rowCount, ALICE_ROWS + 1);
    assert.equal((await bob.refresh()).stats.rows, 1);
    await Promise.all([alice.close(), bob.close(), ds.close()]);
  });

  it('scopes an integer tenant column, and refuses a tenant of the wrong kind', async () => {
    const ds = await quiver.create(tempDir('scoped-int-'), { schema: { org: 'int64', prompt: 'text' }, tenant: 'org' });
    await ds.append([{ org: 7n, prompt: 'seven' }, { org: 8n, prompt: `${SECRET} eight` }]);
    await ds.commit('orgs');
    const seven = await ds.scoped({ tenant: 7 });
    assert.deepEqual(await seven.query('select prompt from dataset'), [{ prompt: 'seven' }]);
    await assert.rejects(seven.append({ org: 8n, prompt: 'x' }), (e) => isQuiverError(e, 'forbidden'));
    await assert.rejects(ds.scoped({ tenant: 'seven' }), (e) => isQuiverError(e, 'invalid_input'));
    await Promise.all([seven.close(), ds.close()]);
  });

  it('keeps a tenant value with quotes inside its literal', async () => {
    const ds = await quiver.create(tempDir('scoped-quote-'), { schema: { user_id: 'text', prompt: 'text' }, tenant: 'user_id' });
    await ds.append([{ user_id: "o'hara' or '1'='1", prompt: 'hers' }, { user_id: 'bob', prompt: SECRET }]);
    await ds.commit('quotes');
    const h = await ds.scoped({ tenant: "o'hara' or '1'='1" });
    assert.deepEqual(await h.query('select prompt from dataset'), [{ prompt: 'hers' }]);
    await Promise.all([h.close(), ds.close()]);
  });

  it('needs a declared tenant column; setTenantColumn declares it, and the column cannot be dropped', async () => {
    const ds = await quiver.create(`memory://scoped-${Math.random()}`, { schema: { user_id: 'text', emb: 'emb-2' } });
    await assert.rejects(ds.scoped({ tenant: 'a' }), (e) => isQuiverError(e, 'invalid_input') && /declares no tenant column/.test(e.message));
    await assert.rejects(ds.setTenantColumn('emb'), (e) => isQuiverError(e, 'invalid_input'));
    await ds.setTenantColumn('user_id');
    assert.equal(ds.tenantColumn, 'user_id');
    await assert.rejects(ds.dropColumn('user_id'), (e) => isQuiverError(e, 'invalid_input') && /tenant column/.test(e.message));
    await ds.renameColumn('user_id', 'owner');
    assert.equal(ds.tenantColumn, 'owner');
    const h = await ds.scoped({ tenant: 'a' });
    assert.equal(h.tenantColumn, 'owner');
    await Promise.all([h.close(), ds.close()]);
    await assert.rejects(quiver.create(`memory://scoped-${Math.random()}`, { schema: { a: 'text' }, tenant: 'b' }), (e) => isQuiverError(e, 'invalid_input'));
  });

  it('reports forbidden and timeout with their HTTP statuses', () => {
    assert.equal(quiver.STATUS_OF.forbidden, 403);
    assert.equal(quiver.STATUS_OF.timeout, 504);
  });
});

void BOB_ROWS;
