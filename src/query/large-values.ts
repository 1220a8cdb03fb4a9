// Large-column values (media, vectors) of a few rows by row id, read by byte range through
// CachedStore (the process-wide ObjectCache's blocks, so a warm repeat makes no request): per
// file its footer once, the row ids of the groups that may hold a wanted row, then only the
// pages holding them. Invariant: no byte is used unchecked — the tail (or, in layout 2, the footer
// and then each offset index part) against the manifest's CRC-32, each page against its header's
// (a file without a tail CRC is copied and checked whole).

import { QuiverError, isQuiverError } from '../errors.js';
import { checkCrc32, crc32Of, dataFileError, immutableKey, isRecordedTail, openFile, openRanged, openRangedByParts, readRowsRanged, type GroupFileMeta, type Manifest, type RangedFile, type RowRead } from '../format/index.js';
import { inRange } from './row-lookup.js';
import { byteSourceOf, CachedStore, type AsyncByteSource, type ObjectCache, type ObjectStore } from '../storage/index.js';

/** Opened files (footer and page locations) kept per handle; past this the oldest are reopened on next use. */
export const RANGED_FILES_MAX = 4096;
/** Bytes of row-id columns kept per handle (8 per row): 32 MiB covers 4M rows of large files. */
export const RANGED_ROW_ID_BYTES_MAX = 32 * 1024 * 1024;

/**
 * Planned ranges of one file (pages, offset index parts) are fetched as one request across a gap
 * of at most this many bytes, and only while the gaps a request reads stay within
 * PAGE_WASTED_FRACTION_MAX of the bytes it was asked for. A fixed gap alone does not do: 4 KiB
 * merged 770-byte offset index parts with the parts between them (a 300-row file's whole index
 * for 3 rows), and 128 KiB cut a cold vector query's requests 76 → 47 but read 62–71 % of its
 * vector files where it needs ~14 %.
 */
export const PAGE_GAP_BYTES_MAX = 128 * 1024;
/** See PAGE_GAP_BYTES_MAX: a merged request reads at most 25 % more than its ranges. */
export const PAGE_WASTED_FRACTION_MAX = 0.25;

/**
 * A column's files whose checked tails {@link LargeValues.prefetchTails} starts reading at once.
 * A search's candidates land in nearly every file of a small dataset (bench/objstore.ts: 90
 * candidates over 20 files), so reading the tails while the index loads takes a round trip off
 * the cold path (~100 ms on radosgw at 16 requests in flight); past this many files most tails
 * would be read for nothing, so none are.
 */
export const TAIL_PREFETCH_FILES_MAX = 64;

export class LargeValues {
  readonly #store: CachedStore;
  /** The store as exact ranges (CachedStore.getExact): pages and tails are read as planned. */
  readonly #exact: Pick<ObjectStore, 'get'>;
  readonly #paths: (keys: readonly string[]) => Promise<string[]>;
  readonly #files = new Map<string, Promise<RangedFile>>();
  /** Row ids of one row group of one file (`key#group`), most recently used last. */
  readonly #groupIds = new Map<string, BigInt64Array>();
  #groupIdBytes = 0;

  /** @param paths gives verified local copies (FileCache), for files recorded without a tail checksum. */
  constructor(store: ObjectStore, cache: ObjectCache, paths: (keys: readonly string[]) => Promise<string[]>) {
    this.#store = new CachedStore(store, cache, immutableKey);
    const cached = this.#store;
    this.#exact = { get: (key, range) => (range ? cached.getExact(key, range) : cached.get(key)) };
    this.#paths = paths;
  }

  /** The values of `column` (a large column of `m`) for these row ids; ids in no file are absent. */
  async read(m: Manifest, column: string, ids: readonly bigint[]): Promise<Map<bigint, unknown>> {
    const want = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out = new Map<bigint, unknown>();
    if (want.length === 0) return out;
    const files = (m.groups[column] ?? []).filter((g) => inRange(want, BigInt(g.rowIdMin), BigInt(g.rowIdMax)));
    const parts = await Promise.all(files.map((g) => this.#readFile(g, column, want).catch((e) => {
      throw fileError(g.key, e);
    })));
    for (const part of parts) for (const [id, v] of part) if (!out.has(id)) out.set(id, v);
    return out;
  }

  /**
   * Starts reading (and checking) the tails of every file of a large column of `m`, when it has
   * at most TAIL_PREFETCH_FILES_MAX files, without waiting: for a caller that will read rows
   * from most of them once something else (an index) has loaded. A whole tail holds every page
   * location, so the later read needs no offset index part. Returns how many it started; a
   * failed read is left to the `read` that needs it, which opens the file afresh.
   */
  prefetchTails(m: Manifest, column: string): number {
    return this.#prefetch(m, column, true);
  }

  /**
   * Starts reading (and checking) the footers of the files of a large column of `m` written in
   * layout 2 (a footer with offset index parts: ~1 KB, not the tail's ~12 bytes per page), at
   * most TAIL_PREFETCH_FILES_MAX files, without waiting: for a caller that will read a few rows
   * of some of them once it knows which (a search's winners, a query's result rows).
   */
  prefetchFooters(m: Manifest, column: string): number {
    return this.#prefetch(m, column, false);
  }

  #prefetch(m: Manifest, column: string, whole: boolean): number {
    const files = m.groups[column] ?? [];
    if (files.length > TAIL_PREFETCH_FILES_MAX) return 0;
    let started = 0;
    for (const g of files) {
      if (!g.tail || (!whole && !g.tail.footer) || this.#files.has(g.key)) continue;
      this.#open(g, whole).catch(() => undefined);
      started++;
    }
    return started;
  }

  /**
   * Opens files of a large column of `m` from copies of their tails held elsewhere (a vector
   * index carries its files', see IndexedTail), so no request reads them. A copy is used only if
   * it is exactly the tail the manifest records (length and CRC-32); any other is ignored and the
   * file is read as usual. Returns how many files it opened.
   */
  primeTails(m: Manifest, column: string, tails: readonly { key: string; bytes: Uint8Array }[]): number {
    const files = new Map((m.groups[column] ?? []).map((g) => [g.key, g]));
    let primed = 0;
    for (const t of tails) {
      const g = files.get(t.key);
      if (!g?.tail || this.#files.has(g.key) || !isRecordedTail(g, t.bytes)) continue;
      this.#holdFile(g.key, openRanged(this.#source(g), g.bytes - g.tail.bytes, t.bytes));
      primed++;
    }
    return primed;
  }

  /** The values of one file; a file that fails to open is opened afresh next time. */
  async #readFile(g: GroupFileMeta, column: string, want: readonly bigint[]): Promise<Map<bigint, unknown>> {
    const file = await this.#open(g, false);
    const c = file.footer.columns.findIndex((x) => x.name === column);
    if (file.footer.columns[0]?.name !== 'row_id' || c < 0) throw new QuiverError('corrupt', `lookup: ${g.key} has no row_id and "${column}" columns`, { key: g.key });
    const { reads, found } = g.rowIdsDense ? denseReads(g, file, c, want) : await this.#scannedReads(g.key, file, c, want);
    const out = new Map<bigint, unknown>();
    if (reads.length === 0) return out;
    const values = await readRowsRanged(file, reads);
    values.forEach((vs, r) => vs.forEach((v, i) => out.set(found[r][i], v)));
    return out;
  }

  /** Where the wanted rows are, found by reading the row ids of the row groups that may hold them. */
  async #scannedReads(key: string, file: RangedFile, c: number, want: readonly bigint[]): Promise<PlannedReads> {
    const groups = file.footer.rowGroups.map((rg, i) => ({ rg, i })).filter(({ rg }) => {
      const { min, max } = rg.chunks[0];
      return min === undefined || max === undefined || inRange(want, min, max);
    });
    const ids = await this.#idsOf(key, file, groups.map((x) => x.i));
    const wanted = new Set(want);
    const out: PlannedReads = { reads: [], found: [] };
    groups.forEach(({ i }, n) => {
      const positions: number[] = [];
      const hit: bigint[] = [];
      ids[n].forEach((id, p) => {
        if (wanted.has(id)) {
          positions.push(p);
          hit.push(id);
        }
      });
      if (positions.length) {
        out.reads.push({ column: c, group: i, positions });
        out.found.push(hit);
      }
    });
    return out;
  }

  /** The opened file, by its whole tail or (`whole` false, layout 2) by its footer alone. */
  #open(g: GroupFileMeta, whole: boolean): Promise<RangedFile> {
    return this.#files.get(g.key) ?? this.#holdFile(g.key, this.#openChecked(g, whole));
  }

  /** Holds an opening file (at most RANGED_FILES_MAX, oldest out first); one that fails is forgotten. */
  #holdFile(key: string, f: Promise<RangedFile>): Promise<RangedFile> {
    if (this.#files.size >= RANGED_FILES_MAX) this.#files.delete(this.#files.keys().next().value!);
    this.#files.set(key, f);
    f.catch(() => this.#files.delete(key));
    return f;
  }

  /** The file's bytes by range, as pages and tails are read (its size known to the cache). */
  #source(g: GroupFileMeta): AsyncByteSource {
    this.#store.knowSize(g.key, g.bytes);
    return byteSourceOf(this.#exact, g.key, g.bytes, { gapBytesMax: PAGE_GAP_BYTES_MAX, wastedFractionMax: PAGE_WASTED_FRACTION_MAX });
  }

  /**
   * A file whose footer can be trusted: its footer (layout 2: its offset index parts are checked
   * as they are read) or whole tail checked against the manifest's CRC-32 (the pages are checked
   * as they are read); a file recorded without one is copied whole, checked against the file's
   * CRC-32, and read from the copy.
   */
  async #openChecked(g: GroupFileMeta, whole: boolean): Promise<RangedFile> {
    if (!g.tail) {
      const [path] = await this.#paths([g.key]);
      return openRanged(localSource(path, g.bytes));
    }
    const source = this.#source(g);
    if (g.tail.footer && !whole) {
      const { bytes, crc32 } = g.tail.footer;
      const [footer] = await source.read([{ offset: g.bytes - bytes, length: bytes }]);
      checkCrc32(g.key, crc32, crc32Of([footer]));
      return openRangedByParts(source, footer);
    }
    const from = g.bytes - g.tail.bytes;
    const [tail] = await source.read([{ offset: from, length: g.tail.bytes }]);
    checkCrc32(g.key, g.tail.crc32, crc32Of([tail]));
    return openRanged(source, from, tail);
  }

  /** The row ids of these row groups of a file, reading the ones not held in one batch. */
  async #idsOf(key: string, file: RangedFile, groups: readonly number[]): Promise<BigInt64Array[]> {
    const got = new Map<number, BigInt64Array>();
    for (const i of groups) {
      const held = this.#groupIds.get(`${key}#${i}`);
      if (held) got.set(i, held);
    }
    const missing = groups.filter((i) => !got.has(i));
    if (missing.length) {
      const reads = missing.map((i): RowRead => ({ column: 0, group: i, positions: Array.from({ length: file.footer.rowGroups[i].rows }, (_, p) => p) }));
      const values = await readRowsRanged(file, reads);
      missing.forEach((i, n) => got.set(i, BigInt64Array.from(values[n] as bigint[])));
    }
    for (const [i, ids] of got) this.#remember(`${key}#${i}`, ids);
    return groups.map((i) => got.get(i)!);
  }

  #remember(id: string, ids: BigInt64Array): void {
    const old = this.#groupIds.get(id);
    if (old) {
      this.#groupIds.delete(id);
      this.#groupIdBytes -= old.byteLength;
    }
    this.#groupIds.set(id, ids);
    this.#groupIdBytes += ids.byteLength;
    for (const [k, v] of this.#groupIds) {
      if (this.#groupIdBytes <= RANGED_ROW_ID_BYTES_MAX || k === id) break;
      this.#groupIds.delete(k);
      this.#groupIdBytes -= v.byteLength;
    }
  }
}

/** Per-row-group reads of one column, and the row ids each read's positions hold. */
interface PlannedReads {
  reads: RowRead[];
  found: bigint[][];
}

/**
 * Where the wanted rows are in a file whose row ids are rowIdMin..rowIdMax ascending (pure):
 * row id r is at file position r − rowIdMin, no row-id page read. A footer that disagrees with
 * the manifest's row count is a corrupt file, not a guess.
 */
function denseReads(g: GroupFileMeta, file: RangedFile, c: number, want: readonly bigint[]): PlannedReads {
  if (file.footer.rows !== g.rows) throw new QuiverError('corrupt', `lookup: ${g.key} holds ${file.footer.rows} rows, its manifest entry says ${g.rows}`, { key: g.key });
  const min = BigInt(g.rowIdMin);
  const max = BigInt(g.rowIdMax);
  const byGroup = new Map<number, { positions: number[]; hit: bigint[] }>();
  const groups = file.footer.rowGroups;
  let gi = 0;
  for (const id of want) {
    if (id < min || id > max) continue;
    const pos = Number(id - min);
    while (gi < groups.length && groups[gi].first + groups[gi].rows <= pos) gi++;
    let e = byGroup.get(gi);
    if (!e) byGroup.set(gi, (e = { positions: [], hit: [] }));
    e.positions.push(pos - groups[gi].first);
    e.hit.push(id);
  }
  const out: PlannedReads = { reads: [], found: [] };
  for (const [group, e] of byGroup) {
    out.reads.push({ column: c, group, positions: e.positions });
    out.found.push(e.hit);
  }
  return out;
}

/** A failed read of a data file, named by its key: missing and damaged files are `corrupt`. */
function fileError(key: string, e: unknown): QuiverError {
  if (isQuiverError(e, 'corrupt') && !(e as QuiverError).details.key) {
    return new QuiverError('corrupt', `format: data file ${key} is corrupt: ${(e as Error).message.replace(/^parquet: /, '')}`, { key }, { cause: e });
  }
  return dataFileError(key, e);
}

/** A byte source over a verified local copy of `size` bytes. */
function localSource(path: string, size: number): AsyncByteSource {
  return {
    size,
    async read(ranges) {
      const file = openFile(path);
      try {
        // The reader's buffer is reused by its next read: each range is copied out.
        return ranges.map((r) => file.read(r.offset, r.length).slice());
      } finally {
        file.close();
      }
    },
  };
}
