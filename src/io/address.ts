// Dataset addresses with a version: `url`, `url@branch`, `url@tag` or `url@version` (a commit
// id). The one parser and the one resolution rule for the CLI (every command) and io (export):
// the name after `@` is a branch if one has that name, else a tag, else a commit id. The part
// after the last `@` names the version only when it holds no `/`, so a URL whose path contains
// an `@` (`s3://bucket/a@b/gen`) still reads as a plain URL.
// Invariant: every handle opened here is closed, whatever the caller's function throws.

import { open, type Dataset } from '../dataset/index.js';
import { isQuiverError, QuiverError } from '../errors.js';
import type { StoreOptions } from '../storage/index.js';

export interface Address {
  /** The dataset's URL: a folder path, file://, s3://bucket/prefix or az://container/prefix. */
  url: string;
  /** A branch, tag or commit id; absent for the default branch's head. */
  at?: string;
}

/**
 * Splits `url@ref`. An empty address, or one with nothing before or after the `@`, is
 * `invalid_input`.
 *
 * @example
 * parseAddress('./gen@ft-v12') // { url: './gen', at: 'ft-v12' }
 */
export function parseAddress(address: string): Address {
  if (!address) throw new QuiverError('invalid_input', 'address: a dataset address is empty');
  const i = address.lastIndexOf('@');
  if (i < 0 || address.includes('/', i)) return { url: address };
  const url = address.slice(0, i);
  const at = address.slice(i + 1);
  if (!url || !at) throw new QuiverError('invalid_input', `address: a dataset address is url or url@branch|tag|version, got ${JSON.stringify(address)}`, { address });
  return { url, at };
}

/** Which version `at` names in a dataset with these branches and tags: the one rule, pure. */
export function resolveAt(at: string, branches: readonly string[], tags: readonly string[]): { branch: string } | { tag: string } | { version: string } {
  if (branches.includes(at)) return { branch: at };
  if (tags.includes(at)) return { tag: at };
  return { version: at };
}

/**
 * Opens what an address names: the default branch's head (writable), a branch (writable), or a
 * tag or version (read-only), by resolveAt. Costs one open, one list of refs and one checkout.
 */
export async function openAddress(address: string, storage?: StoreOptions): Promise<Dataset> {
  const { url, at } = parseAddress(address);
  const head = await open(url, storage ? { storage } : {});
  if (at === undefined) return head;
  try {
    const names = async (refs: Promise<{ name: string }[]>) => (await refs).map((r) => r.name);
    const target = resolveAt(at, await names(head.branches()), await names(head.tags()));
    const absent = (cause?: unknown) => new QuiverError('not_found', `address: no branch, tag or version "${at}" in ${url}`, { url, at }, { cause });
    // Commit ids are 32 hex digits; any other name that is no branch or tag names nothing.
    if ('version' in target && !/^[0-9a-f]{32}$/.test(at)) throw absent();
    try {
      return await head.checkout(target);
    } catch (e) {
      throw 'version' in target && isQuiverError(e, 'not_found') ? absent(e) : e;
    }
  } finally {
    await head.close();
  }
}

/** Runs `fn` on the dataset `address` names and closes it afterwards. */
export async function withDataset<T>(address: string, fn: (ds: Dataset) => Promise<T>, storage?: StoreOptions): Promise<T> {
  const ds = await openAddress(address, storage);
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}
