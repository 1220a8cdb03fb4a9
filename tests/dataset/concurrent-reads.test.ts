// Reads of one handle run from a pinned version on read lanes of their own, beside each other
// and beside the handle's writer: a query never waits for the writer's lock, and never sees a
// version that is half published. Markers, never timers: a gate on the ref's write holds a
// publish in the middle (its manifest and commit written, the ref not yet moved).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { ReadLanes } from '../../src/dataset/read-lanes.js';
import { Engine } from '../../src/query/index.js';
import { ForwardingStore, LocalStore, type ObjectInfo, type PutCondition, type PutData } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';

const ROWS_PER_COMMIT = 10;
const schema = { v: 'int', emb: 'emb-4' };

/** A local store whose next write of a branch ref waits until `open()`; `reached` resolves when one does. */
class RefGate extends ForwardingStore {
  #armed: { reached: () => void; release: Promise<void> } | undefined;
  arm(): { reached: Promise<void>; open: () => void } {
    let open!: () => void;
    let reached!: () => void;
    const hit = new Promise<void>((r) => (reached = r));
    this.#armed = { reached, release: new Promise<void>((r) => (open = r)) };
    return { reached: hit, open };
  }
  override async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const armed = key.startsWith('refs/heads/') ? this.#armed : undefined;
    if (armed) {
      this.#armed = undefined;
      armed.reached();
      await armed.release;
    }
    return super.put(key, data, condition);
  }
}

/** Commit k's rows: v = k, and an embedding whose first coordinate grows with k. */
const rowsOf = (k: number) => Array.from({ length: ROWS_PER_COMMIT }, (_, i) => ({ v: k, emb: Float32Array.from([k, 1 + i / 100, 0.5, 0.25]) }));

/** The exact answer after k commits. */
const exactAt = (k: number) => ({ n: ROWS_PER_COMMIT * k, s: (ROWS_PER_COMMIT * k * (k + 1)) / 2 });

describe('concurrent reads', () => {
  it('answer from the published version while the handle publishes, without waiting for its lock', async () => {
    const store = new RefGate(new LocalStore(tempDir()));
    const ds = await quiver.create(store, { schema });
    await ds.append(rowsOf(1));
    await ds.commit('1');
    const gate = store.arm();
    await ds.append(rowsOf(2));
    const committing = ds.commit('2');
    await gate.reached; // the publish holds the mutex, commit 2's manifest written, its ref not moved
    const during = await Promise.all(Array.from({ length: 8 }, () => ds.query('select count(*)::INT as n, sum(v)::INT as s from dataset')));
    for (const r of during) assert.deepEqual(r[0], exactAt(1));
    const near = await ds.query('select v from dataset order by l2_distance(emb, $1) limit 1', [Float32Array.from([9, 1, 0.5, 0.25])]);
    assert.equal(near[0].v, 1);
    gate.open();
    await committing;
    assert.deepEqual((await ds.query('select count(*)::INT as n, sum(v)::INT as s from dataset'))[0], exactAt(2));
    await ds.close();
  });

  it('each of 8 readers gets the exact answer of the version it reports while a writer publishes in a loop', async () => {
    const dir = tempDir();
    const writer = await quiver.create(dir, { schema });
    await writer.append(rowsOf(1));
    await writer.commit('1');
    const reader = await quiver.open(dir);
    const COMMITS = 12;
    // A read sees at least the last version whose commit returned before it started, and at
    // most the one being committed (its ref may move before commit() returns).
    let published = 1;
    let committing = 1;
    let done = false;
    const writing = (async () => {
      for (let k = 2; k <= COMMITS; k++) {
        committing = k;
        await writer.append(rowsOf(k));
        await writer.commit(String(k));
        published = k;
      }
      done = true;
    })();
    const checks = { reads: 0 };
    const readLoop = async (r: number) => {
      // Each reader reads until the writer is done, then once more (so every reader sees the last version).
      for (let last = false; !last; ) {
        last = done;
        const before = published;
        const sql = r % 2 ? 'select max(v) as k, count(*)::INT as n, sum(v)::INT as s from dataset' : 'select v as k from dataset order by l2_distance(emb, $1) limit 1';
        // Half the readers query the writer's own handle, the others a handle of their own.
        const rows = await (r % 4 < 2 ? writer : reader).query(sql, r % 2 ? [] : [Float32Array.from([1000, 1, 0.5, 0.25])]);
        const k = Number(rows[0].k);
        assert.ok(k >= before && k <= committing, `reader ${r}: version ${k} outside [${before}, ${committing}]`);
        if (r % 2) assert.deepEqual({ n: rows[0].n, s: rows[0].s }, exactAt(k), `reader ${r}: the answer at version ${k}`);
        checks.reads++;
      }
    };
    await Promise.all([writing, ...Array.from({ length: 8 }, (_, r) => readLoop(r))]);
    assert.ok(checks.reads >= 8);
    const last = await reader.query('select max(v) as k, count(*)::INT as n, sum(v)::INT as s from dataset');
    assert.deepEqual({ k: last[0].k, n: last[0].n, s: last[0].s }, { k: COMMITS, ...exactAt(COMMITS) });
    await reader.close();
    await writer.close();
  });
});

describe('ReadLanes', () => {
  it('runs 8 reads at once, each on a session of its own', async () => {
    const engine = await Engine.create({ threads: 1 });
    const lanes = new ReadLanes(() => engine.session(), 8);
    let entered = 0;
    let all!: () => void;
    const allIn = new Promise<void>((r) => (all = r));
    // Each read waits until all 8 are inside: if any waited for another, none would finish.
    const sessions = await Promise.all(
      Array.from({ length: 8 }, () =>
        lanes.run(async (lane) => {
          if (++entered === 8) all();
          await allIn;
          await lane.session.all('select 1');
          return lane.session;
        }),
      ),
    );
    assert.equal(new Set(sessions).size, 8);
    await lanes.close();
    await assert.rejects(lanes.run(async () => 1), { code: 'closed' });
    engine.close();
  });

  it('makes a read past the bound wait for a free lane, then reuses it', async () => {
    const engine = await Engine.create({ threads: 1 });
    const lanes = new ReadLanes(() => engine.session(), 1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const first = lanes.run(async (lane) => {
      await held;
      order.push('first');
      return lane.session;
    });
    const second = lanes.run(async (lane) => {
      order.push('second');
      return lane.session;
    });
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(a, b);
    await lanes.close();
    engine.close();
  });

  it('gives a waiting read the first lane freed, not the one still opening for it', async () => {
    // The second open waits on a gate: the read that started it must not wait for it once the
    // busy lane is freed (opening a lane cost 0.3-1.3 s under load, see read-lanes.ts).
    const engine = await Engine.create({ threads: 1 });
    let opens = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const lanes = new ReadLanes(async () => {
      if (++opens > 1) await gate;
      return engine.session();
    }, 8);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFirst = new Promise<void>((r) => (started = r));
    const first = lanes.run(async (lane) => {
      started();
      await held;
      return lane.session;
    });
    await inFirst;
    const second = lanes.run(async (lane) => lane.session);
    release();
    const a = await first;
    const b = await second; // before: waited for the gated open, and ran on the new session
    assert.equal(b, a);
    assert.equal(opens, 2);
    assert.deepEqual(lanes.stats, { opened: 1, waited: 2 }); // both found no idle lane; one opened so far
    openGate();
    // The lane opened meanwhile serves later reads: two at once run on two sessions.
    let both!: () => void;
    let inside = 0;
    const together = new Promise<void>((r) => (both = r));
    const pair = await Promise.all([0, 1].map(() => lanes.run(async (lane) => (++inside === 2 && both(), await together, lane.session))));
    assert.equal(new Set(pair).size, 2);
    assert.equal(lanes.stats.opened, 2);
    await lanes.close();
    engine.close();
  });

  it('fails the read a lane was opened for when the open fails and no lane frees, and opens again for the next', async () => {
    const engine = await Engine.create({ threads: 1 });
    let fail = true;
    const lanes = new ReadLanes(async () => {
      if (fail) throw new Error('no session');
      return engine.session();
    }, 2);
    await assert.rejects(lanes.run(async () => 1), /no session/);
    fail = false;
    assert.equal(await lanes.run(async () => 2), 2);
    assert.equal(lanes.stats.opened, 1);
    await lanes.close();
    engine.close();
  });
});
