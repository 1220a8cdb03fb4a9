// The `quiver` command line's pieces in process: the command table (unknown commands and bad
// arguments exit 2 with one line; every command's --help has usage and examples), the url@ref
// parser, the --schema list, and --param values.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/commands.js';
import { cliParams } from '../../src/cli/args.js';
import { parseSchemaSpec } from '../../src/cli/args.js';
import { parseResources } from '../../src/cli/worker-command.js';

async function captured(fn: () => Promise<number>): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (m: string) => void out.push(m);
  console.error = (m: string) => void err.push(m);
  try {
    return { status: await fn(), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

describe('quiver cli', () => {
  it('exits 2 for an unknown command or a worker without --redis, with one line each', async () => {
    const errors: string[] = [];
    for (const argv of [['frobnicate'], ['worker', '--concurrency', '2'], ['worker', '--bogus']]) {
      const r = await captured(() => main(argv));
      assert.equal(r.status, 2);
      errors.push(...r.err);
    }
    assert.match(errors[0], /unknown command "frobnicate"; commands: create, .*worker/);
    assert.match(errors[1], /worker needs --redis.*\(see quiver worker --help\)$/);
    assert.equal(errors.length, 3, 'one line per failure');
  });

  it('prints usage and at least one example for every command\'s --help, and exits 0', async () => {
    const top = await captured(() => main(['--help']));
    const names = top.out.join('\n').split('\n').flatMap((l) => /^ {2}([a-z]+) /.exec(l)?.[1] ?? []);
    assert.ok(names.length >= 18, names.join(' '));
    for (const name of names) {
      const r = await captured(() => main([name, '--help']));
      assert.equal(r.status, 0, name);
      assert.match(r.out.join('\n'), new RegExp(`^usage: quiver ${name} [\\s\\S]*\\nexamples:\\n {2}quiver ${name} `), name);
    }
  });

  it('reads a --schema list, keeping commas inside <> with the type', () => {
    assert.deepEqual(parseSchemaSpec('prompt=text, image=image,prompt_emb=emb-768,tags=list<text>,rating=int!'), {
      prompt: 'text', image: 'image', prompt_emb: 'emb-768', tags: 'list<text>', rating: 'int!',
    });
    assert.throws(() => parseSchemaSpec('prompt'), /name=type pairs separated by commas, got "prompt"/);
    assert.throws(() => parseSchemaSpec('a=int,a=text'), /names column "a" twice/);
  });

  it('reads --param values as JSON when they parse, else as text; number arrays as vectors', () => {
    assert.deepEqual(cliParams(['4', 'u1', '"4"', 'true', 'null', '12345678901234567890', '[1,2]', '["a"]']),
      [4, 'u1', '4', true, null, 12345678901234567890n, Float32Array.of(1, 2), ['a']]);
    assert.throws(() => cliParams(['{"a":1}']), /--param takes a number, string, boolean, null or array/);
  });

  it('parses --resources as name=count pairs and refuses anything else', () => {
    assert.deepEqual(parseResources('gpus=1, mem_gb=16'), { gpus: 1, mem_gb: 16 });
    assert.deepEqual(parseResources(undefined), {});
    assert.throws(() => parseResources('gpus'), /--resources takes name=count pairs/);
  });
});
