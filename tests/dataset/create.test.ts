// Dataset.create is atomic: a create killed at any put leaves a folder that `open` reports as
// half-created and that `create` finishes, never one that neither accepts. The kill is the
// child's Nth put (deterministic), not a timer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { LocalStore, type ObjectInfo, type PutCondition, type PutData } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';

/** Runs the child, which kills itself just before its put number `killAt`; true when it was killed. */
function createKilledAt(dir: string, killAt: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/dataset/fixtures/create-killed.ts', dir, String(killAt)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve(signal === 'SIGKILL') : reject(new Error(`create child failed: ${stderr}`))));
  });
}

/** How many puts a whole create makes, counted in this process with the same store. */
async function putsOfCreate(): Promise<number> {
  let puts = 0;
  const store = new (class extends LocalStore {
    override put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
      puts++;
      return super.put(key, data, condition);
    }
  })(tempDir());
  await (await quiver.create(store, { schema: { a: 'int' } })).close();
  return puts;
}

describe('Dataset.create', () => {
  it('leaves a dataset that open reports and create finishes, wherever it is killed', async () => {
    const puts = await putsOfCreate();
    assert.ok(puts >= 3, `create made ${puts} puts`);
    const dirs = Array.from({ length: puts }, () => tempDir() + '/ds');
    const killed = await Promise.all(dirs.map((dir, i) => createKilledAt(dir, i + 1)));
    for (const [i, dir] of dirs.entries()) {
      const killAt = i + 1;
      assert.ok(killed[i], `kill at put ${killAt}`);
      await assert.rejects(quiver.open(dir), (e) => quiver.isQuiverError(e, 'not_found') && /no dataset|create it again/.test(e.message), `open after a kill at put ${killAt}`);
      const ds = await quiver.create(dir, { schema: { a: 'int' } });
      await ds.append([{ a: 1 }, { a: 2 }]);
      await ds.commit('rows');
      const again = await quiver.open(dir);
      assert.deepEqual(await again.query('select a from dataset order by a'), [{ a: 1 }, { a: 2 }], `kill at put ${killAt}`);
      await assert.rejects(quiver.create(dir, { schema: { a: 'int' } }), (e) => quiver.isQuiverError(e, 'already_exists'));
      for (const h of [ds, again]) await h.close();
    }
  });
});
