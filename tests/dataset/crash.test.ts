// Kills a writer process at random instants (seeded) during append and commit, then checks
// that the dataset opens at a committed version with every committed row intact.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { prng, tempDir } from '../helpers/tmp.js';

const SEED = Number(process.env.QUIVER_SEED ?? 20261122);
const KILLS = Number(process.env.QUIVER_CRASH_KILLS ?? 10);
const BATCH = 10;

function runAndKill(dir: string, afterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/dataset/fixtures/crash-writer.ts', dir, String(BATCH)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let committed = -1;
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/committed (\d+)/g)) committed = Number(m[1]);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${code}): ${err}`));
      else resolve(committed);
    });
  });
}

describe('crash safety', () => {
  it(`keeps every committed row when the writer is killed at random instants (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const rand = prng(SEED);
    const dir = tempDir() + '/crash';
    let lastSeen = 0;
    for (let k = 0; k < KILLS; k++) {
      // Early kills land during start-up and create; later ones during appends and commits.
      // Under load (CI runs files in parallel) start-up is slower, so the window is wide.
      const afterMs = 500 + Math.floor(rand() * 3000);
      const reported = await runAndKill(dir, afterMs);
      let ds: quiver.Dataset;
      try {
        ds = await quiver.open(dir);
      } catch (e) {
        // Killed before the dataset was created: nothing was committed, so nothing is lost.
        assert.equal(reported, -1, `seed ${SEED}, kill ${k}: dataset missing after commits were reported`);
        continue;
      }
      const [{ n, lo, hi, distinct }] = await ds.query('select count(*) as n, min(seq) as lo, max(seq) as hi, count(distinct seq) as distinct from dataset');
      const rows = Number(n);
      assert.ok(rows >= reported, `seed ${SEED}, kill ${k}: ${rows} rows but ${reported} were reported committed`);
      assert.ok(rows >= lastSeen, `seed ${SEED}, kill ${k}: rows went from ${lastSeen} to ${rows}`);
      assert.equal(rows % BATCH, 0, `seed ${SEED}, kill ${k}: a partial batch is visible (${rows} rows)`);
      assert.equal(Number(distinct), rows, `seed ${SEED}, kill ${k}: duplicate rows`);
      if (rows > 0) assert.deepEqual([Number(lo), Number(hi)], [0, rows - 1]);
      const bad = await ds.query(`select count(*) as bad from dataset where prompt <> 'p' || seq or emb[1] <> seq or octet_length(blob) <> 2000`);
      assert.equal(Number(bad[0].bad), 0);
      lastSeen = rows;
      await ds.close();
    }
    assert.ok(lastSeen > 0, 'no kill happened after a commit: raise the delays');
  });
});
