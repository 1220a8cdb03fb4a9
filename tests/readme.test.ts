// The code blocks of README.md and docs/datasets.md run, in order, as one program each, in its
// own process and temp folder, so the examples cannot rot. A prelude defines only the inputs
// the prose leaves to the reader (a prompt, image bytes, embeddings, media files); `'quiver'`
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

/** One program from the blocks: imports hoisted (and pointed at this repo), bodies in order. */
function program(blocks: string[], prelude: string, workdir: string): string {
  const imports = new Set<string>();
  const bodies = blocks.map((b) =>
    b.replace(/^import .*? from '([^']+)';\n/gm, (line, from: string) => {
      const target = from === 'quiver' ? join(root, 'src/index.ts') : from.startsWith('./examples/') ? join(root, from.replace(/\.js$/, '.ts')) : from;
      imports.add(line.replace(`'${from}'`, JSON.stringify(target)));
      return '';
    }),
  );
  if (![...imports].some((l) => /\* as quiver/.test(l))) imports.add(`import * as quiver from ${JSON.stringify(join(root, 'src/index.ts'))};`);
  return [...imports, `process.chdir(${JSON.stringify(workdir)});`, prelude, ...bodies, "console.log('examples ran');"].join('\n');
}

function run(markdownPath: string, prelude: string): void {
  const dir = tempDir('quiver-readme-');
  const file = join(dir, 'examples.mts');
  writeFileSync(file, program(tsBlocks(readFileSync(markdownPath, 'utf8')), prelude, dir));
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
});
