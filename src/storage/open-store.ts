// Turns a dataset URL into an ObjectStore: a plain path or file:// is a local folder, memory://name
// is an in-process store, s3://bucket/prefix is S3 (or any S3-compatible endpoint) and
// az://container/prefix is Azure Blob. Each scheme has its own folder; nothing else switches on it.

import { resolve } from 'node:path';
import { QuiverError } from '../errors.js';
import { AzureStore, type AzureStoreOptions } from './azure/azure-store.js';
import { LocalStore, type LocalStoreOptions } from './local/local-store.js';
import { MemoryStore } from './memory/memory-store.js';
import type { ObjectStore } from './object-store.js';
import { S3Store, type S3StoreOptions } from './s3/s3-store.js';

/**
 * Options for the store a URL names (`storage: { … }` in create/open). Remote options
 * (region, endpoint, credentials, connectionString, bounds, singleWriter) apply to s3:// and az://.
 *
 * @example
 * await quiver.create('s3://gen/main', { schema, storage: { region: 'us-east-1' } });
 * await quiver.open('az://container/gen/main', { storage: { connectionString } });
 */
export interface StoreOptions extends S3StoreOptions, AzureStoreOptions {
  local?: LocalStoreOptions;
}

export function openStore(url: string | ObjectStore, options: StoreOptions = {}): ObjectStore {
  if (typeof url !== 'string') return url;
  if (url.startsWith('memory://')) return new MemoryStore(url.slice('memory://'.length));
  if (url.startsWith('file://')) return new LocalStore(resolve(url.slice('file://'.length)), options.local);
  if (url.startsWith('s3://')) return new S3Store(url, options);
  if (url.startsWith('az://')) return new AzureStore(url, options);
  if (url.startsWith('gs://')) {
    throw new QuiverError('unsupported', `storage: Google Cloud Storage is not supported yet (no GCS server to test it against here); use s3://, az://, memory:// or a local path, got ${url}`, { url });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    throw new QuiverError('unsupported', `storage: no object store for "${scheme[1]}://" URLs (local paths, file://, memory://, s3:// and az:// are supported), got ${url}`, { url });
  }
  return new LocalStore(resolve(url), options.local);
}
