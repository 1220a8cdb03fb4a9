// The stores the fault tests run on, as factories with capabilities, so the cases never name an
// implementation. S3 (radosgw) is a separate factory, since it needs the test server running.
import { LocalStore, MemoryStore, openStore, type ObjectStore } from '../../src/storage/index.js';
import { testServer, type TestServer } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

export interface StoreFactory {
  name: string;
  /** A fresh, empty store. */
  make(): ObjectStore;
  /** Another process can open the store by its `url` (kill -9 tests need a child process). */
  crossProcess: boolean;
}

const all: StoreFactory[] = [
  { name: 'memory', make: () => new MemoryStore(), crossProcess: false },
  { name: 'local', make: () => new LocalStore(tempDir('quiver-fault-')), crossProcess: true },
];

/** Every store, or those named in QUIVER_FAULT_STORES (comma-separated), e.g. for a long sweep. */
export const storeFactories: StoreFactory[] = process.env.QUIVER_FAULT_STORES
  ? all.filter((f) => process.env.QUIVER_FAULT_STORES!.split(',').includes(f.name))
  : all;

/** The S3 store on the test server (radosgw) as a cross-process factory; its bucket must exist (`server.prepare`). */
export function s3Factory(server: TestServer): StoreFactory {
  return { name: 's3', make: () => openStore(server.url('fault'), server.options), crossProcess: true };
}

/** Opens a cross-process store in a child from the url its factory's store reported. */
export function reopenStore(url: string): ObjectStore {
  if (url.startsWith('s3://')) {
    const server = testServer('s3');
    if (typeof server === 'string') throw new Error(server);
    return openStore(url, server.options);
  }
  return openStore(url);
}
