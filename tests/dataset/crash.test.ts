// Kills a writer process (kill -9) at seeded writes of every phase of the fault scenario, each
// on a fresh dataset, then checks the reopened dataset shows exactly the last step that returned
// (or the one in flight) and still takes commits. The kill point is a write number, so a seed
// replays the same run. Default: one write per phase; QUIVER_FAULT_SWEEP=full kills at every write.
// Runs on every cross-process store: the local store and S3 on the radosgw test server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { FaultStore } from '../helpers/fault-store.js';
import { allowedStates, cleanRun, datasetState, PHASES, pickWrites, schema, stillWritable, type Checkpoint } from '../faults/scenario.js';
import { s3Factory, storeFactories, type StoreFactory } from '../faults/stores.js';
import { withServer } from '../helpers/servers.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261122);

function runUntilKilled(url: string, n: number): Promise<{ signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/dataset/fixtures/crash-writer.ts', url, String(n)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (_code, signal) => resolve({ signal, err }));
  });
}

/** Kill runs in flight at once on a remote store, where each child mostly waits on requests (local runs are CPU-bound: one at a time). */
const REMOTE_KILLS_IN_FLIGHT_MAX = 4;

/** Runs `tasks` with at most `limit` at once; each promise settles with its task. */
function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T>[] {
  let next = 0;
  const out = tasks.map(() => {
    let settle!: (p: Promise<T>) => void;
    const p = new Promise<T>((resolve) => (settle = resolve));
    return { p, settle };
  });
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const run = tasks[i]();
      out[i].settle(run);
      await run.catch(() => undefined);
    }
  };
  for (let w = 0; w < limit; w++) void worker();
  return out.map((o) => o.p);
}

/** Kills a writer at write `n` of a fresh dataset, then checks the reopened state and that it still commits. */
async function killAt(factory: StoreFactory, clean: { checkpoints: Checkpoint[] }, n: number, phase: string): Promise<void> {
  const where = `seed ${SEED}, kill -9 at write ${n}`;
  const store = factory.make();
  const r = await runUntilKilled(store.url, n);
  assert.equal(r.signal, 'SIGKILL', `${where}: the writer was not killed: ${r.err}`);
  const landed = /kill -9 at write (\d+) \(\S+ \S+, phase (\w+),/.exec(r.err);
  assert.deepEqual(landed && [Number(landed[1]), landed[2]], [n, phase], `${where}: the kill landed elsewhere: ${r.err}`);
  const allowed = allowedStates(clean.checkpoints, n);
  const state = await datasetState(store);
  assert.ok(allowed.some((c) => c.state === state), `${where}: state ${state}\nexpected one of\n${allowed.map((c) => `${c.label}: ${c.state}`).join('\n')}`);
  if (state === 'absent') await (await quiver.create(store, { schema })).close();
  else await stillWritable(store);
}

/** The kill -9 cases on one store, `inFlight` kills at a time; `prepare` runs first (an S3 bucket). */
function crashSuite(factory: StoreFactory, inFlight = 1, prepare: () => Promise<void> = async () => undefined): void {
  describe(`crash safety on the ${factory.name} store (seed ${SEED})`, () => {
    const runs = new Map<string, Promise<void>[]>();
    before(async () => {
      await prepare();
      const clean = await cleanRun(() => new FaultStore(factory.make()));
      const tasks = PHASES.flatMap((phase, k) => pickWrites(clean.phases, phase, SEED + k).map((n) => ({ phase, run: () => killAt(factory, clean, n, phase) })));
      const started = pooled(tasks.map((t) => t.run), inFlight);
      tasks.forEach((t, i) => runs.set(t.phase, [...(runs.get(t.phase) ?? []), started[i]]));
      for (const p of started) p.catch(() => undefined); // reported by the phase's test
    });

    for (const phase of PHASES) {
      it(`keeps every committed row when the writer is killed at a write of ${phase}`, { timeout: 600_000 }, async () => {
        const points = runs.get(phase) ?? [];
        assert.ok(points.length > 0, `the scenario issues no write in phase ${phase}`);
        for (const p of points) await p;
      });
    }
  });
}

for (const factory of storeFactories.filter((f) => f.crossProcess)) crashSuite(factory);
withServer('s3', 'crash safety on the s3 store (radosgw)', (server) => crashSuite(s3Factory(server), REMOTE_KILLS_IN_FLIGHT_MAX, () => server.prepare()));
