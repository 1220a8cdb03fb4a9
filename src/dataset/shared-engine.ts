// One DuckDB instance and one cache of immutable objects per process serve every dataset handle;
// each handle has its own session. (A runtime object passed in with options replaces these
// module-level instances when handles need different bounds.)
import { Engine } from '../query/index.js';
import { ObjectCache } from '../storage/index.js';

let engine: Promise<Engine> | undefined;
let objectCache: ObjectCache | undefined;

export function sharedEngine(): Promise<Engine> {
  engine ??= Engine.create();
  return engine;
}

/** The process's cache of immutable objects read from non-local stores (default bounds: see ObjectCacheOptions). */
export function sharedObjectCache(): ObjectCache {
  objectCache ??= new ObjectCache();
  return objectCache;
}
