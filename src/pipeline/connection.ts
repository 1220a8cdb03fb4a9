// A pipeline connection: a catalog of its own in the runtime's DuckDB instance (the one dataset
// handles use), the factory of Relations, and the place SQL functions backed by batch UDFs are
// registered. Every run opens its own DuckDB session on that catalog, so tables are shared across
// relations of one connection but not across connections, and temp tables and views are not.

import * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import { quoteIdent, type Engine, type Session } from '../query/index.js';
import { defaultRuntime, type Runtime } from '../runtime/index.js';
import { openTarget } from '../dataset/open-target.js';
import type { DatasetProvider, DatasetRef, DatasetStorage, DatasetVersion } from './dataset-seam.js';
import { currentConfig } from './config.js';
import { QuiverDatasets } from './datasets/quiver-datasets.js';
import type { ProgressOptions } from './progress.js';
import { Relation, type RelationHost } from './relation.js';
import { recordsFromTable, tableFromRecords, type SchemaSpec } from './schema.js';
import { arrowSchemaFromColumns, columnsFromSpec } from './schema-sql.js';
import { isClass, isModuleRef, loadUdf, udfName, type Udf } from './udf-ref.js';

/** Options of `connect`. */
export interface ConnectOptions extends ProgressOptions {
  /** The runtime whose DuckDB instance and bounds the connection uses. Default: the process's (`defaultRuntime()`). */
  runtime?: Runtime;
}

/** Options of `con.sql`. */
export interface SqlOptions {
  /** Datasets the SQL reads, by the table name it uses for them (read through the dataset provider). Default none. */
  datasets?: Record<string, string | DatasetRef>;
  /** With datasets: only the rows added after this version. Default: all rows. */
  since?: DatasetVersion;
}

/** Options of `con.dataset`: which version to read, as `open` takes them (one of branch, version, tag; a branch may add asOf). */
export interface DatasetOptions {
  /** Branch head to read. Default: the main branch. */
  branch?: string;
  /** Fixed version to read instead of a branch head. */
  version?: DatasetVersion;
  /** The version a tag names. */
  tag?: string;
  /** The branch's last version committed at or before this time (a Date or an ISO 8601 string). */
  asOf?: Date | string;
  /** Only the rows added after this version. */
  since?: DatasetVersion;
  /** How to reach a remote store: endpoint, region, credentials (kept out of the commit lineage). Default none (local folders, or the SDK's defaults). */
  storage?: DatasetStorage;
}

/** Options of `registerFunction`. */
export interface FunctionOptions {
  /** The SQL arguments, in order: the UDF receives them as the columns of its Arrow table. */
  params: SchemaSpec;
  /** The SQL return type. */
  returns: string;
  /** Call the function even for constant arguments on every row. Default false. */
  volatile?: boolean;
}

/** A pipeline connection. Create one with `connect()`; close it when done. */
export class Connection implements RelationHost {
  private closed = false;
  /** Quiver datasets on this connection's runtime, made on first use when it is not the process default. */
  private own: QuiverDatasets | undefined;

  /** @internal Use `connect()`. */
  constructor(
    readonly engine: Engine,
    private readonly main: Session,
    /** The connection's own in-memory catalog: its tables and SQL function names. */
    private readonly catalog: string,
    readonly progress: ProgressOptions,
    /** The runtime given to `connect`, if any: `con.dataset` and `writeDataset` open their handles on it. */
    private readonly runtime?: Runtime,
  ) {}

  /**
   * @internal The configured provider; when that is the default Quiver datasets and `connect` got a
   * runtime, a provider of this connection's own on that runtime, so its dataset handles share the
   * connection's DuckDB instance and budget instead of the process default's.
   */
  datasets(): DatasetProvider | undefined {
    const configured = currentConfig().datasets;
    if (!this.runtime || !(configured instanceof QuiverDatasets) || configured.runtime === this.runtime) return configured;
    return (this.own ??= new QuiverDatasets({ runtime: this.runtime }));
  }

  /** @internal A session on the connection's catalog (for Relation); the caller closes it. */
  async session(): Promise<Session> {
    this.checkOpen();
    const s = await this.engine.session();
    try {
      await s.run(`USE ${this.catalog}`);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new QuiverError('closed', 'pipeline: the connection is closed');
  }

  /**
   * A lazy relation over a SQL query. Nothing runs until a sink (`show`, `toTable`, …) is called;
   * filters and projections in the SQL run in DuckDB before any UDF sees a row.
   *
   * @example
   * const items = con.sql(`select id, path from read_parquet('index/*.parquet') where path is not null`);
   */
  sql(text: string, options: SqlOptions = {}): Relation {
    this.checkOpen();
    if (typeof text !== 'string' || !text.trim()) throw new QuiverError('invalid_input', 'pipeline: sql needs a query');
    const datasets = Object.fromEntries(Object.entries(options.datasets ?? {}).map(([k, v]) => [k, typeof v === 'string' ? { url: v } : v]));
    if (options.since !== undefined && Object.keys(datasets).length === 0) {
      throw new QuiverError('invalid_input', 'pipeline: since needs the datasets the SQL reads (options.datasets)');
    }
    const sql = text.trim().replace(/;\s*$/, '');
    return new Relation(this, { kind: 'sql', sql, datasets, ...(options.since !== undefined ? { since: options.since } : {}) });
  }

  /**
   * A lazy relation over a Quiver dataset at a branch head, a fixed version, a tag, or a
   * branch as of a time. The options are checked at once with `open`'s rules (`invalid_input`
   * for a combination it refuses or an unknown option). Read through the default dataset
   * provider (Quiver datasets); `configure({ datasets })` only to substitute another.
   *
   * @example
   * const media = con.dataset('file:///data/media', { branch: 'main' });
   */
  dataset(url: string, options: DatasetOptions = {}): Relation {
    this.checkOpen();
    if (typeof url !== 'string' || !url) throw new QuiverError('invalid_input', `pipeline: dataset needs a url, got ${String(url)}`);
    const { since, version, storage, ...rest } = options;
    // Checked now, with open's own table, so a wrong combination fails where it is written.
    const target = openTarget({ ...rest, ...(version !== undefined ? { version: String(version) } : {}) }, ['since'], 'main');
    const ref: DatasetRef =
      target.kind === 'version' ? { url, version: version! }
      : target.kind === 'tag' ? { url, tag: target.tag }
      : { url, ...(options.branch !== undefined ? { branch: target.branch } : {}), ...(target.asOf ? { asOf: target.asOf.toISOString() } : {}) };
    if (storage) ref.storage = storage;
    return new Relation(this, { kind: 'dataset', dataset: ref, ...(since !== undefined ? { since } : {}) });
  }

  /**
   * Runs a statement now, for its effect (DDL, inserts, settings).
   *
   * @example
   * await con.run('create table media as select * from read_parquet(\'media/*.parquet\')');
   */
  async run(sql: string): Promise<void> {
    this.checkOpen();
    await this.main.run(sql);
  }

  /**
   * Registers a batch UDF as a SQL scalar function usable in select, where and group by. The UDF
   * gets an Arrow table with one column per parameter (up to 2,048 rows, as DuckDB hands them)
   * and returns one value per row: an array, an Arrow vector, or a one-column Arrow table.
   *
   * Caveats: runs inline (on this thread) and must be synchronous; a `{ module, export }`
   * reference is loaded into this process. A class is constructed once and called through `call(batch)`.
   * @example
   * await con.registerFunction('name_len', (t) => t.getChild('name')!.toArray().map((s) => s.length),
   *   { params: { name: 'VARCHAR' }, returns: 'INTEGER' });
   * await con.sql('select name_len(path) as n from media where name_len(path) > 3').show();
   */
  async registerFunction(name: string, udf: Udf, options: FunctionOptions): Promise<void> {
    this.checkOpen();
    if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new QuiverError('invalid_input', `pipeline: function name must be an identifier, got ${JSON.stringify(name)}`);
    const params = columnsFromSpec(options.params);
    const value = isModuleRef(udf) ? await loadUdf(udf) : udf;
    const fn = isClass(value) ? new value() : value;
    const call = isClass(value) ? (t: arrow.Table) => (fn as { call(t: arrow.Table): unknown }).call(t) : (fn as (t: arrow.Table) => unknown);
    const schema = arrowSchemaFromColumns(params);
    const label = udfName(udf);
    const where = { stage: 0, stageName: `sql function ${name}`, batch: 0 };
    // DuckDB keeps functions per instance, not per connection, and the instance is shared: the
    // function is registered under a name of this connection's, and `name` is a macro over it
    // in this connection's catalog, which its sessions resolve first.
    const internal = `__${this.catalog}_${name}`;
    await this.main.registerScalarSql(internal, params.map((p) => p.type), options.returns.trim().toUpperCase(), (args, rows) => {
      const recs = Array.from({ length: rows }, (_, r) => Object.fromEntries(params.map((p, c) => [p.name, args[c][r]])));
      let out: unknown;
      try {
        out = call(tableFromRecords(recs, schema, where));
      } catch (e) {
        throw new QuiverError('udf_failed', `pipeline: SQL function ${name} (${label}) failed: ${(e as Error).message}`, { function: name }, { cause: e });
      }
      if (out && typeof (out as Promise<unknown>).then === 'function') {
        throw new QuiverError('unsupported', `pipeline: SQL function ${name} returned a promise; SQL functions must be synchronous`, { function: name });
      }
      const values = valuesFromOutput(out);
      if (values.length !== rows) {
        throw new QuiverError('schema_mismatch', `pipeline: SQL function ${name} returned ${values.length} values for ${rows} rows`, { function: name });
      }
      return values;
    }, { volatile: options.volatile });
    const args = params.map((_, i) => `a${i}`).join(', ');
    await this.main.run(`CREATE OR REPLACE MACRO ${this.catalog}.main.${quoteIdent(name)}(${args}) AS ${internal}(${args})`);
  }

  /**
   * Closes the connection and drops its tables. Relations of it can no longer run. The DuckDB
   * instance is the runtime's and stays open for its other handles.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.main.run('USE memory');
      await this.main.run(`DETACH ${this.catalog}`);
    } finally {
      this.main.close();
      await this.own?.close();
    }
  }
}

function valuesFromOutput(out: unknown): unknown[] {
  if (out instanceof arrow.Table) {
    const col = out.getChildAt(0);
    return col ? recordsFromTable(out).map((r) => r[out.schema.fields[0].name]) : [];
  }
  if (out instanceof arrow.Vector) return Array.from({ length: out.length }, (_, i) => out.get(i));
  if (Array.isArray(out) || ArrayBuffer.isView(out)) return Array.from(out as ArrayLike<unknown>);
  throw new QuiverError('schema_mismatch', 'pipeline: a SQL function must return an array, an Arrow vector or a one-column Arrow table');
}

/** Connections made so far: each names its catalog after its number. */
let connections = 0;

/**
 * Opens a pipeline connection: a fresh in-memory catalog in the runtime's DuckDB instance, the
 * one its dataset handles use, under the runtime's threads and memory bound.
 *
 * @param options.runtime the runtime to use. Default: the process's (see configureRuntime).
 * @param options.onProgress called with the run report at most every `progressIntervalMs` (default 200 ms).
 * @example
 * const con = await connect();
 * await con.sql('select 42 as answer').show();
 * await con.close();
 */
export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  const { onProgress, terminal, progressIntervalMs, progressDelayMs, runtime, ...rest } = options;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new QuiverError('invalid_input', `pipeline: unknown connect option ${unknown.map((k) => JSON.stringify(k)).join(', ')} (threads and memory bounds are the runtime's: createRuntime)`, { options: unknown });
  const engine = await (runtime ?? defaultRuntime()).engine();
  const main = await engine.session();
  const catalog = `quiver_con_${++connections}`;
  try {
    await main.run(`ATTACH ':memory:' AS ${catalog}`);
    await main.run(`USE ${catalog}`);
  } catch (e) {
    main.close();
    throw e;
  }
  return new Connection(engine, main, catalog, { onProgress, terminal, progressIntervalMs, progressDelayMs }, runtime);
}
