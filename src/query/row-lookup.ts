// The rows of one version by row id, read straight from its small-column files. A search ends
// with 10–20 winners out of millions; DuckDB reads them by decoding each winner's whole row
// group of every column asked for (~1–2 ms a winner at 1M rows), this reads one page per
// column per winner. The rows go back to DuckDB as a VALUES list, so the query's own SELECT
// still runs there. Large columns (media, vectors) are not read here: see large-values.ts.
// Invariant, from the manifest: a live row id is in exactly one fragment not deleting it.

import { QuiverError } from '../errors.js';
import { livePatches, openFile, readFooter, readInt64Column, readRows, type FragmentMeta, type Manifest, type PatchMeta, type ParquetFooter, type ParquetLeaf, type RandomAccess } from '../format/index.js';
import { quoteIdent, quoteString } from './engine.js';
import { CachedValues, CollectionCache, ordinalOf } from './search/collections.js';

/** What a lookup returns: each column's Parquet leaf type and, per found id, its values in column order. */
export interface LookedUp {
  leaves: ParquetLeaf[];
  rows: Map<bigint, unknown[]>;
}

interface GroupIds {
  ids: BigInt64Array;
  sorted: boolean;
}

/** Lookups made so far: each takes its own key space in a shared cache. */
let lookups = 0;
/** About what one bigint costs in a Set: the heap bigint and its hash-table slot. */
const DELETED_ID_BYTES = 40;

interface PatchData {
  ids: BigInt64Array;
  columns: Map<string, { leaf: ParquetLeaf; values: unknown[] }>;
}

/** Patch files kept decoded; a version holds at most 8 (column-patch.ts), so this covers two. */
const PATCH_FILES_KEPT_MAX = 16;

export class RowLookup {
  private readonly footers = new Map<string, ParquetFooter>();
  private readonly patchFiles = new Map<string, PatchData>();
  /** Row ids per file and row group, and the ids of deletes files, in a cache bounded by bytes. */
  private readonly groupIds: CachedValues<GroupIds>;
  private readonly deletes: CachedValues<Set<bigint>>;

  /**
   * @param cache bytes of cached row ids (8 a row in a row group, about 40 a deleted id in a
   *   set; 64 MiB covers 8M rows), or a shared cache (a runtime's) to hold them in, in a key space of their own.
   */
  constructor(cache: number | CollectionCache = 64 * 1024 * 1024) {
    const c = typeof cache === 'number' ? new CollectionCache(cache) : cache.scoped(`lookup${++lookups}`);
    this.groupIds = new CachedValues(c, 'ids', (g) => g.ids.byteLength);
    this.deletes = new CachedValues(c, 'deletes', (d) => d.size * DELETED_ID_BYTES);
  }

  /**
   * The live rows of `m` with these ids, with the values of `columns` (names of small columns
   * or image-derived columns; row_id is not one of them). Ids that are not live are absent.
   */
  async rows(m: Manifest, paths: (keys: readonly string[]) => Promise<string[]>, ids: readonly bigint[], columns: readonly string[]): Promise<LookedUp> {
    const want = Array.from(BigInt64Array.from(new Set(ids)).sort());
    const out: LookedUp = { leaves: [], rows: new Map() };
    if (want.length === 0) return out;
    const frags = m.fragments.filter((f) => inRange(want, BigInt(f.rowIdMin), BigInt(f.rowIdMax)));
    // Column patches giving values to a column asked for, oldest first (applied in that order).
    const patches = livePatches(m).filter((p) => p.columns.some((c) => columns.includes(c)) && inRange(want, BigInt(p.rowIdMin), BigInt(p.rowIdMax)));
    // Which ids are live, and nothing else (an update's check): a dense fragment answers from its
    // manifest entry and deletes, so its file is neither fetched nor opened (a 10k-id check in a
    // 100k-row fragment spent ~10 ms on the footer, positions and empty rows).
    const fromEntry = (f: FragmentMeta) => columns.length === 0 && f.rowIdsDense === true;
    const keys = [...frags.flatMap((f) => [...(fromEntry(f) ? [] : [f.key]), ...(f.deletes && f.deletes.count > 0 ? [f.deletes.key] : [])]), ...patches.map((p) => p.key)];
    const local = new Map((await paths(keys)).map((p, i) => [keys[i], p]));
    for (const f of frags) {
      const dead = f.deletes && f.deletes.count > 0 ? this.deleted(local.get(f.deletes.key)!) : null;
      if (fromEntry(f)) {
        const lo = BigInt(f.rowIdMin);
        const hi = BigInt(f.rowIdMax);
        for (let j = lowerBound(want, lo); j < want.length && want[j] <= hi; j++) {
          if (!dead?.has(want[j]) && !out.rows.has(want[j])) out.rows.set(want[j], []);
        }
        continue;
      }
      const file = openFile(local.get(f.key)!);
      try {
        const footer = this.footer(local.get(f.key)!, file);
        if (footer.columns[0]?.name !== 'row_id') throw new QuiverError('unsupported', `lookup: ${f.key} does not start with row_id`);
        const cols = columns.map((name) => {
          const c = footer.columns.findIndex((x) => x.name === name);
          if (c < 0) throw new QuiverError('unsupported', `lookup: ${f.key} has no column "${name}"`);
          return c;
        });
        out.leaves = cols.map((c) => footer.columns[c].leaf);
        // A dense fragment's row r is at r − rowIdMin: its row-id pages are never read (a
        // 10k-id lookup in a fresh 100k-row fragment read and kept all 800 KB of them, ~20 ms).
        let first = BigInt(f.rowIdMin);
        for (let g = 0; g < footer.rowGroups.length; g++) {
          const n = footer.rowGroups[g].rows;
          const { min, max } = f.rowIdsDense ? { min: first, max: first + BigInt(n) - 1n } : footer.rowGroups[g].chunks[0];
          first += BigInt(n);
          if (min !== undefined && max !== undefined && !inRange(want, min, max)) continue;
          const found = f.rowIdsDense ? densePositions(min!, max!, want) : positions(this.idsOf(local.get(f.key)!, file, footer, g), want);
          const hits = found.filter(([id]) => !dead?.has(id) && !out.rows.has(id));
          if (hits.length === 0) continue;
          hits.sort((a, b) => a[1] - b[1]);
          const at = hits.map(([, p]) => p);
          const values = cols.map((c) => readRows(file, footer, c, g, at));
          const rows = hits.map((_, i) => values.map((v) => v[i]));
          for (const p of patches) if (p.fragments.includes(f.id)) this.overlay(local.get(p.key)!, p, columns, out.leaves, hits, rows);
          hits.forEach(([id], i) => out.rows.set(id, rows[i]));
        }
      } finally {
        file.close();
      }
    }
    return out;
  }

  /** Gives `rows` (of the ids in `hits`, values in `columns` order) the values patch `p` holds for them. */
  private overlay(path: string, p: PatchMeta, columns: readonly string[], leaves: readonly ParquetLeaf[], hits: readonly [bigint, number][], rows: unknown[][]): void {
    const data = this.patchData(path, p);
    const names = p.names ?? p.columns;
    for (let k = 0; k < p.columns.length; k++) {
      const c = columns.indexOf(p.columns[k]);
      if (c < 0) continue;
      const col = data.columns.get(names[k]);
      if (!col || col.leaf !== leaves[c]) throw new QuiverError('unsupported', `lookup: patch ${p.key} holds "${p.columns[k]}" as another type`);
      hits.forEach(([id], i) => {
        const at = ordinalOf(data.ids, id);
        if (at >= 0) rows[i][c] = col.values[at];
      });
    }
  }

  /** A patch file's row ids (sorted, as written) and columns, read once (files are immutable). */
  private patchData(path: string, p: PatchMeta): PatchData {
    let d = this.patchFiles.get(path);
    if (d) return d;
    const file = openFile(path);
    try {
      const footer = this.footer(path, file);
      const ids: bigint[] = [];
      const columns = new Map<string, { leaf: ParquetLeaf; values: unknown[] }>();
      for (let c = 1; c < footer.columns.length; c++) columns.set(footer.columns[c].name, { leaf: footer.columns[c].leaf, values: [] });
      for (let g = 0; g < footer.rowGroups.length; g++) {
        const gi = readInt64Column(file, footer, 0, g);
        const at = Array.from({ length: gi.length }, (_, i) => i);
        ids.push(...gi);
        for (let c = 1; c < footer.columns.length; c++) columns.get(footer.columns[c].name)!.values.push(...readRows(file, footer, c, g, at));
      }
      d = { ids: BigInt64Array.from(ids), columns };
    } finally {
      file.close();
    }
    if (d.ids.length !== p.rows) throw new QuiverError('corrupt', `lookup: patch ${p.key} holds ${d.ids.length} rows, its manifest says ${p.rows}`, { key: p.key });
    if (this.patchFiles.size >= PATCH_FILES_KEPT_MAX) this.patchFiles.delete(this.patchFiles.keys().next().value!);
    this.patchFiles.set(path, d);
    return d;
  }

  private footer(path: string, file: RandomAccess): ParquetFooter {
    let f = this.footers.get(path);
    if (!f) {
      f = readFooter(file);
      if (this.footers.size >= 4096) this.footers.clear();
      this.footers.set(path, f);
    }
    return f;
  }

  private idsOf(path: string, file: RandomAccess, footer: ParquetFooter, group: number): GroupIds {
    const key = `${path}#${group}`;
    const hit = this.groupIds.get(key);
    if (hit) return hit;
    const ids = readInt64Column(file, footer, 0, group);
    let sorted = true;
    for (let i = 1; i < ids.length && sorted; i++) sorted = ids[i - 1] < ids[i];
    const entry = { ids, sorted };
    this.groupIds.set(key, entry);
    return entry;
  }

  /** The row ids of a deletes file (read once; files are immutable). */
  deleted(path: string): Set<bigint> {
    let d = this.deletes.get(path);
    if (!d) {
      const file = openFile(path);
      try {
        const footer = this.footer(path, file);
        d = new Set<bigint>();
        for (let g = 0; g < footer.rowGroups.length; g++) for (const id of readInt64Column(file, footer, 0, g)) d.add(id);
      } finally {
        file.close();
      }
      this.deletes.set(path, d);
    }
    return d;
  }
}

/** Whether a sorted id list has one in [lo, hi]. */
export function inRange(sorted: readonly bigint[], lo: bigint, hi: bigint): boolean {
  const a = lowerBound(sorted, lo);
  return a < sorted.length && sorted[a] <= hi;
}

/** The first index of sorted `xs` whose value is at least `x`. */
function lowerBound(xs: readonly bigint[], x: bigint): number {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (xs[mid] < x) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** [id, position] for each wanted id in a group holding exactly the ids min..max in order. */
function densePositions(min: bigint, max: bigint, want: readonly bigint[]): [bigint, number][] {
  const out: [bigint, number][] = [];
  for (let j = lowerBound(want, min); j < want.length && want[j] <= max; j++) out.push([want[j], Number(want[j] - min)]);
  return out;
}

/** [id, position] for each wanted id the group holds. */
function positions(group: GroupIds, want: readonly bigint[]): [bigint, number][] {
  const { ids } = group;
  const out: [bigint, number][] = [];
  if (group.sorted) {
    if (ids.length === 0) return out;
    // Only the wanted ids inside the group's range are searched: 10k ids over a 100k-row
    // fragment's 13 groups made 130k searches, not 10k.
    const last = ids[ids.length - 1];
    for (let j = lowerBound(want, ids[0]); j < want.length && want[j] <= last; j++) {
      const p = ordinalOf(ids, want[j]);
      if (p >= 0) out.push([want[j], p]);
    }
    return out;
  }
  const set = new Set(want);
  for (let p = 0; p < ids.length; p++) if (set.has(ids[p])) out.push([ids[p], p]);
  return out;
}

/** A value read by the Parquet reader as a DuckDB literal (cast to its column type by the caller). */
export function sqlLiteral(v: unknown, leaf: ParquetLeaf): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return `[${v.map((x) => sqlLiteral(x, leaf)).join(', ')}]`;
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return leaf === 'timestamp_us' ? `make_timestamp(${v}::BIGINT)` : `${v}`;
    case 'number':
      return Number.isFinite(v) ? `${Object.is(v, -0) ? '-0.0' : v}::DOUBLE` : `'${Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'}'::DOUBLE`;
    case 'string':
      // A NUL would end the statement's text early: such rows are read through DuckDB instead.
      if (v.includes('\0')) throw new QuiverError('unsupported', 'lookup: a text value holds a NUL character');
      return quoteString(v);
    default:
      if (v instanceof Uint8Array) return `from_hex('${Buffer.from(v).toString('hex')}')`;
      throw new QuiverError('unsupported', `lookup: no literal for ${typeof v}`);
  }
}

/** The Parquet leaf each view type is read from, where the value needs no DuckDB to convert. */
const JS_LEAVES: Record<string, readonly ParquetLeaf[]> = {
  BOOLEAN: ['boolean'],
  TINYINT: ['int8'],
  SMALLINT: ['int16'],
  INTEGER: ['int32'],
  UTINYINT: ['uint8'],
  USMALLINT: ['uint16'],
  UINTEGER: ['uint32'],
  BIGINT: ['int64'],
  UBIGINT: ['uint64'],
  FLOAT: ['float32'],
  DOUBLE: ['float64'],
  VARCHAR: ['utf8'],
  BLOB: ['binary'],
  TIMESTAMP: ['timestamp_us'],
};

/**
 * A value read by the Parquet reader as the JS value a query through DuckDB gives for a column
 * of `sqlType` (see engine.ts: BIGINT -> bigint, TIMESTAMP -> Date, BLOB -> Uint8Array), or
 * undefined when only DuckDB converts it (lists, JSON, a leaf of another width).
 */
export function jsValueOf(v: unknown, leaf: ParquetLeaf, sqlType: string): unknown {
  if (!JS_LEAVES[sqlType]?.includes(leaf)) return undefined;
  if (v === null || v === undefined) return null;
  if (leaf === 'timestamp_us') return typeof v === 'bigint' ? new Date(Number(v / 1000n)) : undefined;
  if (leaf === 'binary') return v instanceof Uint8Array ? v.slice() : undefined;
  const expected = leaf === 'boolean' ? 'boolean' : leaf === 'utf8' ? 'string' : leaf === 'int64' || leaf === 'uint64' ? 'bigint' : 'number';
  return typeof v === expected ? v : undefined;
}

/**
 * A SELECT producing `rows` (in their order, ids not found left out) as a relation: row_id,
 * `columns` cast to their view types (the view's order), then the extra columns, given per row
 * as literals.
 */
export function valuesSql(columns: readonly { name: string; sqlType: string }[], found: LookedUp, rows: readonly { id: bigint; extra: string[] }[], extra: readonly { name: string; sqlType: string }[]): string {
  const all = [{ name: 'row_id', sqlType: 'BIGINT' }, ...columns, ...extra];
  const select = all.map((c, i) => `CAST(c${i} AS ${c.sqlType}) AS ${quoteIdent(c.name)}`).join(', ');
  const live = rows.filter((r) => found.rows.has(r.id));
  if (live.length === 0) return `SELECT ${all.map((c) => `NULL::${c.sqlType} AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`;
  const tuples = live.map((r) => `(${[`${r.id}::BIGINT`, ...found.rows.get(r.id)!.map((v, i) => sqlLiteral(v, found.leaves[i])), ...r.extra].join(', ')})`);
  return `SELECT ${select} FROM (VALUES ${tuples.join(', ')}) AS v(${all.map((_, i) => `c${i}`).join(', ')})`;
}
