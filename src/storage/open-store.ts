// Turns a dataset URL into an ObjectStore: a plain path or file:// is a local folder,
// memory://name is an in-process store. Other schemes plug in here with their own folder.

import { resolve } from 'node:path';
import { QuiverError } from '../errors.js';
import { LocalStore, type LocalStoreOptions } from './local/local-store.js';
import { MemoryStore } from './memory/memory-store.js';
import type { ObjectStore } from './object-store.js';

export interface StoreOptions {
  local?: LocalStoreOptions;
}

export function openStore(url: string | ObjectStore, options: StoreOptions = {}): ObjectStore {
  if (typeof url !== 'string') return url;
  if (url.startsWith('memory://')) return new MemoryStore(url.slice('memory://'.length));
  if (url.startsWith('file://')) return new LocalStore(resolve(url.slice('file://'.length)), options.local);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    throw new QuiverError('unsupported', `storage: no object store for "${scheme[1]}://" URLs yet (local paths, file:// and memory:// are supported)`, { url });
  }
  return new LocalStore(resolve(url), options.local);
}
