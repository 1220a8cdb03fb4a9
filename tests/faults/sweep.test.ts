// Fault sweep, in process, on every store: a clean run of the scenario numbers its writes; then
// the store crashes at write N (that write and every later call fail) and the dataset reopened
// on the same objects must show exactly the last step that returned (or the one in flight),
// and still take commits; and the reply to write N is lost (it landed, the caller saw an error).
// Default: one seeded write per phase; QUIVER_FAULT_SWEEP=full: every N.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import { FaultStore } from '../helpers/fault-store.js';
import { allowedStates, cleanRun, datasetState, FULL, PHASES, pickWrites, runScenario, schema, stillWritable, type Checkpoint } from './scenario.js';
import { storeFactories, type StoreFactory } from './stores.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261202);

async function crashAt(factory: StoreFactory, clean: { checkpoints: Checkpoint[]; phases: string[] }, n: number): Promise<void> {
  const where = `seed ${SEED}, ${factory.name} store, crash at write ${n} (${clean.phases[n - 1]})`;
  const store = new FaultStore(factory.make(), { failAt: n, mode: 'crash' });
  await assert.rejects(runScenario(store, async () => undefined), `${where}: the scenario finished without reaching write ${n}`);
  assert.equal(store.crashed, n, `${where}: the run failed before the fault`);
  assert.equal(store.log[n - 1].phase, clean.phases[n - 1], `${where}: the run is not deterministic`);
  const allowed = allowedStates(clean.checkpoints, n);
  const state = await datasetState(store.inner);
  assert.ok(allowed.some((c) => c.state === state), `${where}: state ${state}\nexpected one of\n${allowed.map((c) => `${c.label}: ${c.state}`).join('\n')}`);
  // A fault during create may leave nothing, but never a dataset that can be neither opened nor created.
  if (state === 'absent') await (await quiver.create(store.inner, { schema })).close();
  else await stillWritable(store.inner);
}

/**
 * Write N lands but its reply is lost; the store keeps working. The scenario must then either
 * finish with the clean run's final state (a retry that noticed its own write) or fail typed at
 * that step, leaving the last step that returned or the one in flight.
 */
async function lostAckAt(factory: StoreFactory, clean: { checkpoints: Checkpoint[]; phases: string[] }, n: number): Promise<void> {
  const where = `seed ${SEED}, ${factory.name} store, lost reply to write ${n} (${clean.phases[n - 1]})`;
  const store = new FaultStore(factory.make(), { failAt: n, mode: 'lost-ack' });
  const finished = await runScenario(store, async () => undefined).then(
    () => true,
    (e) => {
      assert.ok(isQuiverError(e), `${where}: untyped error ${(e as Error).stack}`);
      return false;
    },
  );
  assert.equal(store.faultedAt, n, `${where}: the run ended before write ${n}`);
  const state = await datasetState(store.inner);
  const allowed = finished ? clean.checkpoints.slice(-1) : allowedStates(clean.checkpoints, n + 1);
  assert.ok(allowed.some((c) => c.state === state), `${where}: ${finished ? 'finished' : 'failed'} with state ${state}\nexpected one of\n${allowed.map((c) => `${c.label}: ${c.state}`).join('\n')}`);
  if (state === 'absent') await (await quiver.create(store.inner, { schema })).close();
  else await stillWritable(store.inner);
}

for (const factory of storeFactories) {
  describe(`fault sweep on the ${factory.name} store (seed ${SEED}${FULL ? ', full' : ''})`, () => {
    let clean: { checkpoints: Checkpoint[]; phases: string[] };
    before(async () => {
      clean = await cleanRun(() => new FaultStore(factory.make()));
    });

    for (const [k, phase] of PHASES.entries()) {
      it(`keeps every committed row and shows no uncommitted one when a write of ${phase} fails`, { timeout: 600_000 }, async () => {
        const points = pickWrites(clean.phases, phase, SEED + k);
        assert.ok(points.length > 0, `the scenario issues no write in phase ${phase}`);
        for (const n of points) await crashAt(factory, clean, n);
      });
    }
  });
}

// The lost reply is the wrapper's doing, not the store's: one store by default, all in a full sweep.
for (const factory of FULL ? storeFactories : storeFactories.slice(0, 1)) {
  describe(`lost replies on the ${factory.name} store (seed ${SEED}${FULL ? ', full' : ''})`, () => {
    let clean: { checkpoints: Checkpoint[]; phases: string[] };
    before(async () => {
      clean = await cleanRun(() => new FaultStore(factory.make()));
    });

    for (const [k, phase] of PHASES.entries()) {
      it(`neither loses nor repeats a step when the reply to a write of ${phase} is lost`, { timeout: 600_000 }, async () => {
        const points = pickWrites(clean.phases, phase, SEED + 100 + k);
        for (const n of points) await lostAckAt(factory, clean, n);
      });
    }
  });
}
