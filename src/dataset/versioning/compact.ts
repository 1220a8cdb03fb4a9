// Compaction: rewrites small or delete-heavy fragments (and the large-column files only their
// rows use) into large ones. The new version has exactly the same rows and values under the
// same row ids; older versions keep their files until vacuum. Planning is pure.

import { QuiverError } from '../../errors.js';
import { isLarge, livePatches, type CommitStats, type FragmentMeta, type GroupFileMeta, type Manifest } from '../../format/index.js';
import { quoteIdent, quoteString } from '../../query/index.js';
import { createVersionView, idsTable, type VersionContext } from './context.js';
import { smallColumnNames } from './diff.js';
import { changedColumns, writeGroupFile, writeSmallFragment } from './row-write.js';

export interface CompactOptions {
  /** A fragment with fewer live rows than this is small. Default 16,384. */
  fragmentRowsMin?: number;
  /** A fragment whose deleted share exceeds this is rewritten. Default 0.2. */
  deletedShareMax?: number;
  /** Rows per written fragment. Default: the handle's `fragmentRowsMax` (131,072). */
  fragmentRowsMax?: number;
}

/** What `Dataset.compact` takes: the policy, and where to report progress (the CLI draws its bar from it). */
export interface CompactRunOptions extends CompactOptions {
  /** Called before the first fragment is written and after each, with rows written of the rows compacted. */
  onProgress?: (rows: number, rowsTotal: number) => void;
}

/** The automatic policy: after a commit, compact when this many small fragments accumulate. */
export interface AutoCompactOptions extends CompactOptions {
  /** Small fragments that trigger compaction after a commit. Default 32. */
  smallFragmentsMax?: number;
}

export const COMPACT_DEFAULTS = { fragmentRowsMin: 16_384, deletedShareMax: 0.2, smallFragmentsMax: 32 };

const live = (f: FragmentMeta) => f.rows - (f.deletes?.count ?? 0);

/** Which fragments to rewrite: small ones (when there are two or more) and delete-heavy ones. */
export function planCompaction(m: Manifest, o: CompactOptions = {}): FragmentMeta[] {
  const min = o.fragmentRowsMin ?? COMPACT_DEFAULTS.fragmentRowsMin;
  const share = o.deletedShareMax ?? COMPACT_DEFAULTS.deletedShareMax;
  const small = m.fragments.filter((f) => live(f) < min);
  const heavy = m.fragments.filter((f) => live(f) >= min && f.rows > 0 && (f.deletes?.count ?? 0) / f.rows > share);
  // A fragment a column patch applies to is rewritten with the patch's values, so `compact()`
  // folds the patches into the fragments (a patch whose fragments are all gone is dropped).
  const patched = new Set(livePatches(m).flatMap((p) => p.fragments));
  const picked = [...(small.length >= 2 || small.some((f) => f.deletes) ? small : []), ...heavy];
  for (const f of m.fragments) if (patched.has(f.id) && !picked.includes(f)) picked.push(f);
  return picked;
}

/**
 * What the automatic policy rewrites: small fragments are grouped in size tiers (each tier spans
 * `smallFragmentsMax`× more rows than the one below), and the lowest tier holding
 * `smallFragmentsMax` fragments is merged. A merged fragment lands in a higher tier, so a row is
 * rewritten a few times over its life, not once per trigger: merging every small fragment each
 * time rewrote the same images again and again (measured: 1.8 GB written for 0.6 GB of data).
 */
export function planAutoCompaction(m: Manifest, o: AutoCompactOptions = {}): FragmentMeta[] {
  const min = o.fragmentRowsMin ?? COMPACT_DEFAULTS.fragmentRowsMin;
  const count = Math.max(2, o.smallFragmentsMax ?? COMPACT_DEFAULTS.smallFragmentsMax);
  const tiers = new Map<number, FragmentMeta[]>();
  for (const f of m.fragments) {
    if (live(f) >= min) continue;
    const tier = Math.floor(Math.log(live(f) + 1) / Math.log(count));
    tiers.set(tier, [...(tiers.get(tier) ?? []), f]);
  }
  const full = [...tiers.entries()].filter(([, fs]) => fs.length >= count).sort((a, b) => a[0] - b[0]);
  return full.length ? full[0][1] : [];
}

/** True when the automatic policy wants a compaction of `m`. */
export function wantsAutoCompaction(m: Manifest, o: AutoCompactOptions): boolean {
  return planAutoCompaction(m, o).length > 0;
}

/** A written compaction, waiting to be applied to a manifest. */
export interface CompactionWrite {
  /** Fragments replaced, with the deletes key each had when read. */
  replaced: { id: string; deletes: string | null }[];
  added: FragmentMeta[];
  groups: { column: string; remove: string[]; add: GroupFileMeta[] }[];
  /** The column patch keys of the version read: a patch committed since over a replaced fragment is a conflict. */
  patches: string[];
  bytes: number;
}

/** Reads the rows of `picked` and writes them as new fragments; large files only their rows use are rewritten too. */
export async function writeCompaction(ctx: VersionContext, m: Manifest, picked: FragmentMeta[], rowsMax: number, onProgress?: CompactRunOptions['onProgress']): Promise<CompactionWrite> {
  const sub: Manifest = { ...m, fragments: picked, groups: {} };
  await createVersionView(ctx, '__quiver_compact', sub, { large: 'none' });
  const rows = (await ctx.session.all(`SELECT ${['row_id', ...smallColumnNames(m)].map(quoteIdent).join(', ')} FROM __quiver_compact ORDER BY row_id`)).rows;
  const ids = rows.map((r) => r.row_id as bigint);
  await idsTable(ctx, '__quiver_compact_ids', ids);
  await createVersionView(ctx, '__quiver_compact_all', m, { large: 'none' });
  const groups: CompactionWrite['groups'] = [];
  const largeValues = new Map<string, Map<bigint, unknown>>();
  let bytes = 0;
  for (const def of m.schema.filter((c) => isLarge(c.type))) {
    const files = m.groups[def.name] ?? [];
    if (!files.length) continue;
    const paths = await ctx.paths(files.map((g) => g.key));
    const keyOf = new Map(paths.map((p, i) => [p, files[i].key]));
    const list = `[${paths.map(quoteString).join(', ')}]`;
    // A file can go when every live row it holds is being rewritten here.
    const stats = await ctx.session.all(
      `SELECT g.__quiver_file AS f, count(*) FILTER (WHERE v.row_id IS NOT NULL AND k.id IS NULL) AS outside FROM read_parquet(${list}, filename = '__quiver_file') g ` +
        `LEFT JOIN __quiver_compact_all v ON v.row_id = g.row_id LEFT JOIN __quiver_compact_ids k ON k.id = g.row_id GROUP BY 1`,
    );
    const drop = stats.rows.filter((r) => Number(r.outside) === 0).map((r) => r.f as string);
    if (!drop.length) continue;
    const vals = await ctx.session.all(`SELECT row_id, ${quoteIdent(def.name)} AS v FROM read_parquet([${drop.map(quoteString).join(', ')}]) WHERE row_id IN (SELECT id FROM __quiver_compact_ids)`);
    largeValues.set(def.name, new Map(vals.rows.map((r) => [r.row_id as bigint, r.v])));
    groups.push({ column: def.name, remove: drop.map((p) => keyOf.get(p)!), add: [] });
  }
  const added: FragmentMeta[] = [];
  onProgress?.(0, rows.length);
  for (let i = 0; i < rows.length; i += rowsMax) {
    const chunk = rows.slice(i, i + rowsMax);
    const chunkIds = ids.slice(i, i + rowsMax);
    const { scalar } = changedColumns(m.schema, chunk, {}, chunkIds);
    const frag = await writeSmallFragment(ctx, scalar);
    added.push(frag.fragment);
    bytes += frag.bytes;
    for (const g of groups) {
      const def = m.schema.find((c) => c.name === g.column)!;
      const values = largeValues.get(g.column)!;
      const mine = chunkIds.filter((id) => values.has(id));
      if (!mine.length) continue;
      const file = await writeGroupFile(ctx, def, mine, mine.map((id) => values.get(id)));
      g.add.push(file);
      bytes += file.bytes;
    }
    onProgress?.(Math.min(rows.length, i + rowsMax), rows.length);
  }
  return { replaced: picked.map((f) => ({ id: f.id, deletes: f.deletes?.key ?? null })), added, groups, patches: (m.patches ?? []).map((p) => p.key), bytes };
}

/** Applies a compaction to `m`; `conflict` when another commit changed a fragment or file it replaces. */
export function applyCompaction(w: CompactionWrite, m: Manifest): { manifest: Manifest; stats: Partial<CommitStats> } {
  const byId = new Map(m.fragments.map((f) => [f.id, f]));
  for (const r of w.replaced) {
    const f = byId.get(r.id);
    if (!f || (f.deletes?.key ?? null) !== r.deletes) throw new QuiverError('conflict', `versioning: fragment ${r.id} changed while it was compacted; compact again`, { fragment: r.id });
  }
  const gone = new Set(w.replaced.map((r) => r.id));
  const read = new Set(w.patches);
  const since = livePatches(m).find((p) => !read.has(p.key) && p.fragments.some((id) => gone.has(id)));
  if (since) throw new QuiverError('conflict', `versioning: rows of a compacted fragment were updated while it was compacted; compact again`, { patch: since.key });
  const groups = { ...m.groups };
  for (const g of w.groups) {
    const cur = groups[g.column] ?? [];
    const drop = new Set(g.remove);
    if (cur.filter((x) => drop.has(x.key)).length !== drop.size) throw new QuiverError('conflict', `versioning: a ${g.column} file changed while it was compacted; compact again`, { column: g.column });
    groups[g.column] = [...cur.filter((x) => !drop.has(x.key)), ...g.add];
  }
  const out: Manifest = { ...m, fragments: [...m.fragments.filter((f) => !gone.has(f.id)), ...w.added], groups };
  const patches = livePatches(out);
  return { manifest: { ...out, patches: patches.length ? patches : undefined }, stats: { bytesWritten: w.bytes } };
}
