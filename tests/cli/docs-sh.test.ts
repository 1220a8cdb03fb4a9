// The ```sh blocks of docs/cli.md, docs/import-export.md and the README's CLI quick start run,
// in order, as one bash script per file (`set -euo pipefail`), in a temp folder, with `quiver`
// on PATH: so a command the docs show cannot rot. The folder starts with what the prose leaves
// to the reader: ./photos/ (a few real PNGs) and photos.jsonl (their metadata, by file_name).
// `quiver serve` and `quiver worker` run until they print their ready line, then get SIGTERM and
// must exit 0; serve's `--port 7700` becomes `--port 0` (a free port: other test runs share the
// machine), and the worker's `$REDIS_URL` is the test Redis. Skipped with the reason without
// Redis (failed under CI=true, as every server-backed test is).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { QUIVER_BIN } from '../helpers/cli.js';
import { redisUrl } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const root = resolve('.');
const redis = redisUrl();
const missing = typeof redis === 'string' ? redis : null;
if (missing && process.env.CI === 'true') throw new Error(`docs sh blocks: ${missing}`);

/** The ```sh blocks of a Markdown file that run `quiver`, in order. */
export function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]).filter((b) => /^quiver /m.test(b));
}

/** The `quiver` on PATH: bin/quiver.mjs, with serve and worker stopped once ready. */
const shim = `#!${process.execPath}
import { spawn } from 'node:child_process';
const args = process.argv.slice(2);
const lasting = args[0] === 'serve' || args[0] === 'worker';
const port = args.indexOf('--port');
if (args[0] === 'serve' && port >= 0) args[port + 1] = '0';
const child = spawn(process.execPath, [${JSON.stringify(QUIVER_BIN)}, ...args], { stdio: ['ignore', lasting ? 'pipe' : 'inherit', 'inherit'] });
if (lasting) {
  let seen = '';
  child.stdout.on('data', (b) => {
    process.stdout.write(b);
    seen += b;
    if (/listening on|: ready/.test(seen)) child.kill('SIGTERM');
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
`;

async function prelude(dir: string): Promise<void> {
  mkdirSync(join(dir, 'photos'));
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40 * i, g: 90, b: 200 - 30 * i } } }).png().toBuffer();
    writeFileSync(join(dir, 'photos', `img-${i}.png`), png);
    const prompt_emb = Array.from({ length: 768 }, (_, k) => Math.sin(i * 13 + k));
    lines.push(JSON.stringify({ file_name: `img-${i}.png`, prompt: `a red car ${i}`, rating: i % 6, tags: i % 2 ? ['safe'] : ['unsafe'], user_id: `u${i % 3 === 0 ? 1 : 9}`, prompt_emb }));
  }
  writeFileSync(join(dir, 'photos.jsonl'), `${lines.join('\n')}\n`);
}

async function runBlocks(markdownPath: string): Promise<void> {
  const dir = tempDir('quiver-docs-sh-');
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'quiver'), shim);
  chmodSync(join(bin, 'quiver'), 0o755);
  await prelude(dir);
  const blocks = shBlocks(readFileSync(markdownPath, 'utf8'));
  assert.ok(blocks.length > 0, `${markdownPath} has no sh block that runs quiver`);
  // Each block echoes a marker after it, so a failure names the block it stopped in.
  const script = ['set -euo pipefail', ...blocks.map((b, i) => `${b}\necho "== block ${i + 1} of ${blocks.length} ran"`)].join('\n');
  const r = spawnSync('bash', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 900_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REDIS_URL: typeof redis === 'string' ? '' : redis.url },
  });
  const ran = [...r.stdout.matchAll(/^== block (\d+) of/gm)].length;
  assert.equal(r.status, 0, `${markdownPath}: block ${ran + 1} failed (${blocks[ran]?.split('\n')[0]} …):\n${r.stderr.slice(-3000)}`);
  assert.equal(ran, blocks.length);
}

describe('the sh blocks of the docs run', () => {
  it('docs/cli.md', { skip: missing ?? false, timeout: 900_000 }, () => runBlocks(join(root, 'docs/cli.md')));
  it('docs/import-export.md', { timeout: 600_000 }, () => runBlocks(join(root, 'docs/import-export.md')));
  it("README.md's CLI quick start", { timeout: 600_000 }, () => runBlocks(join(root, 'README.md')));
});
