// `quiver import|export|verify` run as a user runs them: child processes of bin/quiver.mjs.
// Covers --json reports, exit statuses (0 ok, 1 verify found damage, 2 bad arguments) and an
// import killed midway (at a marker: its second commit is in the store) and resumed, which
// commits every row exactly once.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { readCommit, readRef } from '../../src/format/index.js';
import { openStore } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';
import { records } from '../io/fixtures.js';

const BIN = resolve('bin/quiver.mjs');

function quiver(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The rows the branch head's import meta says are committed, or 0. */
async function committedRows(url: string): Promise<number> {
  const store = openStore(url);
  const ref = await readRef(store, 'branch', 'main').catch(() => null);
  if (!ref) return 0;
  const meta = (await readCommit(store, ref.commit)).meta as { import?: { rowsTotal: number } } | undefined;
  return meta?.import?.rowsTotal ?? 0;
}

describe('quiver import, export and verify', () => {
  it('imports a folder of images with metadata, exports a tag as WebDataset and verifies, with --json reports', async () => {
    const dir = tempDir();
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    const recs = await records(6);
    const meta: string[] = [];
    for (const [i, r] of recs.entries()) {
      writeFileSync(join(photos, `${i}.png`), r.image as Uint8Array);
      meta.push(JSON.stringify({ file_name: `${i}.png`, prompt: r.prompt, rating: i }));
    }
    writeFileSync(join(photos, 'broken.png'), 'nope');
    writeFileSync(join(dir, 'photos.jsonl'), meta.join('\n'));
    const url = join(dir, 'gen');
    const failed = quiver('import', url, photos, '--metadata', join(dir, 'photos.jsonl'));
    assert.equal(failed.status, 2, failed.stderr); // schema_mismatch, by the one exit table (src/cli/commands.ts)
    assert.match(failed.stderr, /^quiver import: import: broken\.png: column "image" expects PNG/);
    const imp = quiver('import', url, photos, '--metadata', join(dir, 'photos.jsonl'), '--on-error', 'skip', '--json');
    assert.equal(imp.status, 0, imp.stderr);
    const report = JSON.parse(imp.stdout);
    assert.equal(report.rows, 6);
    assert.deepEqual(report.skipped.map((s: { at: string }) => s.at), ['broken.png']);
    const ds = await open(url);
    await ds.tag('v1');
    await ds.close();
    const exp = quiver('export', `${url}@v1`, '--to', 'webdataset', join(dir, 'shards'), '--shard-rows', '4', '--json');
    assert.equal(exp.status, 0, exp.stderr);
    assert.deepEqual(JSON.parse(exp.stdout).files, ['shard-000000.tar', 'shard-000001.tar']);
    const ok = quiver('verify', url, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    const victim = readdirSync(join(url, 'data')).find((n) => n.endsWith('.image.parquet'))!;
    const b = readFileSync(join(url, 'data', victim));
    b[Math.floor(b.length / 3)] ^= 1;
    writeFileSync(join(url, 'data', victim), b);
    const bad = quiver('verify', url);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, new RegExp(`corrupt data/${victim}: `));
  });

  it('exits 2 with the usage for bad arguments', () => {
    const r = quiver('export', './x', './y');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /export needs --to/);
    assert.match(r.stderr, /see quiver export --help/);
  });

  it('resumes an import killed after its second commit, committing every row exactly once', async () => {
    const dir = tempDir();
    const url = join(dir, 'gen');
    const rows = join(dir, 'rows.jsonl');
    const line = (i: number) => `${JSON.stringify({ prompt: `p${i}`, n: i })}\n`;
    assert.equal(spawnSync('mkfifo', [rows]).status, 0);
    const child = spawn(process.execPath, [BIN, 'import', url, rows, '--schema', 'prompt=text,n=int64', '--commit-rows', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((res) => child.on('exit', (code, signal) => res(signal ? -1 : code)));
    // The child reads what is written and then waits for more: 25 lines make two commits (10, 20) and 5 staged rows.
    const fifo = createWriteStream(rows);
    fifo.on('error', () => undefined);
    for (let i = 0; i < 25; i++) fifo.write(line(i));
    while ((await committedRows(url)) < 20) await sleep(20);
    child.kill('SIGTERM');
    assert.equal(await exited, -1, 'killed, not finished');
    fifo.destroy();
    rmSync(rows);
    writeFileSync(rows, Array.from({ length: 50 }, (_, i) => line(i)).join(''));
    const again = quiver('import', url, rows, '--commit-rows', '10', '--json');
    assert.equal(again.status, 0, again.stderr);
    const report = JSON.parse(again.stdout);
    assert.deepEqual(report.resumedFrom, { file: 'rows.jsonl', items: 20, fileDone: false });
    assert.equal(report.rows, 30);
    const ds = await open(url);
    const ns = (await ds.query('select n from dataset order by n')).map((r) => Number(r.n));
    await ds.close();
    assert.deepEqual(ns, Array.from({ length: 50 }, (_, i) => i));
  });
});
