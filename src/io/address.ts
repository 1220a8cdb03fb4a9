// Dataset addresses with a version: `url@branch`, `url@tag` or `url@version` (a commit id).
// The part after the last `@` names the version only when it holds no `/`, so a URL whose
// path contains an `@` (`s3://bucket/a@b/gen`) still reads as a plain URL.

import { open, type Dataset } from '../dataset/index.js';
import { isQuiverError, QuiverError } from '../errors.js';
import type { StoreOptions } from '../storage/index.js';

export interface Address {
  url: string;
  /** A branch, tag or commit id; absent for the default branch's head. */
  at?: string;
}

export function parseAddress(address: string): Address {
  const i = address.lastIndexOf('@');
  if (i <= 0 || address.slice(i + 1).includes('/')) return { url: address };
  const at = address.slice(i + 1);
  if (!at) throw new QuiverError('invalid_input', `address: nothing after "@" in ${address}`, { address });
  return { url: address.slice(0, i), at };
}

/** Opens what an address names: a branch of that name, else a tag, else a version. */
export async function openAddress(address: string, storage?: StoreOptions): Promise<Dataset> {
  const { url, at } = parseAddress(address);
  if (at === undefined) return open(url, { storage });
  const absent = (e: unknown) => isQuiverError(e, 'not_found') && !/no dataset at/.test(e.message);
  for (const target of [{ branch: at }, { tag: at }]) {
    try {
      return await open(url, { ...target, storage });
    } catch (e) {
      if (!absent(e)) throw e;
    }
  }
  try {
    return await open(url, { version: at, storage });
  } catch (e) {
    if (!absent(e)) throw e;
    throw new QuiverError('not_found', `address: no branch, tag or version "${at}" in ${url}`, { url, at }, { cause: e });
  }
}
