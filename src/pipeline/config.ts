// Process-wide pipeline settings: which runner executes plans, the dataset provider, and the
// terminal progress mode. Read when a plan is built, so SQL and UDF code never mention them.

import { QuiverError } from '../errors.js';
import type { DatasetProvider } from './dataset-seam.js';
import { QuiverDatasets } from './datasets/quiver-datasets.js';
import { runnerFor } from './runner/index.js';

export interface PipelineConfig {
  /** The runner that executes plans. Default 'local'. */
  runner: string;
  /** Terminal progress on stderr: 'auto' draws only on a TTY. Default 'auto'. */
  progress: 'auto' | 'on' | 'off';
  /** The dataset layer behind `con.dataset` and `writeDataset`. Default: Quiver datasets (`QuiverDatasets`). */
  datasets?: DatasetProvider;
}

const config: PipelineConfig = { runner: 'local', progress: 'auto', datasets: new QuiverDatasets() };

/**
 * Sets process-wide pipeline options; unspecified ones keep their value.
 *
 * @example
 * configure({ runner: 'local', progress: 'off' });
 */
export function configure(options: Partial<PipelineConfig>): Readonly<PipelineConfig> {
  if (options.runner !== undefined) runnerFor(options.runner);
  if (options.progress !== undefined && !['auto', 'on', 'off'].includes(options.progress)) {
    throw new QuiverError('invalid_input', `pipeline: progress must be auto, on or off, got ${options.progress}`);
  }
  Object.assign(config, options);
  return { ...config };
}

export function currentConfig(): Readonly<PipelineConfig> {
  return config;
}
