// The runner registry: `local` and `bullmq` are built in; another runner registers under its own name and is
// chosen with `configure({ runner })`.

import { QuiverError } from '../../errors.js';
import { bullmqRunner } from './bullmq/index.js';
import { localRunner } from './local/local-runner.js';
import type { Runner } from './runner.js';

export type { Runner, RunContext } from './runner.js';

const runners = new Map<string, Runner>([
  ['local', localRunner],
  ['bullmq', bullmqRunner],
]);

/** Makes a runner available to `configure({ runner: name })`. */
export function registerRunner(runner: Runner): void {
  runners.set(runner.name, runner);
}

export function runnerFor(name: string): Runner {
  const r = runners.get(name);
  if (!r) throw new QuiverError('invalid_input', `pipeline: unknown runner "${name}"; registered: ${[...runners.keys()].join(', ')}`, { runner: name });
  return r;
}
