// compact's and vacuum's onProgress (what `quiver compact`/`quiver vacuum` draw their bars from):
// counts start at 0, never go down, never pass the total, and end at it; the total is the rows
// compacted (the picked fragments' live rows) and the objects vacuum listed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../../src/index.js';

function recorder(): { calls: [number, number][]; onProgress: (done: number, total: number) => void } {
  const calls: [number, number][] = [];
  return { calls, onProgress: (done, total) => void calls.push([done, total]) };
}

function checkCounts(calls: [number, number][], total: number): void {
  assert.ok(calls.length >= 2, JSON.stringify(calls));
  assert.deepEqual(calls[0], [0, total]);
  assert.deepEqual(calls.at(-1), [total, total]);
  for (let i = 1; i < calls.length; i++) {
    assert.ok(calls[i][0] >= calls[i - 1][0] && calls[i][0] <= total && calls[i][1] === total, JSON.stringify(calls));
  }
}

describe('compact and vacuum report progress', () => {
  it('compact counts rows written of the live rows it rewrites, one step per written fragment', async () => {
    const ds = await quiver.create('memory://compact-progress', { schema: { n: 'int' } });
    for (let c = 0; c < 3; c++) {
      await ds.append(Array.from({ length: 100 }, (_, i) => ({ n: c * 100 + i })));
      await ds.commit(`part ${c}`);
    }
    await ds.delete({ where: 'n < 10' });
    await ds.commit('ten gone');
    const r = recorder();
    const c = await ds.compact({ fragmentRowsMax: 120, onProgress: r.onProgress });
    assert.ok(c);
    checkCounts(r.calls, 290);
    assert.deepEqual(r.calls.map(([d]) => d), [0, 120, 240, 290], 'one report per 120-row fragment');
    await ds.close();
  });

  it('vacuum counts objects decided on of the objects listed, in a dry run and a real one', async () => {
    const ds = await quiver.create('memory://vacuum-progress', { schema: { n: 'int' } });
    const s = await ds.branch('scratch');
    await s.append([{ n: 1 }, { n: 2 }]);
    await s.commit('scratch rows');
    await s.close();
    await ds.deleteBranch('scratch');
    // A cutoff in the future: every unreachable object counts as old, however fast this ran.
    const olderThan = new Date(Date.now() + 3_600_000);
    const dry = recorder();
    const would = await ds.vacuum({ dryRun: true, olderThan, onProgress: dry.onProgress });
    const total = dry.calls[0][1];
    checkCounts(dry.calls, total);
    assert.equal(total, would.deleted + would.reachable + would.pending + would.young, 'every listed object is counted once');
    assert.ok(would.deleted > 0);
    const real = recorder();
    const done = await ds.vacuum({ olderThan, onProgress: real.onProgress });
    checkCounts(real.calls, total);
    assert.equal(done.deleted, would.deleted, JSON.stringify({ would, done }));
    await ds.close();
  });
});
