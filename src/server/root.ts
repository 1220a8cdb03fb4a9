// A server root: one store URL (file://, s3://, az://, memory://) under which each dataset is a
// folder `<root>/<name>` and the server keeps its tokens (`_server/`). Invariant: a dataset name
// is checked here before it becomes part of a URL, so no request names a path outside the root.

import { QuiverError } from '../errors.js';
import { create, type Dataset } from '../dataset/index.js';
import { layout, type SchemaInput } from '../format/index.js';
import { openStore, type ObjectStore, type StoreOptions } from '../storage/index.js';

/** Letters, digits, `.`, `_`, `-`; starting with a letter or digit (so never `_server` nor `..`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws `invalid_input` unless `name` is a dataset name (no separators, no `..`, no leading `.` or `_`). */
export function checkDatasetName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw new QuiverError('invalid_input', `server: a dataset name is 1–128 letters, digits, . _ - starting with a letter or digit, got ${JSON.stringify(name)}`, { dataset: name });
  }
  return name;
}

export class ServerRoot {
  readonly store: ObjectStore;

  constructor(
    root: string | ObjectStore,
    readonly storage: StoreOptions = {},
  ) {
    this.store = openStore(root, storage);
  }

  get url(): string {
    return this.store.url;
  }

  /** The URL of dataset `name` under the root. */
  datasetUrl(name: string): string {
    return `${this.store.url.replace(/\/+$/, '')}/${checkDatasetName(name)}`;
  }

  /**
   * The names of the datasets under the root, sorted. Cost: one listing of the whole root (the
   * store seam has no delimiter listing), so it grows with the objects stored.
   */
  async list(): Promise<string[]> {
    const names: string[] = [];
    const suffix = `/${layout.marker}`;
    for await (const o of this.store.list('')) {
      if (!o.key.endsWith(suffix)) continue;
      const name = o.key.slice(0, -suffix.length);
      if (NAME.test(name) && !name.includes('..')) names.push(name);
    }
    return names.sort();
  }

  /** Creates dataset `name` with `schema` (and a tenant column); `already_exists` when there is one. */
  create(name: string, schema: SchemaInput, tenant?: string): Promise<Dataset> {
    return create(this.datasetUrl(name), { schema, storage: this.storage, ...(tenant !== undefined ? { tenant } : {}) });
  }
}
