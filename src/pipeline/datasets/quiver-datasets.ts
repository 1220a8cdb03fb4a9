// The dataset provider that connects pipelines to Quiver datasets: `con.dataset(url)` and
// `con.sql(…, { datasets })` read a version through standalone SQL over its files, and
// `writeDataset` appends a pipeline's batches to a branch (or updates rows by a key) and commits them once, with the
// pipeline's lineage in the commit. A failed pipeline drops what it staged.

import * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../../errors.js';
import { create, open, type Dataset } from '../../dataset/index.js';
import type { SchemaInput } from '../../format/index.js';
import { withoutSecrets, type DatasetLineage, type DatasetProvider, type DatasetRef, type DatasetScan, type DatasetSink, type DatasetStorage, type DatasetVersion } from '../dataset-seam.js';
import type { ColumnSpec } from '../schema.js';

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

class QuiverSink implements DatasetSink {
  constructor(
    private readonly ds: Dataset,
    private readonly message: string,
    private readonly lineage: DatasetLineage,
    private readonly update?: { on: string },
  ) {}

  async append(batch: arrow.Table): Promise<void> {
    const names = batch.schema.fields.map((f) => f.name);
    const cols = names.map((_, i) => batch.getChildAt(i)!);
    const records: Record<string, unknown>[] = new Array(batch.numRows);
    for (let r = 0; r < batch.numRows; r++) {
      const rec: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) rec[names[c]] = plain(cols[c].get(r));
      records[r] = rec;
    }
    if (!this.update) await this.ds.append(records);
    else if (this.update.on === 'row_id') await this.ds.update({ rows: records });
    else await this.ds.upsert(records, { on: this.update.on });
  }

  async commit(): Promise<{ version: DatasetVersion }> {
    try {
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
  private readonly handles = new Map<string, Promise<Dataset>>();
  /** The full store options (credentials too) of each URL this process split, so its own scans use them; scans sent elsewhere carry none. */
  private readonly storageOf = new Map<string, DatasetStorage>();

  private handle(ref: DatasetRef): Promise<Dataset> {
    const { url, version, storage, ...at } = ref;
    const key = JSON.stringify([url, version ?? null, at.branch ?? null, at.tag ?? null, at.asOf ?? null, storage ?? null]);
    let h = this.handles.get(key);
    if (!h) {
      h = open(url, { ...at, ...(storage ? { storage } : {}), ...(version !== undefined ? { version: String(version) } : {}) });
      h.catch(() => this.handles.delete(key));
      this.handles.set(key, h);
    }
    return h;
  }

  async sqlFor(ref: DatasetRef, options: { since?: DatasetVersion }): Promise<string> {
    const ds = await this.handle(ref);
    return ds.scanSql(options.since !== undefined ? { since: String(options.since) } : {});
  }

  async splitScans(ref: DatasetRef): Promise<DatasetScan[]> {
    const { version, fragments } = await (await this.handle(ref)).fragmentRows();
    if (ref.storage) this.storageOf.set(ref.url, ref.storage);
    const storage = ref.storage ? withoutSecrets(ref.storage) : undefined;
    return fragments.map((f) => ({ url: ref.url, ...(storage ? { storage } : {}), version, fragment: f.id, rows: f.rows, key: f.key, ...(f.deletes ? { deletes: f.deletes } : {}) }));
  }

  /** Opens the dataset read-only at the scan's version (one handle per version, kept) and returns SQL over that fragment's files, in file order. */
  async scanSqlOf(scan: DatasetScan): Promise<string> {
    const storage = this.storageOf.get(scan.url) ?? scan.storage;
    const ds = await this.handle({ url: scan.url, version: scan.version, ...(storage ? { storage } : {}) });
    return ds.scanSql({ fragments: [scan.fragment], ordered: true });
  }

  async openSink(url: string, options: { branch?: string; message?: string; columns: ColumnSpec[]; lineage: DatasetLineage; update?: { on: string } }): Promise<DatasetSink> {
    let ds: Dataset;
    try {
      ds = await open(url, { branch: options.branch });
    } catch (e) {
      if (!isQuiverError(e, 'not_found') || options.branch || options.update) throw e;
      const schema: SchemaInput = Object.fromEntries(options.columns.map((c) => [c.name, quiverTypeOf(c.type)]));
      ds = await create(url, { schema });
    }
    return new QuiverSink(ds, options.message ?? 'pipeline output', options.lineage, options.update);
  }

  /** Closes every handle this provider opened. */
  async close(): Promise<void> {
    for (const h of this.handles.values()) await (await h.catch(() => null))?.close();
    this.handles.clear();
  }
}
