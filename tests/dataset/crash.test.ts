// Kills a writer process (kill -9) at seeded writes of every phase of the fault scenario, each
// on a fresh dataset, then checks the reopened dataset shows exactly the last step that returned
// (or the one in flight) and still takes commits. The kill point is a write number, so a seed
// replays the same run. Default: one write per phase; QUIVER_FAULT_SWEEP=full kills at every write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { FaultStore } from '../helpers/fault-store.js';
import { allowedStates, cleanRun, datasetState, PHASES, pickWrites, schema, stillWritable, type Checkpoint } from '../faults/scenario.js';
import { storeFactories } from '../faults/stores.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261122);

function runUntilKilled(url: string, n: number): Promise<{ signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/dataset/fixtures/crash-writer.ts', url, String(n)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (_code, signal) => resolve({ signal, err }));
  });
}

for (const factory of storeFactories.filter((f) => f.crossProcess)) {
  describe(`crash safety on the ${factory.name} store (seed ${SEED})`, () => {
    let clean: { checkpoints: Checkpoint[]; phases: string[] };
    before(async () => {
      clean = await cleanRun(() => new FaultStore(factory.make()));
    });

    for (const [k, phase] of PHASES.entries()) {
      it(`keeps every committed row when the writer is killed at a write of ${phase}`, { timeout: 600_000 }, async () => {
        const points = pickWrites(clean.phases, phase, SEED + k);
        assert.ok(points.length > 0, `the scenario issues no write in phase ${phase}`);
        for (const n of points) {
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
      });
    }
  });
}
