// The storage layer's public face: the ObjectStore seam, its implementations and wrappers.
export type { ObjectStore, ObjectInfo, ByteRange, PutData, PutCondition } from './object-store.js';
export { dataSize, concatParts } from './object-store.js';
export { LocalStore, type LocalStoreOptions } from './local/local-store.js';
export { MemoryStore } from './memory/memory-store.js';
export { CountingStore, type StoreCounts } from './counting-store.js';
export { openStore, type StoreOptions } from './open-store.js';
export { ObjectCache, type ObjectCacheOptions, type ObjectCacheStats, type LocalCopy } from './cache/object-cache.js';
export { CachedStore } from './cache/cached-store.js';
export { byteSourceOf, mergeRanges, type AsyncByteSource, type ByteSourceOptions } from './byte-source.js';
