// The stores the fault tests run on, as factories with capabilities, so the cases never name an
// implementation. S3 and Azure join here when their stores land (both cross processes).
import { LocalStore, MemoryStore, openStore, type ObjectStore } from '../../src/storage/index.js';
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

/** Opens a cross-process store in a child from the url its factory's store reported. */
export function reopenStore(url: string): ObjectStore {
  return openStore(url);
}
