// One DuckDB instance per process serves every dataset handle; each handle has its own session.
import { Engine } from '../query/index.js';

let engine: Promise<Engine> | undefined;

export function sharedEngine(): Promise<Engine> {
  engine ??= Engine.create();
  return engine;
}
