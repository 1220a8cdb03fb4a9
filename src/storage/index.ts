// The storage layer's public face: the ObjectStore seam, its implementations and wrappers.
export type { ObjectStore, ObjectInfo, ByteRange, PutData, PutCondition, StoredObject } from './object-store.js';
export { dataSize, concatParts } from './object-store.js';
export { LocalStore, type LocalStoreOptions } from './local/local-store.js';
export { MemoryStore } from './memory/memory-store.js';
export { S3Store, type S3StoreOptions } from './s3/s3-store.js';
export { AzureStore, type AzureStoreOptions } from './azure/azure-store.js';
export type { RemoteStoreOptions } from './remote/remote-options.js';
export { ForwardingStore, type ForwardingOptions } from './forwarding-store.js';
export { WriteBatch } from './write-batch.js';
export { CountingStore, type StoreCounts } from './counting-store.js';
export { openStore, type StoreOptions } from './open-store.js';
export { ObjectCache, type ObjectCacheOptions, type ObjectCacheStats, type LocalCopy } from './cache/object-cache.js';
export { CachedStore } from './cache/cached-store.js';
export { byteSourceOf, mergeRanges, type AsyncByteSource, type ByteSourceOptions } from './byte-source.js';
