// Process-wide pipeline settings: which runner executes plans, the dataset provider, and the
// terminal progress mode. Read when a plan is built, so SQL and UDF code never mention them.

import { QuiverError } from '../errors.js';
import type { DatasetProvider } from './dataset-seam.js';
import { QuiverDatasets } from './datasets/quiver-datasets.js';
import { runnerFor } from './runner/index.js';

/** A runner by name, or by name with its options: `{ kind: 'bullmq', connection: 'redis://…' }`. */
export type RunnerSetting = string | { kind: string; [option: string]: unknown };

export interface PipelineConfig {
  /** The runner that executes plans. Default 'local'. */
  runner: string;
  /** The runner's options (everything but `kind` of an object `runner` setting). Default {}. */
  runnerOptions: Readonly<Record<string, unknown>>;
  /** Terminal progress on stderr: 'auto' draws only on a TTY. Default 'auto'. */
  progress: 'auto' | 'on' | 'off';
  /** The dataset layer behind `con.dataset` and `writeDataset`. Default: Quiver datasets (`QuiverDatasets`). */
  datasets?: DatasetProvider;
}

const config: PipelineConfig = { runner: 'local', runnerOptions: {}, progress: 'auto', datasets: new QuiverDatasets() };

/**
 * Sets process-wide pipeline options; unspecified ones keep their value.
 *
 * @example
 * configure({ runner: 'local', progress: 'off' });
 * configure({ runner: { kind: 'bullmq', connection: 'redis://127.0.0.1:6379' } });
 */
export function configure(options: Partial<Omit<PipelineConfig, 'runner' | 'runnerOptions'>> & { runner?: RunnerSetting }): Readonly<PipelineConfig> {
  const { runner, ...rest } = options;
  if (rest.progress !== undefined && !['auto', 'on', 'off'].includes(rest.progress)) {
    throw new QuiverError('invalid_input', `pipeline: progress must be auto, on or off, got ${rest.progress}`);
  }
  if (runner !== undefined) {
    const { kind, ...runnerOptions } = typeof runner === 'string' ? { kind: runner } : runner;
    if (typeof kind !== 'string') throw new QuiverError('invalid_input', `pipeline: runner needs a kind, got ${JSON.stringify(runner)}`);
    runnerFor(kind).checkOptions?.(runnerOptions);
    Object.assign(config, { runner: kind, runnerOptions });
  }
  Object.assign(config, rest);
  return { ...config };
}

export function currentConfig(): Readonly<PipelineConfig> {
  return config;
}
