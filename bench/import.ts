// `quiver import` and `quiver export --to webdataset` as a user runs them (the CLI as a child
// process) against the library's own in-process append of the same records, in one run: a
// folder of seeded PNGs (~50 KB, append.ts's image size) with a JSON lines metadata file.
// Usage: npx tsx bench/import.ts [--images 10000] [--quick]
// The generated folder is cached under /tmp/quiver-bench-import/ (reused when complete).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { create } from '../src/index.js';
import { rng } from './lib/datagen.js';
import { makeImagePool, pngWithText } from './lib/records.js';

const CACHE_DIR = '/tmp/quiver-bench-import';
const DATA_DIR = resolve('bench/.data/import');
const IMAGE_BYTES_TARGET = 50_000;
const POOL_SIZE = 64;
const APPEND_BATCH_ROWS = 1000;
const SCHEMA = { image: 'image', file_name: 'text', prompt: 'text', rating: 'int64?', user_id: 'text' };

function parseArgs(argv: string[]): { images: number } {
  let images = 10_000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') images = 1_000;
    else if (argv[i] === '--images' && Number.isInteger(Number(argv[i + 1])) && Number(argv[i + 1]) > 0) images = Number(argv[++i]);
    else throw new Error(`bench: unknown or invalid argument "${argv[i]}" (use --images N, --quick)`);
  }
  return { images };
}

/** The folder of `n` images and its metadata file, generated once per size (seeded, so always the same bytes). */
async function imageFolder(n: number): Promise<{ dir: string; metadata: string; bytes: number }> {
  const dir = join(CACHE_DIR, `images-${n}-${IMAGE_BYTES_TARGET}`);
  const metadata = join(CACHE_DIR, `images-${n}-${IMAGE_BYTES_TARGET}.jsonl`);
  if (!existsSync(join(dir, '.complete'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const pool = await makeImagePool({ seed: 7, size: POOL_SIZE, targetBytes: IMAGE_BYTES_TARGET });
    const rand = rng(11);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `img-${String(i).padStart(6, '0')}.png`;
      // Copies of the pool differ byte-wise (a tEXt chunk), so every file is its own image.
      writeFileSync(join(dir, name), pngWithText(pool.images[i % POOL_SIZE], `image ${i}`));
      lines.push(JSON.stringify({ file_name: name, prompt: `a picture number ${i} of ${Math.floor(rand() * 500)}`, rating: rand() < 0.2 ? null : 1 + Math.floor(rand() * 5), user_id: `u${Math.floor(rand() * 300)}` }));
    }
    writeFileSync(metadata, `${lines.join('\n')}\n`);
    writeFileSync(join(dir, '.complete'), '');
  }
  const bytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  return { dir, metadata, bytes };
}

function quiver(args: string[]): { seconds: number; json: Record<string, unknown> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [resolve('bin/quiver.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`bench: quiver ${args[0]} exited ${r.status}`);
  return { seconds, json: args.includes('--json') ? (JSON.parse(r.stdout) as Record<string, unknown>) : {} };
}

/** The library's append of the same records (files read and joined first, untimed), 1,000 per append, one commit. */
async function inProcessAppend(dir: string, metadata: string, out: string): Promise<number> {
  const meta = new Map(readFileSync(metadata, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map((m) => [m.file_name as string, m]));
  const recs = readdirSync(dir).filter((f) => f.endsWith('.png')).sort().map((f) => ({ ...meta.get(f), image: readFileSync(join(dir, f)) }));
  const t0 = performance.now();
  const ds = await create(out, { schema: SCHEMA });
  for (let i = 0; i < recs.length; i += APPEND_BATCH_ROWS) await ds.append(recs.slice(i, i + APPEND_BATCH_ROWS));
  await ds.commit('bench');
  await ds.close();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const { images } = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const folder = await imageFolder(images);
  console.log(`${images.toLocaleString('en-US')} images, ${(folder.bytes / 1e6).toFixed(1)} MB (mean ${(folder.bytes / images / 1e3).toFixed(1)} KB), folder ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  const startup = quiver(['--help']).seconds;
  const lib = await inProcessAppend(folder.dir, folder.metadata, join(DATA_DIR, 'lib'));
  const cli = quiver(['import', join(DATA_DIR, 'cli'), folder.dir, '--metadata', folder.metadata, '--json']);
  if (cli.json.rows !== images) throw new Error(`bench: import committed ${String(cli.json.rows)} rows, expected ${images}`);
  const exp = quiver(['export', join(DATA_DIR, 'cli'), '--to', 'webdataset', join(DATA_DIR, 'shards'), '--shard-rows', '10000', '--json']);
  const exportBytes = exp.json.bytes as number;
  const rate = (s: number) => images / s;
  console.log('\n| step | seconds | images/s | MB/s |');
  console.log('|---|---|---|---|');
  console.log(`| CLI start (\`quiver --help\`) | ${startup.toFixed(2)} | | |`);
  console.log(`| in-process append (1,000 per append, 1 commit; files already read) | ${lib.toFixed(2)} | ${rate(lib).toFixed(0)} | ${(folder.bytes / lib / 1e6).toFixed(1)} |`);
  console.log(`| \`quiver import\` folder + metadata (child process, all in) | ${cli.seconds.toFixed(2)} | ${rate(cli.seconds).toFixed(0)} | ${(folder.bytes / cli.seconds / 1e6).toFixed(1)} |`);
  console.log(`| \`quiver export --to webdataset\` (child process) | ${exp.seconds.toFixed(2)} | ${rate(exp.seconds).toFixed(0)} | ${(exportBytes / exp.seconds / 1e6).toFixed(1)} |`);
  console.log(`\nimport / in-process append rate: ${(rate(cli.seconds) / rate(lib)).toFixed(2)} (${(rate(cli.seconds - startup) / rate(lib)).toFixed(2)} without the CLI's start)`);
  console.log(`export wrote ${(exportBytes / 1e6).toFixed(1)} MB in ${(exp.json.files as string[]).length} shards`);
  // The machine is shared: the load says how much of it the run had.
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

await main();
