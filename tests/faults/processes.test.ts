// Eight processes on one dataset, on every store other processes can open: four appenders, a
// compactor and a vacuum (of scratch branches it deletes) beside two readers of an old version.
// Every committed row must land once, no commit may be lost, and the old version must read the
// same rows throughout and after. The outcome does not depend on how the processes interleave.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import type { ObjectStore } from '../../src/storage/index.js';
import { rows, versionState } from './scenario.js';
import { schema } from './scenario.js';
import { storeFactories } from './stores.js';

const APPENDERS = 4;
const COMMITS = 3;

function runWorker(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/faults/fixtures/worker.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

/** A dataset with some history and a tag `old`; returns the old version's id and rows. */
async function seed(store: ObjectStore): Promise<{ version: string; state: string }> {
  const ds = await quiver.create(store, { schema, write: { autoCompact: false } });
  for (let i = 0; i < 3; i++) {
    await ds.append(rows(i * 10, 10));
    await ds.commit(`seed ${i}`);
  }
  const old = await ds.tag('old');
  const state = await versionState(await ds.checkout({ tag: 'old' }));
  await ds.delete({ where: 'seq % 4 = 0' });
  await ds.commit('seed delete');
  await ds.close();
  return { version: old.id, state };
}

async function eightProcesses(store: ObjectStore, vacuumOlderThanMs: number): Promise<void> {
  const { version, state } = await seed(store);
  const runs = await Promise.all([
    ...Array.from({ length: APPENDERS }, (_, w) => runWorker(['append', store.url, String(w + 1), String(COMMITS)])),
    runWorker(['compact', store.url, '3']),
    runWorker(['vacuum', store.url, '2', String(vacuumOlderThanMs)]),
    runWorker(['read', store.url, version, 'old', state, '3']),
    runWorker(['read', store.url, version, 'old', state, '3']),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.err);
  const ds = await quiver.open(store);
  try {
    await versionState(ds);
    const got = await ds.query('select seq // 1000 as w, count(*) as n, count(distinct seq) as d from dataset where seq >= 1000 group by w order by w');
    assert.deepEqual(got, Array.from({ length: APPENDERS }, (_, w) => ({ w: BigInt(w + 1), n: BigInt(COMMITS * 3), d: BigInt(COMMITS * 3) })));
    assert.equal(Number((await ds.query('select count(*) as n from dataset where seq < 1000'))[0].n), 30 - 8, 'the seeded rows changed');
    const messages = new Set<string>();
    for await (const c of ds.log()) messages.add(c.message);
    for (let w = 1; w <= APPENDERS; w++) for (let c = 0; c < COMMITS; c++) assert.ok(messages.has(`w${w} c${c}`), `commit w${w} c${c} lost`);
    for (const target of [{ version }, { tag: 'old' }]) assert.equal(await versionState(await ds.checkout(target)), state, `the old version changed (${JSON.stringify(target)})`);
  } finally {
    await ds.close();
  }
}

for (const factory of storeFactories.filter((f) => f.crossProcess)) {
  describe(`eight processes on the ${factory.name} store`, () => {
    it('lands every commit of 4 appenders once beside a compactor, a vacuum and 2 readers of an old version', { timeout: 300_000 }, async () => {
      await eightProcesses(factory.make(), 3_600_000);
    });

    it('keeps every commit when the vacuum beside them runs with no grace period', { timeout: 300_000 }, async () => {
      await eightProcesses(factory.make(), 0);
    });
  });
}
