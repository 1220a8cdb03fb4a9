// Runs the Python client's unittest suite (clients/python/tests) with Debian's /usr/bin/python3
// against a real Quiver server this test starts over a fixture dataset (with an `ft-v12` branch
// for docs/training.md's PyTorch example). Python failing fails this test. Without torch it is
// skipped with the reason, except under CI=true, where it fails (.ci/run installs torch).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { createToken, serve } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { imageDataset } from '../stream/fixture.js';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const missing = probe.status === 0 ? null : `${PYTHON} cannot import torch and numpy (run scripts/servers/python-torch.sh up): ${probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)}`;
if (missing && process.env.CI === 'true') throw new Error(`clients/python: ${missing}`);

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { cwd: resolve('.'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', fail);
    p.on('close', (code) => done({ code, out }));
  });
}

describe('clients/python (quiver_torch)', () => {
  it('passes its unittest suite against a real server', { skip: missing ?? false, timeout: 300_000 }, async () => {
    const root = tempDir('quiver-python-');
    const ds = await imageDataset(join(root, 'gen'), 2, 25);
    const ft = await ds.branch('ft-v12');
    await ft.curate('rating >= 1', 'curated');
    const server = await serve({ root, port: 0, onBootstrapToken: false });
    const { token } = await createToken(root, 'python-tests', { role: 'read', datasets: ['gen'] });
    try {
      const r = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-t', 'clients/python', '-v'], {
        QUIVER_URL: server.url,
        QUIVER_TOKEN: token,
        QUIVER_DATASET: 'gen',
        QUIVER_ROWS: String(ds.rowCount),
        PYTHONPATH: resolve('clients/python'),
        PYTHONDONTWRITEBYTECODE: '1',
      });
      assert.equal(r.code, 0, `python unittest failed:\n${r.out}`);
      assert.match(r.out, /OK/);
    } finally {
      await server.close();
      await ft.close();
      await ds.close();
    }
  });
});
