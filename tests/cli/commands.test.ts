// The `quiver` command line's table: unknown commands and bad arguments map to exit status 2,
// and `--resources` parses name=count pairs.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/commands.js';
import { parseResources } from '../../src/cli/worker-command.js';

describe('quiver cli', () => {
  it('exits 2 for an unknown command or a worker without --redis', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (m: string) => void errors.push(m);
    try {
      assert.equal(await main(['frobnicate']), 2);
      assert.equal(await main(['worker', '--concurrency', '2']), 2);
      assert.equal(await main(['worker', '--bogus']), 2);
    } finally {
      console.error = orig;
    }
    assert.match(errors[0], /unknown command "frobnicate"; commands: create, .*worker/);
    assert.match(errors[1], /worker needs --redis.*\(see quiver worker --help\)$/);
    assert.equal(errors.length, 3, 'one line per failure');
  });

  it('parses --resources as name=count pairs and refuses anything else', () => {
    assert.deepEqual(parseResources('gpus=1, mem_gb=16'), { gpus: 1, mem_gb: 16 });
    assert.deepEqual(parseResources(undefined), {});
    assert.throws(() => parseResources('gpus'), /--resources takes name=count pairs/);
  });
});
