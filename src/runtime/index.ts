// The runtime layer's public face: the engine, caches and memory bound that every handle shares.
export { Runtime, createRuntime, defaultRuntime, configureRuntime, MEMORY_SHARES, MEMORY_BYTES_MIN, type RuntimeOptions, type RuntimeMemory } from './runtime.js';
