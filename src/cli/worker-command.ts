// `quiver worker`: serves the bullmq runner's jobs on this machine until SIGINT or SIGTERM.
// Prints "quiver worker <name>: ready" once it has registered, so scripts can wait for it.

import { parseArgs } from 'node:util';
import { QuiverError } from '../errors.js';
import { startWorker } from '../pipeline/runner/bullmq/index.js';
import type { Command } from './commands.js';

const usage = `usage: quiver worker --redis redis://HOST:PORT [--concurrency N] [--resources gpus=1,...] [--name NAME] [--prefix quiver] [--lock-duration-ms 30000]`;

function count(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QuiverError('invalid_input', `cli: --${flag} must be an integer >= 1, got ${v}`);
  return n;
}

/** `gpus=1,mem_gb=16` -> { gpus: 1, mem_gb: 16 }. */
export function parseResources(text: string | undefined): Record<string, number> {
  if (!text) return {};
  return Object.fromEntries(text.split(',').map((part) => {
    const m = /^([a-z][a-z0-9_]*)=(\d+)$/i.exec(part.trim());
    if (!m) throw new QuiverError('invalid_input', `cli: --resources takes name=count pairs separated by commas, got ${JSON.stringify(part)}`);
    return [m[1], Number(m[2])];
  }));
}

export const workerCommand: Command = {
  summary: 'serve the bullmq runner\'s cluster stages on this machine',
  usage,
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          redis: { type: 'string' }, concurrency: { type: 'string' }, resources: { type: 'string' },
          name: { type: 'string' }, prefix: { type: 'string' }, 'lock-duration-ms': { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      throw new QuiverError('invalid_input', `cli: ${(e as Error).message}`);
    }
    if (!values.redis) throw new QuiverError('invalid_input', 'cli: worker needs --redis redis://HOST:PORT');
    const worker = await startWorker({
      connection: values.redis,
      concurrency: count('concurrency', values.concurrency, 1),
      resources: parseResources(values.resources),
      ...(values.name ? { name: values.name } : {}),
      ...(values.prefix ? { prefix: values.prefix } : {}),
      lockDurationMs: count('lock-duration-ms', values['lock-duration-ms'], 30_000),
      log: (line) => console.log(`quiver worker: ${line}`),
    });
    console.log(`quiver worker ${worker.name}: ready`);
    await new Promise<void>((resolve) => {
      const stop = () => void worker.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
