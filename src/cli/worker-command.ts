// `quiver worker`: serves the bullmq runner's jobs on this machine until SIGINT or SIGTERM.
// Prints "quiver worker <name>: ready" once it has registered, so scripts can wait for it.

import { QuiverError } from '../errors.js';
import { intFlag, parseCommand } from './args.js';
import type { Command } from './commands.js';
import { untilStopped } from './until-stopped.js';

const usage = `usage: quiver worker --redis redis://HOST:PORT [--concurrency N] [--resources gpus=1,...] [--name NAME] [--prefix quiver] [--lock-duration-ms 30000]`;

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
  examples: ['quiver worker --redis redis://127.0.0.1:6379', 'quiver worker --redis redis://queue:6379 --concurrency 4 --resources gpus=1 --name gpu-box-1'],
  async run(args) {
    const { values } = parseCommand('worker', args, {
      redis: { type: 'string' }, concurrency: { type: 'string' }, resources: { type: 'string' },
      name: { type: 'string' }, prefix: { type: 'string' }, 'lock-duration-ms': { type: 'string' },
    }, []);
    if (typeof values.redis !== 'string') throw new QuiverError('invalid_input', 'cli: worker needs --redis redis://HOST:PORT');
    // Loaded here, not at the top: bullmq and ioredis cost every other command's start-up.
    const { startWorker } = await import('../pipeline/runner/bullmq/index.js');
    const worker = await startWorker({
      connection: values.redis,
      concurrency: intFlag('concurrency', values.concurrency, 1),
      resources: parseResources(values.resources as string | undefined),
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
      lockDurationMs: intFlag('lock-duration-ms', values['lock-duration-ms'], 30_000),
      log: (line) => console.log(`quiver worker: ${line}`),
    });
    await untilStopped(() => worker.close(), () => console.log(`quiver worker ${worker.name}: ready`));
    return 0;
  },
};
