// The storage seam: the only operations Quiver asks of a place that holds bytes.
// Keys are '/'-separated relative paths. Conditional puts are the whole concurrency story:
// put-if-absent publishes immutable objects, put-if-match moves a ref.

export interface ObjectInfo {
  key: string;
  size: number;
  /** Changes whenever the object's content is replaced. */
  etag: string;
  /** When the object was last written, in ms since the Unix epoch (the store's clock). */
  lastModified: number;
}

/** An object's bytes with the info that describes exactly those bytes (one request on remote stores). */
export interface StoredObject {
  data: Uint8Array;
  info: ObjectInfo;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** Data to put: one buffer, or parts written in order without concatenating them first. */
export type PutData = Uint8Array | readonly Uint8Array[];

export type PutCondition = { ifAbsent: true } | { ifMatch: string };

export interface ObjectStore {
  /** A URL naming the store's root, for messages and for reopening it. */
  readonly url: string;
  /**
   * The object's bytes, or a range of them; a range past the end returns the bytes that exist
   * (possibly none). Throws QuiverError `not_found` when absent.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /**
   * The whole object with its etag and modification time, read together so the etag describes
   * these bytes: a ref read is one request, and put-if-match with that etag is safe.
   * Throws QuiverError `not_found` when absent.
   */
  getWithInfo(key: string): Promise<StoredObject>;
  /** Size, etag and modification time, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * Writes an object atomically: readers see the old object or the new one, never a mix.
   * With a condition, throws QuiverError `conflict` (and writes nothing) when it does not hold.
   */
  put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo>;
  /** Removes an object; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * A local file path holding exactly the object's bytes, when the store is a local folder.
   * Optional: wrappers that must see every read (counting, caching) leave it out.
   */
  localPath?(key: string): string;
  /**
   * Removes leftovers of interrupted puts (temporary files, abandoned locks) last modified before
   * `beforeMs` (ms since the epoch) and returns how many there were; with `dryRun`, only counts.
   * Optional: stores whose failed writes leave nothing behind leave it out.
   */
  sweepLeftovers?(beforeMs: number, dryRun?: boolean): Promise<number>;
}

export function dataSize(data: PutData): number {
  if (data instanceof Uint8Array) return data.length;
  let n = 0;
  for (const p of data) n += p.length;
  return n;
}

export function concatParts(data: PutData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(dataSize(data));
  let o = 0;
  for (const p of data) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
