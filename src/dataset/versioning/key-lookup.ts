// Finds the live rows holding given values of a key column (an upsert's `on`) by reading the
// key column and row ids of each fragment's small-column file with Quiver's own Parquet reader,
// less each fragment's deletes. Invariant: the answer is the one the version's view gives for
// `key IN (…)`; where the reader's values might not be the view's (an evolved schema, a key
// kind DuckDB converts) it answers null and the caller asks DuckDB.

import { QuiverError } from '../../errors.js';
import { openFile, patchedColumns, readFooter, readInt64Column, readRows, bytesHash, visitByteArrays, type Manifest } from '../../format/index.js';
import { deletedSet, type VersionContext } from './context.js';
import { keyValue } from './row-patch.js';

/** Key kinds whose values the reader gives as the view does (after keyValue): no timestamps, JSON or lists. */
const KEY_KINDS: ReadonlySet<string> = new Set(['text', 'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64']);

/**
 * Text keys by a hash of their UTF-8 bytes, in flat typed arrays (an open-addressing table of
 * key numbers, the keys' bytes end to end): a stored value is hashed where it lies in its page
 * and decoded never (it matches a key byte for byte, or no key). Upsert of 10k records (5k
 * matching) over 100k stored keys: decoding every stored string took most of the lookup, then
 * a Map of hash to a list of encoded keys took ~40 ms of probes, allocations and GC (profiled).
 */
export class TextKeys {
  readonly #keys: string[] = [];
  readonly #hashes: Uint32Array;
  readonly #starts: Int32Array;
  #bytes: Uint8Array;
  /** Key number + 1 per slot, 0 for an empty slot; a power of two at least twice the keys. */
  readonly #slots: Int32Array;
  readonly #mask: number;

  constructor(keys: Iterable<unknown>) {
    for (const k of keys) if (typeof k === 'string') this.#keys.push(k);
    const n = this.#keys.length;
    this.#hashes = new Uint32Array(n);
    this.#starts = new Int32Array(n + 1);
    this.#bytes = new Uint8Array(Math.max(16, this.#keys.reduce((b, k) => b + k.length, 0) * 3));
    let size = 16;
    while (size < n * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    const enc = new TextEncoder();
    const bytes = this.#bytes;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const k = this.#keys[i];
      // ASCII is copied unit by unit; only other text pays for an encoder call and a view of the
      // buffer (10k of each were ~5 ms of an upsert's lookup, cold). A UTF-16 unit is at most 3
      // bytes of UTF-8, so the buffer always has room.
      let ascii = true;
      for (let j = 0; j < k.length; j++) {
        const u = k.charCodeAt(j);
        if (u > 0x7f) {
          ascii = false;
          break;
        }
        bytes[at + j] = u;
      }
      at += ascii ? k.length : enc.encodeInto(k, bytes.subarray(at)).written;
      this.#starts[i + 1] = at;
      const h = bytesHash(this.#bytes, this.#starts[i], at - this.#starts[i]);
      this.#hashes[i] = h;
      let s = h & this.#mask;
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
      this.#slots[s] = i + 1;
    }
  }

  /** True when some key has this bytesHash (the test visitByteArrays makes of every stored value). */
  has(hash: number): boolean {
    for (let s = hash & this.#mask; ; s = (s + 1) & this.#mask) {
      const k = this.#slots[s];
      if (k === 0) return false;
      if (this.#hashes[k - 1] === hash) return true;
    }
  }

  /** The key whose UTF-8 bytes are body[at, at + len), of bytesHash `hash`, or undefined. */
  find(body: Uint8Array, at: number, len: number, hash: number): string | undefined {
    const bytes = this.#bytes;
    for (let s = hash & this.#mask; ; s = (s + 1) & this.#mask) {
      const k = this.#slots[s] - 1;
      if (k < 0) return undefined;
      if (this.#hashes[k] !== hash) continue;
      const from = this.#starts[k];
      if (this.#starts[k + 1] - from !== len) continue;
      let i = 0;
      while (i < len && bytes[from + i] === body[at + i]) i++;
      if (i === len) return this.#keys[k];
    }
  }
}

/**
 * The row ids holding each of `keys` (as keyValue gives them) among the live rows of `m`, or
 * null when DuckDB must answer. An upsert of 10k records over 100k rows asked DuckDB for
 * `key IN (10k values)` over the view: ~120 ms in its threads and 45 ms binding the values and
 * reading the rows back (load 8, profiled); the key column alone reads in a few ms per 100k rows.
 */
export async function rowsByKey(ctx: VersionContext, m: Manifest, on: string, keys: ReadonlySet<unknown>): Promise<Map<unknown, bigint[]> | null> {
  const def = m.schema.find((c) => c.name === on);
  // A patched key column's values are the view's (a join), not the files'.
  if (!def || m.evolution || ctx.rowFilter || !KEY_KINDS.has(def.type.kind) || patchedColumns(m).has(on)) return null;
  const out = new Map<unknown, bigint[]>();
  const text = def.type.kind === 'text' ? new TextKeys(keys) : null;
  const paths = await ctx.paths(m.fragments.map((f) => f.key));
  for (let i = 0; i < m.fragments.length; i++) {
    const f = m.fragments[i];
    const dead = f.deletes && f.deletes.count > 0 ? await deletedSet(ctx, f.deletes.key) : null;
    const file = openFile(paths[i]);
    try {
      const footer = readFooter(file);
      const c = footer.columns.findIndex((x) => x.name === on);
      if (footer.columns[0]?.name !== 'row_id' || c < 0 || footer.columns[c].listDepth !== 0) return null;
      const add = (k: unknown, id: bigint) => {
        const list = out.get(k);
        if (list) list.push(id);
        else out.set(k, [id]);
      };
      for (let g = 0; g < footer.rowGroups.length; g++) {
        const ids = readInt64Column(file, footer, 0, g);
        if (text) {
          // Bytes are hashed and compared before any value is decoded (see textKeys).
          visitByteArrays(file, footer, c, g, text, (p, body, at, len, hash) => {
            const k = text.find(body, at, len, hash);
            if (k !== undefined && !dead?.has(ids[p])) add(k, ids[p]);
          });
          continue;
        }
        const values = readRows(file, footer, c, g, Array.from({ length: ids.length }, (_, p) => p));
        for (let p = 0; p < ids.length; p++) {
          const k = keyValue(values[p]);
          if (k === null || !keys.has(k) || dead?.has(ids[p])) continue;
          add(k, ids[p]);
        }
      }
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'unsupported') return null;
      throw e;
    } finally {
      file.close();
    }
  }
  return out;
}
