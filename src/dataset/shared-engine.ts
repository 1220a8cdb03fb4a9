// The runtime a dataset handle runs on: the one passed in its options, else the process's
// default. The default's engine and object cache are reachable here for code that has no handle.
import { QuiverError } from '../errors.js';
import type { Engine } from '../query/index.js';
import { defaultRuntime, Runtime } from '../runtime/index.js';
import type { ObjectCache } from '../storage/index.js';

/** `runtime` checked (a Runtime, from createRuntime), or the process's default runtime. */
export function runtimeOf(runtime: unknown): Runtime {
  if (runtime === undefined) return defaultRuntime();
  if (!(runtime instanceof Runtime)) throw new QuiverError('invalid_input', `dataset: runtime must be made by createRuntime, got ${String(runtime)}`);
  return runtime;
}

/** The default runtime's DuckDB instance. */
export function sharedEngine(): Promise<Engine> {
  return defaultRuntime().engine();
}

/** The default runtime's cache of immutable objects read from non-local stores. */
export function sharedObjectCache(): ObjectCache {
  return defaultRuntime().objectCache;
}
