// Several processes writing one dataset at once: every committed row lands exactly once, no
// commit is lost, branches do not interfere, conflicting updates fail cleanly; and a kill -9 at
// a seeded write of update, delete, merge, compact or vacuum leaves every ref at a consistent commit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { prng, tempDir } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261123);
const SRC = resolve('src/index.ts');
const schema = { worker: 'int', seq: 'int', rating: 'int', blob: 'binary' };

const APPENDER = `
import * as quiver from ${JSON.stringify(SRC)};
const [dir, worker, commits, branch] = process.argv.slice(2);
const ds = await quiver.open(dir, { branch, write: { autoCompact: { smallFragmentsMax: 6 } } });
for (let s = 0; s < Number(commits); s++) {
  await ds.append([0, 1, 2].map((k) => ({ worker: Number(worker), seq: s * 3 + k, rating: 0, blob: new Uint8Array(500).fill(s) })));
  await ds.commit('w' + worker + ' c' + s);
}
await ds.close();
`;

// The chaos writer runs fixed rounds of append, update, delete, a side branch, a three-way merge,
// compaction and vacuum (of a deleted scratch branch), through a FaultStore that kills it at the
// Nth write of one phase: the kill point is chosen by the parent's seed, not by a clock.
const CHAOS = `
import * as quiver from ${JSON.stringify(SRC)};
import { LocalStore } from ${JSON.stringify(resolve('src/storage/index.ts'))};
import { FaultStore } from ${JSON.stringify(resolve('tests/helpers/fault-store.ts'))};
const [dir, phase, nth, roundsMax] = process.argv.slice(2);
const store = new FaultStore(new LocalStore(dir), { failAt: { phase, nth: Number(nth) }, mode: 'kill' });
const at = (p) => (store.phase = p);
const ds = await quiver.open(store, { write: { autoCompact: { smallFragmentsMax: 4 } } });
let i = Number((await ds.query('select count(*) as n from dataset where worker = 9'))[0].n);
for (let round = 0; round < Number(roundsMax); round++) {
  i++;
  at('append');
  await ds.append([0, 1, 2, 3].map((k) => ({ worker: 9, seq: i * 4 + k, rating: k, blob: new Uint8Array(300).fill(k) })));
  await ds.commit('append ' + i);
  at('update');
  if ((await ds.update({ where: 'seq % 7 = $1', params: [i % 7], set: { rating: i, blob: new Uint8Array(10).fill(i & 255) } })).rows) await ds.commit('update ' + i);
  at('delete');
  if ((await ds.delete({ where: 'seq % 11 = $1', params: [i % 11] })).rows) await ds.commit('delete ' + i);
  at('branch');
  const b = await ds.branch('b' + process.pid + '-' + i);
  await b.update({ where: 'seq % 3 = 0', set: { rating: -i } });
  await b.append({ worker: 8, seq: i, rating: 1, blob: null });
  await b.commit('side ' + i);
  if ((await ds.update({ where: 'seq % 3 = 0 and seq % 2 = 0', set: { rating: i * 2 } })).rows) await ds.commit('main ' + i);
  at('merge');
  await ds.merge(b.branchName, { onConflict: i % 2 ? 'ours' : 'theirs' });
  await b.close();
  at('compact');
  await ds.compact();
  at('branch');
  const scratch = await ds.branch('scratch-' + process.pid + '-' + i);
  await scratch.append({ worker: 7, seq: i, rating: 0, blob: new Uint8Array(100) });
  await scratch.commit('scratch ' + i);
  await scratch.close();
  await ds.deleteBranch(scratch.branchName);
  at('vacuum');
  await ds.vacuum({ olderThan: 0 });
  process.stdout.write('round ' + i + '\\n');
}
process.exit(3); // the chosen write never came
`;

const KILL_PHASES = ['update', 'delete', 'merge', 'compact', 'vacuum'] as const;
const CHAOS_ROUNDS_MAX = 6;

function run(script: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      res({ code, out, err });
    });
  });
}

describe('concurrency', () => {
  it('lands every row of 4 processes appending to main and 1 to a side branch exactly once', { timeout: 120_000 }, async () => {
    const root = tempDir();
    const dir = root + '/ds';
    const ds = await quiver.create(dir, { schema });
    await ds.branch('side');
    const script = root + '/appender.mts';
    writeFileSync(script, APPENDER);
    const COMMITS = 12;
    const runs = await Promise.all([
      ...[1, 2, 3, 4].map((w) => run(script, [dir, String(w), String(COMMITS), 'main'])),
      run(script, [dir, '5', String(COMMITS), 'side']),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.err);
    const rows = await ds.query('select worker, count(*) as n, count(distinct seq) as d from dataset group by worker order by worker');
    assert.deepEqual(rows, [1, 2, 3, 4].map((w) => ({ worker: w, n: BigInt(COMMITS * 3), d: BigInt(COMMITS * 3) })));
    const messages = new Set<string>();
    for await (const c of ds.log()) messages.add(c.message);
    for (const w of [1, 2, 3, 4]) for (let s = 0; s < COMMITS; s++) assert.ok(messages.has(`w${w} c${s}`), `commit w${w} c${s} lost`);
    const side = await ds.checkout('side');
    assert.deepEqual(await side.query('select worker, count(*) as n from dataset group by worker'), [{ worker: 5, n: BigInt(COMMITS * 3) }]);
    assert.equal(Number((await ds.query('select count(*) as n from dataset where octet_length(blob) = 500'))[0].n), 4 * COMMITS * 3);
    await side.close();
    await ds.close();
  });

  it('fails the second of two conflicting updates with a conflict error, and appends still rebase', async () => {
    const dir = tempDir() + '/c';
    const a = await quiver.create(dir, { schema });
    await a.append([1, 2, 3].map((seq) => ({ worker: 1, seq, rating: 0, blob: null })));
    await a.commit('seed');
    const b = await quiver.open(dir);
    await a.update({ where: 'seq = 1', set: { rating: 1 } });
    await b.update({ where: 'seq = 1', set: { rating: 2 } });
    await a.commit('a');
    await assert.rejects(b.commit('b'), (e) => isQuiverError(e, 'conflict') && /same rows/.test((e as Error).message));
    const c = await quiver.open(dir);
    await c.update({ where: 'seq = 2', set: { rating: 3 } });
    await a.append({ worker: 1, seq: 4, rating: 0, blob: null });
    await a.commit('append');
    await c.commit('other row');
    assert.deepEqual(await c.query('select seq, rating from dataset order by seq'), [
      { seq: 1, rating: 1 },
      { seq: 2, rating: 3 },
      { seq: 3, rating: 0 },
      { seq: 4, rating: 0 },
    ]);
    for (const h of [a, b, c]) await h.close();
  });

  it(`leaves every ref consistent when killed during update, delete, merge, compact and vacuum (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const rand = prng(SEED);
    const root = tempDir();
    const dir = root + '/chaos';
    await (await quiver.create(dir, { schema })).close();
    const script = root + '/chaos.mts';
    writeFileSync(script, CHAOS);
    const hit = new Set<string>();
    for (const [k, phase] of KILL_PHASES.entries()) {
      const nth = 1 + Math.floor(rand() * 3);
      const where = `seed ${SEED}, kill ${k} (write ${nth} of ${phase})`;
      const r = await run(script, [dir, phase, String(nth), String(CHAOS_ROUNDS_MAX)]);
      assert.equal(r.code, null, `${where}: the chaos writer stopped on its own (${r.code}): ${r.err}`);
      const landed = /kill -9 at write \d+ \(\S+ \S+, phase (\w+), write (\d+) of the phase\)/.exec(r.err);
      assert.deepEqual(landed && [landed[1], Number(landed[2])], [phase, nth], `${where}: the kill landed elsewhere: ${r.err}`);
      hit.add(landed![1]);
      const main = await quiver.open(dir);
      for (const b of await main.branches()) {
        const h = await main.checkout(b.name);
        const [x] = await h.query('select count(*) as n, count(distinct row_id) as d, sum(octet_length(blob)) as bytes from dataset');
        assert.equal(Number(x.n), h.version.stats.rows, `${where}, branch ${b.name}: row count differs from its commit`);
        assert.equal(x.d, x.n, `${where}, branch ${b.name}: duplicate row ids`);
        await h.close();
      }
      await main.close();
    }
    assert.deepEqual([...hit].sort(), [...KILL_PHASES].sort(), `seed ${SEED}: not every phase was killed in`);
  });
});
