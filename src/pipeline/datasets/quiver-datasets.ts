// The dataset provider that connects pipelines to Quiver datasets: `con.dataset(url)` and
// `con.sql(…, { datasets })` read a version through standalone SQL over its files, and
// `writeDataset` appends a pipeline's batches to a branch (or updates rows by a key) and commits them once, with the
// pipeline's lineage in the commit. A failed pipeline drops what it staged.

import { randomBytes } from 'node:crypto';
import * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../../errors.js';
import { checkRowMerge, create, mergesRemotely, FragmentWriter, open, planRowMerge, rowMergeOp, RowMergeWriter, type Dataset, type FragmentFiles, type PieceRange, type RowMergeChange, type RowMergeTask } from '../../dataset/index.js';
import type { Manifest } from '../../format/index.js';
import type { SchemaInput } from '../../format/index.js';
import type { Runtime } from '../../runtime/index.js';
import { withoutSecrets, type DatasetLineage, type DatasetProvider, type DatasetRef, type DatasetScan, type DatasetSink, type DatasetStorage, type DatasetVersion, type DatasetWriteTarget, type DatasetWritten, type DatasetMergeTask, type UpdatePiece } from '../dataset-seam.js';
import { recordsFromTable, type ColumnSpec } from '../schema.js';

/** A Quiver column type for a DuckDB SQL type: 'BIGINT' -> 'int64', 'FLOAT[768]' -> 'emb-768'. */
export function quiverTypeOf(sqlType: string): string {
  const t = sqlType.trim().toUpperCase();
  const arr = /^FLOAT\[(\d+)\]$/.exec(t);
  if (arr) return `emb-${arr[1]}`;
  if (t.endsWith('[]')) return `list<${quiverTypeOf(t.slice(0, -2))}>`;
  const map: Record<string, string> = {
    BOOLEAN: 'bool', TINYINT: 'int8', SMALLINT: 'int16', INTEGER: 'int32', INT: 'int32', BIGINT: 'int64',
    UTINYINT: 'uint8', USMALLINT: 'uint16', UINTEGER: 'uint32', UBIGINT: 'uint64', FLOAT: 'float32', REAL: 'float32',
    DOUBLE: 'float64', VARCHAR: 'text', TEXT: 'text', JSON: 'json', BLOB: 'binary', TIMESTAMP: 'timestamp', DATE: 'timestamp',
  };
  const q = map[t];
  if (!q) throw new QuiverError('unsupported', `pipeline: no dataset column type for SQL type ${sqlType}`, { type: sqlType });
  return q;
}

/** Plain JS values of an Arrow value, in the forms `Dataset.append` takes. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof arrow.Vector) {
    const items = v.toArray() as ArrayLike<unknown>;
    if (items instanceof Float32Array) return items.slice();
    return Array.from(items, plain);
  }
  if (typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date) && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return (v as { toJSON: () => unknown }).toJSON();
  }
  return v;
}

/** A batch's rows as the records `Dataset.append` takes (one conversion for every writer, so they store the same values). */
const recordsOf = (batch: arrow.Table) => recordsFromTable(batch, plain);

class QuiverSink implements DatasetSink {
  private readonly writer = randomBytes(8).toString('hex');

  constructor(
    private readonly ds: Dataset,
    private readonly message: string,
    private readonly lineage: DatasetLineage,
    private readonly columns: readonly ColumnSpec[],
    private readonly update?: { on: string },
  ) {}

  /** The update's merge plan (made by `mergeTasks`) and the answers adopted for it. */
  private merging?: { manifest: Manifest; pieces: PieceRange[]; columns: string[]; changes: RowMergeChange[] };

  /**
   * Workers may write appended fragments themselves, and the pieces of an update by row id
   * (merged into the files by merge tasks) unless it sets an image column; an upsert by key is
   * planned against live rows here.
   */
  remoteTarget(): DatasetWriteTarget | undefined {
    if (this.update && this.update.on !== 'row_id') return undefined;
    if (this.update && !mergesRemotely(this.ds.schema, this.setColumns())) return undefined;
    return { url: this.ds.url, version: this.ds.version.id, writer: this.writer, ...(this.update ? { update: { on: 'row_id' as const } } : {}) };
  }

  async adopt(written: DatasetWritten): Promise<void> {
    if (this.merging) return void this.merging.changes.push(written.files as RowMergeChange);
    if (written.rows === 0) return;
    const f = written.files as FragmentFiles;
    await this.ds.stageWritten([f.fragment], f.schema);
  }

  /** Plans the merge tasks on the branch head as it is now; the columns set are the output's (row_id aside). */
  /** The columns an update sets: the output's, row_id aside. */
  private setColumns(): string[] {
    return this.columns.map((c) => c.name).filter((n) => n !== 'row_id');
  }

  async mergeTasks(pieces: readonly UpdatePiece[]): Promise<DatasetMergeTask[]> {
    const columns = this.setColumns();
    const { manifest, version } = await this.ds.withVersionBase(async (_ctx, m) => ({ manifest: m, version: this.ds.version.id }));
    this.merging = { manifest, pieces: [...pieces], columns, changes: [] };
    return planRowMerge(manifest, pieces, columns).map((t: RowMergeTask) => ({ version, task: t, pieces: t.pieces }));
  }

  async append(batch: arrow.Table): Promise<void> {
    const records = recordsOf(batch);
    if (!this.update) await this.ds.append(records);
    else if (this.update.on === 'row_id') await this.ds.update({ rows: records });
    else await this.ds.upsert(records, { on: this.update.on });
  }

  async commit(): Promise<{ version: DatasetVersion }> {
    try {
      if (this.merging) {
        const { manifest, pieces, columns, changes } = this.merging;
        checkRowMerge(manifest, pieces, columns, changes);
        await this.ds.stageChange(rowMergeOp(changes));
      }
      const c = await this.ds.commit(this.message, { meta: { pipeline: this.lineage } });
      return { version: c.id };
    } finally {
      await this.ds.close();
    }
  }

  async abort(): Promise<void> {
    await this.ds.close(); // staged rows are dropped; any fragment already written is unreferenced
  }
}

/** The provider `connect()` uses unless another is configured. */
export class QuiverDatasets implements DatasetProvider {
  /** The runtime its handles open on (undefined: the process's default), as `open(url, { runtime })`. */
  readonly runtime: Runtime | undefined;

  constructor(options: { runtime?: Runtime } = {}) {
    this.runtime = options.runtime;
  }

  private readonly handles = new Map<string, Promise<Dataset>>();
  /** The full store options (credentials too) of each URL this process split, so its own scans use them; scans sent elsewhere carry none. */
  private readonly storageOf = new Map<string, DatasetStorage>();
  /** Fragment writers by sink writer and URL, kept for the sink's run so each leases row ids once, not per batch. */
  private readonly writers = new Map<string, Promise<FragmentWriter>>();
  /** Merge writers of update targets, by sink writer, URL and version, kept like `writers`. */
  private readonly mergers = new Map<string, Promise<RowMergeWriter>>();

  private on(): { runtime?: Runtime } {
    return this.runtime ? { runtime: this.runtime } : {};
  }

  private handle(ref: DatasetRef): Promise<Dataset> {
    const { url, version, storage, ...at } = ref;
    const key = JSON.stringify([url, version ?? null, at.branch ?? null, at.tag ?? null, at.asOf ?? null, storage ?? null]);
    let h = this.handles.get(key);
    if (!h) {
      h = open(url, { ...at, ...this.on(), ...(storage ? { storage } : {}), ...(version !== undefined ? { version: String(version) } : {}) });
      h.catch(() => this.handles.delete(key));
      this.handles.set(key, h);
    }
    return h;
  }

  async sqlFor(ref: DatasetRef, options: { since?: DatasetVersion }): Promise<string> {
    const ds = await this.handle(ref);
    return ds.scanSql(options.since !== undefined ? { since: String(options.since) } : {});
  }

  async splitScans(ref: DatasetRef, options: { since?: DatasetVersion } = {}): Promise<DatasetScan[]> {
    const { version, fragments } = await (await this.handle(ref)).fragmentRows();
    if (ref.storage) this.storageOf.set(ref.url, ref.storage);
    const storage = ref.storage ? withoutSecrets(ref.storage) : undefined;
    const scans = fragments.map((f) => ({ url: ref.url, ...(storage ? { storage } : {}), version, fragment: f.id, rows: f.rows, key: f.key, ...(f.deletes ? { deletes: f.deletes } : {}) }));
    if (options.since === undefined) return scans;
    // A fragment the old version has with the same deletes holds only rows the old version has:
    // none of it is "added since", so it needs no scan (the usual case: all but the newest fragments).
    const old = await (await this.handle({ url: ref.url, version: options.since, ...(ref.storage ? { storage: ref.storage } : {}) })).fragmentRows();
    const same = new Set(old.fragments.map((f) => `${f.id} ${f.deletes ?? ''}`));
    return scans.filter((s) => !same.has(`${s.fragment} ${s.deletes ?? ''}`)).map((s) => ({ ...s, since: old.version }));
  }

  /** Opens the dataset read-only at the scan's version (one handle per version, kept) and returns SQL over that fragment's files, in file order. */
  async scanSqlOf(scan: DatasetScan): Promise<string> {
    const ds = await this.scanHandle(scan);
    return ds.scanSql({ fragments: [scan.fragment], ordered: true, ...(scan.since !== undefined ? { since: scan.since } : {}) });
  }

  /** A slice of one scan (`Dataset.readSlice`): on a remote store, its large values by byte range, not whole files. */
  async readScanSlice(scan: DatasetScan, offset: number, rows: number): Promise<arrow.Table> {
    const ds = await this.scanHandle(scan);
    return ds.readSlice({ fragment: scan.fragment, offset, rows, ...(scan.since !== undefined ? { since: scan.since } : {}) });
  }

  /** The read-only handle at a scan's version, with this process's store options for its URL when it has them. */
  private scanHandle(scan: DatasetScan): Promise<Dataset> {
    const storage = this.storageOf.get(scan.url) ?? scan.storage;
    return this.handle({ url: scan.url, version: scan.version, ...(storage ? { storage } : {}) });
  }

  async openSink(url: string, options: { branch?: string; message?: string; columns: ColumnSpec[]; lineage: DatasetLineage; update?: { on: string } }): Promise<DatasetSink> {
    let ds: Dataset;
    try {
      ds = await open(url, { branch: options.branch, ...this.on() });
    } catch (e) {
      if (!isQuiverError(e, 'not_found') || options.branch || options.update) throw e;
      const schema: SchemaInput = Object.fromEntries(options.columns.map((c) => [c.name, quiverTypeOf(c.type)]));
      ds = await create(url, { schema, ...this.on() });
    }
    return new QuiverSink(ds, options.message ?? 'pipeline output', options.lineage, options.columns, options.update);
  }

  /** The writer kept in `map` for a sink writer's target at `version` (a read-only handle there), made by `make` on first use. */
  private keptWriter<W>(map: Map<string, Promise<W>>, key: string, target: DatasetWriteTarget, version: string, make: (ds: Dataset) => W): Promise<W> {
    let w = map.get(key);
    if (!w) {
      const storage = this.storageOf.get(target.url) ?? target.storage;
      w = this.handle({ url: target.url, version, ...(storage ? { storage } : {}) }).then(make);
      w.catch(() => map.delete(key));
      map.set(key, w);
    }
    return w;
  }

  /** Writes a batch as one fragment of the target (read-only handle at its version, row ids from its lease); no commit. */
  async writeBatch(target: DatasetWriteTarget, batch: arrow.Table): Promise<DatasetWritten> {
    if (batch.numRows === 0) return { rows: 0, bytes: 0, files: null };
    const w = await this.keptWriter(this.writers, `${target.writer} ${target.url}`, target, target.version, (ds) => new FragmentWriter(ds));
    const files = await w.write(recordsOf(batch));
    return { rows: batch.numRows, bytes: files.fragment.bytes, files };
  }

  /** Runs one merge task of an update target (read-only handle at the task's version, one writer per sink writer and version). */
  async mergeRows(target: DatasetWriteTarget, task: DatasetMergeTask, pieces: readonly arrow.Table[]): Promise<DatasetWritten> {
    const w = await this.keptWriter(this.mergers, `${target.writer} ${target.url} ${task.version}`, target, task.version, (ds) => new RowMergeWriter(ds));
    const change = await w.merge(task.task as RowMergeTask, pieces.map(recordsOf));
    return { rows: change.rowsUpdated, bytes: change.bytes, files: change };
  }

  async releaseWrites(writer: string): Promise<void> {
    for (const map of [this.writers, this.mergers] as Map<string, Promise<{ release(): Promise<void> }>>[]) {
      for (const [key, w] of [...map]) {
        if (!key.startsWith(`${writer} `)) continue;
        map.delete(key);
        await (await w.catch(() => null))?.release();
      }
    }
  }

  /** Closes every handle this provider opened. */
  async close(): Promise<void> {
    for (const h of this.handles.values()) await (await h.catch(() => null))?.close();
    this.handles.clear();
  }
}
