// The code blocks of README.md and docs/datasets.md run, in order, as one program each, in its
// own process and temp folder, so the examples cannot rot. A prelude defines only the inputs
// the prose leaves to the reader (a prompt, image bytes, embeddings, media files); `'quiver-db'`
// and `./examples/…` imports resolve to this repository.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/tmp.js';

const root = resolve('.');

/** The ```ts blocks of a Markdown file, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]);
}

/** Where an example's import points in this repo: 'quiver-db' is src/, `./udfs/` the seed guide's UDFs. */
function target(from: string): string {
  if (from === 'quiver-db') return join(root, 'src/index.ts');
  if (from.startsWith('./examples/')) return join(root, from.replace(/\.js$/, '.ts'));
  if (from.startsWith('./udfs/')) return join(root, 'examples/pipeline', from.replace(/\.js$/, '.ts'));
  return from;
}

/**
 * One program from the blocks: imports hoisted (and pointed at this repo), bodies in order,
 * each in its own scope when `scoped` (blocks that each stand alone), else sharing one.
 */
function program(blocks: string[], prelude: string, workdir: string, scoped: boolean): string {
  const imports = new Set<string>();
  const bodies = blocks.map((b) => {
    const body = b.replace(/^import (.*?) from '([^']+)';.*\n/gm, (_, what: string, from: string) => {
      imports.add(`import ${what} from ${JSON.stringify(target(from))};`);
      return '';
    });
    return scoped ? `{\n${body}}` : body;
  });
  if (![...imports].some((l) => /\* as quiver/.test(l))) imports.add(`import * as quiver from ${JSON.stringify(join(root, 'src/index.ts'))};`);
  return [...imports, `process.chdir(${JSON.stringify(workdir)});`, prelude, ...bodies, "console.log('examples ran');"].join('\n');
}

function run(markdownPath: string, prelude: string, scoped = false): void {
  const dir = tempDir('quiver-readme-');
  const file = join(dir, 'examples.mts');
  writeFileSync(file, program(tsBlocks(readFileSync(markdownPath, 'utf8')), prelude, dir, scoped));
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${markdownPath} examples failed:\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /examples ran/);
}

const media = `
const { makeMedia } = await import(${JSON.stringify(join(root, 'examples/pipeline/make-media.ts'))});
const { readFileSync } = await import('node:fs');
await makeMedia('.', 4);
const pngBytes = new Uint8Array(readFileSync('media/img-0.png'));
{
  const con = await quiver.connect({ terminal: 'off' });
  await con.run("copy (select * from read_parquet('data/media_index/*.parquet')) to 'media/index.parquet' (format parquet)");
  await con.close();
}
const vec = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7 + i));
`;

describe('documentation examples', () => {
  it('runs every code block of README.md', { timeout: 180_000 }, () => {
    run(join(root, 'README.md'), `${media}
const prompt = 'a red car at dusk';
const prompt_emb = vec(1536, 1);
const image_emb = vec(1024, 2);
const manyRecords = Array.from({ length: 5 }, (_, i) => ({ prompt: 'prompt ' + i, image: pngBytes, prompt_emb: vec(1536, i + 3),
  image_emb: vec(1024, i + 3), rating: i, tags: i % 2 ? ['safe'] : ['unsafe'], user_id: 'u' + (i + 5), parent_id: null }));
const id = 0n;
const queryVector = vec(1024, 4);
const q = vec(1536, 5);
`);
  });

  it('runs every code block of docs/datasets.md', { timeout: 180_000 }, () => {
    run(join(root, 'docs/datasets.md'), '');
  });

  it('runs every code block of docs/versioning.md and docs/search.md', { timeout: 180_000 }, () => {
    const prelude = `${media}
const url = './gen';
const ds = await quiver.create(url, { schema: { prompt: 'text', image_emb: 'emb-4', rating: 'int', tags: 'list<text>', user_id: 'text' } });
await ds.append(Array.from({ length: 12 }, (_, i) => ({ prompt: 'prompt ' + i, image_emb: vec(4, i % 3), rating: i % 6, tags: i % 4 ? ['safe'] : ['unsafe'], user_id: 'u' + (i % 10) })));
await ds.commit('seed');
const id = 0n;
`;
    run(join(root, 'docs/versioning.md'), prelude);
    run(join(root, 'docs/search.md'), prelude, true);
  });

  it('runs every code block of docs/training.md', { timeout: 180_000 }, () => {
    run(join(root, 'docs/training.md'), `
const { pngOf } = await import(${JSON.stringify(join(root, 'tests/stream/fixture.ts'))});
const images = await Promise.all(Array.from({ length: 64 }, (_, n) => pngOf(n)));
`);
  });

  it('runs every code block of docs/runtime.md', { timeout: 180_000 }, () => {
    run(join(root, 'docs/runtime.md'), '');
  });

  it('runs every code block of docs/server.md', { timeout: 180_000 }, () => {
    run(join(root, 'docs/server.md'), '');
  });

  it('runs every code block of docs/pipelines.md, each on its own', { timeout: 180_000 }, () => {
    run(join(root, 'docs/pipelines.md'), `${media}
const con = await quiver.connect({ terminal: 'off' });
await con.run("create table media as select * from read_parquet('data/media_index/*.parquet')");
`, true);
  });
});
