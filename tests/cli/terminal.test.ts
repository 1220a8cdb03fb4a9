// The progress bar in a real terminal: `quiver index create` on a few thousand rows, then
// `quiver compact` and `quiver vacuum` on a dataset of small fragments, run in a tmux pane (a
// private tmux server, its own socket), and the pane afterwards shows each bar's last
// state with count, rate and ETA on one line, the command's result on the next, and a clean
// prompt after it. The test waits on a tmux channel the command signals when it ends, never on
// a timer. Skipped with the reason without tmux (scripts/servers/tmux.sh), failed under CI=true.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as quiver from '../../src/index.js';
import { QUIVER_BIN } from '../helpers/cli.js';
import { prng, tempDir } from '../helpers/tmp.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const missing = hasTmux ? null : 'tmux is not installed (scripts/servers/tmux.sh up installs it)';
if (missing && process.env.CI === 'true') throw new Error(`cli terminal: ${missing}`);

const rows = 3000;
const dim = 16;
const socket = `quiver-test-${process.pid}`;
const prompt = 'READY$ ';

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('quiver in a terminal', () => {
  after(() => {
    if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  });

  it('draws the progress bars of index create, compact and vacuum with count, rate and ETA, and leaves a clean prompt', { skip: missing ?? false, timeout: 300_000 }, async () => {
    const dir = tempDir('quiver-tty-');
    const url = join(dir, 'ds');
    const seed = 17;
    const next = prng(seed);
    const ds = await quiver.create(url, { schema: { emb: `emb-${dim}` } });
    await ds.append(Array.from({ length: rows }, () => ({ emb: Float32Array.from({ length: dim }, () => next() - 0.5) })));
    await ds.commit('vectors');
    await ds.close();
    // Three small fragments, so compact has work (autoCompact waits for 32).
    const small = await quiver.create(join(dir, 'small'), { schema: { n: 'int' } });
    for (let c = 0; c < 3; c++) {
      await small.append(Array.from({ length: 100 }, (_, i) => ({ n: c * 100 + i })));
      await small.commit(`part ${c}`);
    }
    await small.close();

    // The typed line stays short; the command, and the signal that it ended, live in a script.
    writeFileSync(join(dir, 'build.sh'), [
      `${JSON.stringify(process.execPath)} ${JSON.stringify(QUIVER_BIN)} index create ./ds emb --kind vector --build-batch-vectors 250`,
      `${JSON.stringify(process.execPath)} ${JSON.stringify(QUIVER_BIN)} compact ./small`,
      `${JSON.stringify(process.execPath)} ${JSON.stringify(QUIVER_BIN)} vacuum ./small --older-than-ms 0`,
      `tmux -L ${socket} wait-for -S built`,
    ].join('\n'));
    // HISTFILE: killed at the end, the pane's shell wrote ~/.bash_history into the temp folder
    // while the process removed it (ENOTEMPTY at exit, seen once in CI).
    tmux('new-session', '-d', '-s', 'cli', '-x', '180', '-y', '24', '-c', dir, 'env', '-i', `PATH=${process.env.PATH}`, `HOME=${dir}`, 'TERM=screen', 'HISTFILE=/dev/null', `PS1=${prompt}`, 'bash', '--norc', '--noprofile');
    tmux('send-keys', '-t', 'cli', 'bash build.sh', 'Enter');
    tmux('wait-for', 'built');
    // The script's last act is the signal; the shell prints its prompt just after. Wait for that
    // marker in the pane (bounded polls; what is checked does not depend on how long it takes).
    let lines: string[] = [];
    for (let poll = 0; poll < 600; poll++) {
      lines = tmux('capture-pane', '-p', '-t', 'cli').split('\n').map((l) => l.trimEnd());
      if (lines.filter((l) => l.startsWith(prompt.trimEnd())).length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const at = lines.findIndex((l) => l.startsWith('index emb ['));
    assert.ok(at >= 0, `no progress bar in the pane:\n${lines.join('\n')}`);
    assert.match(lines[at], new RegExp(`^index emb \\[\\u2588{30}\\] 100% \\| ${rows}/${rows} vectors \\| \\d+(\\.\\d)? vectors/s \\| ETA \\d+ s$`));
    assert.match(lines[at + 1], /^vector index on emb, version [0-9a-f]{32}$/, 'the result starts on a clean line after the bar');
    const eta = '\\| \\d+(\\.\\d)? (rows|objects)/s \\| ETA \\d+ s$';
    assert.match(lines[at + 2], new RegExp(`^compact \\[\\u2588{30}\\] 100% \\| 300/300 rows ${eta}`), `compact's bar:\n${lines.join('\n')}`);
    assert.match(lines[at + 3], /^compacted, version [0-9a-f]{32}$/);
    const vacuumBar = new RegExp(`^vacuum \\[\\u2588{30}\\] 100% \\| (\\d+)/(\\d+) objects ${eta}`).exec(lines[at + 4]);
    assert.ok(vacuumBar && vacuumBar[1] === vacuumBar[2] && Number(vacuumBar[1]) > 0, `vacuum's bar:\n${lines.join('\n')}`);
    assert.match(lines[at + 5], /^deleted 0 objects \(0 bytes\); kept \d+ reachable/);
    assert.equal(lines[at + 6], prompt.trimEnd(), 'the prompt after the commands is clean');
  });
});
