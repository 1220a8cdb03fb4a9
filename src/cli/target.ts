// Addressing a version from the shell: `url`, `url@branch`, `url@tag` or `url@version` (a commit
// id), parsed by one function that every command uses. The name after `@` is resolved as
// `Dataset.checkout` does: a branch, else a tag, else a commit id, so the rule lives in one place.
// Invariant: every handle a command opens is closed, whatever the command throws.

import { open, type Dataset } from '../dataset/index.js';
import { QuiverError } from '../errors.js';

export interface Target {
  /** The dataset's URL: a folder path, file://, s3://bucket/prefix or az://container/prefix. */
  url: string;
  /** The branch, tag or commit id after `@`, or null for the main branch's head. */
  ref: string | null;
}

/**
 * Splits `url@ref`. The `@` counts only after the last `/`, so folders and URLs whose earlier
 * parts hold an `@` (`s3://bucket/user@x/ds`, `./a@b/ds`) are addressed whole.
 *
 * @example
 * parseTarget('./gen@ft-v12') // { url: './gen', ref: 'ft-v12' }
 */
export function parseTarget(text: string): Target {
  if (!text) throw new QuiverError('invalid_input', 'cli: a dataset address is empty');
  const at = text.lastIndexOf('@');
  if (at < 0 || text.indexOf('/', at) >= 0) return { url: text, ref: null };
  const url = text.slice(0, at);
  const ref = text.slice(at + 1);
  if (!url || !ref) throw new QuiverError('invalid_input', `cli: a dataset address is url or url@branch|tag|version, got ${JSON.stringify(text)}`);
  return { url, ref };
}

/** Opens what `text` addresses: main's head, or the branch (writable), tag or version after `@`. */
export async function openAddress(text: string): Promise<Dataset> {
  const { url, ref } = parseTarget(text);
  const main = await open(url);
  if (ref === null) return main;
  try {
    return await main.checkout(ref);
  } finally {
    await main.close();
  }
}

/** Runs `fn` on the dataset `text` addresses and closes it afterwards. */
export async function withDataset<T>(text: string, fn: (ds: Dataset) => Promise<T>): Promise<T> {
  const ds = await openAddress(text);
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}
