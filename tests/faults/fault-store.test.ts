// The fault-injecting store itself: writes are numbered in issue order per operation and phase,
// a crash rejects the faulted write (which never reaches the inner store) and every later call,
// and a byte budget fails puts with ENOSPC.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQuiverError } from '../../src/errors.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FaultStore } from '../helpers/fault-store.js';

const b = (n: number) => new Uint8Array(n);

describe('FaultStore', () => {
  it('numbers every kind of write in issue order and attributes it to the current phase', async () => {
    const s = new FaultStore(new MemoryStore());
    const a = await s.put('a', b(1));
    s.phase = 'commit';
    await s.put('b', b(1), { ifAbsent: true });
    await s.put('a', b(2), { ifMatch: a.etag });
    await s.delete('b');
    await s.get('a');
    assert.deepEqual(s.log.map((w) => [w.n, w.op, w.key, w.phase]), [
      [1, 'put', 'a', 'start'],
      [2, 'put-if-absent', 'b', 'commit'],
      [3, 'put-if-match', 'a', 'commit'],
      [4, 'delete', 'b', 'commit'],
    ]);
    assert.equal(s.phaseWrites.get('commit'), 3);
  });

  it('crashes at write N: that write never lands and every later call rejects', async () => {
    const inner = new MemoryStore();
    const s = new FaultStore(inner, { failAt: 2 });
    await s.put('a', b(1));
    await assert.rejects(s.put('b', b(1)), (e) => isQuiverError(e, 'io'));
    assert.equal(await inner.head('b'), null);
    assert.equal(s.crashed, 2);
    await assert.rejects(s.get('a'), /crashed at write 2/);
    await assert.rejects(s.delete('a'), /crashed at write 2/);
    assert.ok(await inner.head('a'));
  });

  it('crashes at the Nth write of a named phase', async () => {
    const s = new FaultStore(new MemoryStore(), { failAt: { phase: 'vacuum', nth: 2 } });
    await s.put('a', b(1));
    s.phase = 'vacuum';
    await s.delete('x');
    await assert.rejects(s.delete('y'));
    assert.equal(s.crashed, 3);
  });

  it('lands a write whose reply it loses, and keeps working afterwards', async () => {
    const inner = new MemoryStore();
    const s = new FaultStore(inner, { failAt: 1, mode: 'lost-ack' });
    await assert.rejects(s.put('a', b(3), { ifAbsent: true }), /reply to write 1/);
    assert.equal((await inner.head('a'))?.size, 3);
    await assert.rejects(s.put('a', b(3), { ifAbsent: true }), (e) => isQuiverError(e, 'conflict'));
    await s.delete('a');
    assert.equal(await inner.head('a'), null);
  });

  it('fails puts past its byte budget with ENOSPC and writes nothing, until the budget is raised', async () => {
    const inner = new MemoryStore();
    const s = new FaultStore(inner, { bytesMax: 10 });
    await s.put('a', b(6));
    await assert.rejects(s.put('b', b(6)), (e) => isQuiverError(e, 'io') && (e.cause as { code?: string }).code === 'ENOSPC');
    assert.equal(await inner.head('b'), null);
    s.bytesMax = undefined;
    await s.put('b', b(6));
  });
});
