// Reads the values of one batch's rows through ranged reads. Small columns are decoded a whole
// row group at a time and kept in a bounded cache (a shuffle window revisits the same few
// groups for many batches, and their pages hold thousands of rows); large columns read only the
// pages holding the batch's rows, one batched fetch per file.
// Invariant: only the requested columns' pages are fetched.

import { QuiverError } from '../errors.js';
import { readRowsRanged, type ColumnDef, type RowRead } from '../format/index.js';
import { ordinalOf } from '../query/search/collections.js';
import { groupOf, type LocatedFile, type Locations } from './locate.js';

/** Decoded small-column row groups kept per stream; a window of 8 blocks touches at most 8 groups per fragment. */
export const SMALL_GROUPS_CACHED_MAX = 64;

/** The values of the batch's rows per column, in the batch's order. */
export type RawBatch = Map<string, unknown[]>;

export class BatchReader {
  readonly #small = new Map<string, Promise<unknown[]>>();
  /** Columns of patch files; a version holds at most 8 patches, so this is bounded by columns × 8. */
  readonly #patchCols = new Map<string, Promise<unknown[]>>();

  constructor(
    readonly loc: Locations,
    readonly columns: readonly ColumnDef[],
    readonly isLarge: (c: ColumnDef) => boolean,
  ) {}

  async read(rows: Int32Array): Promise<RawBatch> {
    const out: RawBatch = new Map();
    await Promise.all(
      this.columns.map(async (c) => {
        out.set(c.name, this.isLarge(c) ? await this.#readLarge(c.name, rows) : await this.#readSmall(c.name, rows));
      }),
    );
    return out;
  }

  async #readSmall(name: string, rows: Int32Array): Promise<unknown[]> {
    const out = new Array<unknown>(rows.length);
    const groups = new Map<string, Promise<unknown[]>>();
    const at: { key: string; local: number }[] = [];
    for (const r of rows) {
      const f = this.loc.fragments[this.loc.fragment[r]];
      const p = this.loc.pos[r];
      const g = groupOf(f, p);
      const key = `${this.loc.fragment[r]}:${g}:${name}`;
      if (!groups.has(key)) groups.set(key, this.#smallGroup(key, f, g, name));
      at.push({ key, local: p - f.groupStarts[g] });
    }
    const values = new Map<string, unknown[]>();
    for (const [k, p] of groups) values.set(k, await p);
    at.forEach((a, i) => (out[i] = values.get(a.key)![a.local]));
    // Column patches, oldest first, so the newest value of a row wins.
    for (const patch of this.loc.patches) {
      const k = patch.columns.indexOf(name);
      if (k < 0) continue;
      let col: unknown[] | null = null;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        if (!patch.applies[this.loc.fragment[r]]) continue;
        const p = ordinalOf(patch.file.rowIds, this.loc.rowId[r]);
        if (p < 0) continue;
        col ??= await this.#patchColumn(patch.file, patch.names[k]);
        out[i] = col[p];
      }
    }
    return out;
  }

  /** A patch file's whole column (patches are small: one commit's changed rows), read once per stream. */
  #patchColumn(f: LocatedFile, name: string): Promise<unknown[]> {
    const key = `patch:${f.key}:${name}`;
    let p = this.#patchCols.get(key);
    if (!p) {
      const col = columnIndex(f, name);
      p = readRowsRanged(f.file, f.file.footer.rowGroups.map((g, group) => ({ column: col, group, positions: Array.from({ length: g.rows }, (_, i) => i) }))).then((vs) => vs.flat());
      this.#patchCols.set(key, p);
    }
    return p;
  }

  #smallGroup(key: string, f: LocatedFile, g: number, name: string): Promise<unknown[]> {
    let p = this.#small.get(key);
    if (p) {
      this.#small.delete(key); // re-inserted: the map's order is the recency order
      this.#small.set(key, p);
      return p;
    }
    const col = columnIndex(f, name);
    const n = f.file.footer.rowGroups[g].rows;
    p = readRowsRanged(f.file, [{ column: col, group: g, positions: Array.from({ length: n }, (_, i) => i) }]).then((v) => v[0]);
    this.#small.set(key, p);
    p.catch(() => this.#small.delete(key));
    while (this.#small.size > SMALL_GROUPS_CACHED_MAX) this.#small.delete(this.#small.keys().next().value!);
    return p;
  }

  async #readLarge(name: string, rows: Int32Array): Promise<unknown[]> {
    const large = this.loc.large.get(name)!;
    const out = new Array<unknown>(rows.length).fill(null);
    // Per file, per row group: the distinct positions wanted, ascending.
    const wanted = new Map<number, Map<number, Set<number>>>();
    rows.forEach((r) => {
      const fi = large.file[r];
      if (fi < 0) return;
      const f = large.files[fi];
      const g = groupOf(f, large.pos[r]);
      const byGroup = wanted.get(fi) ?? wanted.set(fi, new Map()).get(fi)!;
      (byGroup.get(g) ?? byGroup.set(g, new Set()).get(g)!).add(large.pos[r] - f.groupStarts[g]);
    });
    const found = new Map<string, unknown>();
    await Promise.all(
      [...wanted].map(async ([fi, byGroup]) => {
        const f = large.files[fi];
        const col = columnIndex(f, name);
        const reads: RowRead[] = [...byGroup].map(([group, ps]) => ({ column: col, group, positions: [...ps].sort((a, b) => a - b) }));
        const values = await readRowsRanged(f.file, reads);
        reads.forEach((rd, i) => rd.positions.forEach((p, j) => found.set(`${fi}:${f.groupStarts[rd.group] + p}`, values[i][j])));
      }),
    );
    rows.forEach((r, i) => {
      if (large.file[r] >= 0) out[i] = found.get(`${large.file[r]}:${large.pos[r]}`);
    });
    return out;
  }
}

function columnIndex(f: LocatedFile, name: string): number {
  const i = f.file.footer.columns.findIndex((c) => c.name === name);
  if (i < 0) throw new QuiverError('corrupt', `stream: data file "${f.key}" has no column "${name}"`, { key: f.key, column: name });
  return i;
}
