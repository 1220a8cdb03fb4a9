// A Relation is a lazy pipeline: a SQL (or dataset) source and zero or more UDF stages.
// Building one runs nothing; `plan()` turns it into a pure Plan value and the sinks (`show`,
// `toTable`, `toArrow`, `rows`, iteration, `writeParquet`, `writeDataset`) run that plan.
// Invariant: a sink that fails leaves no output behind (no table, no directory, no commit).

import * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import { quoteIdent, type ColumnInfo, type Session } from '../query/index.js';
import { currentConfig } from './config.js';
import { withoutSecrets, type DatasetLineage, type DatasetProvider, type DatasetRef, type DatasetSink, type DatasetVersion } from './dataset-seam.js';
import { planColumns, stagePlan, type Plan, type SourcePlan, type StageOptions } from './plan.js';
import { createProgress, type ProgressOptions } from './progress.js';
import { newReport, type RunReport } from './report.js';
import { runnerFor } from './runner/index.js';
import { backendFor } from './backend/index.js';
import { recordsFromTable, type ColumnSpec } from './schema.js';
import { arrowSchemaFromColumns } from './schema-sql.js';
import { countOf, writeParquetBatches, writeParquetSql, type ParquetOptions } from './sink/parquet-sink.js';
import { formatTable } from './sink/show.js';
import { inTransaction, writeTable, type TableMode } from './sink/table-sink.js';
import { noDatasets, sourceSql, streamSource } from './source.js';
import type { StageKind } from './udf-call.js';
import { isModuleRef, locateUdf, moduleUrl, udfName, type Udf, type UdfPlanRef } from './udf-ref.js';

/** What a Relation needs from its connection. */
export interface RelationHost {
  /** A new DuckDB session that sees the connection's tables and SQL functions; the caller closes it. */
  session(): Promise<Session>;
  readonly progress: ProgressOptions;
  checkOpen(): void;
  /** The dataset provider its relations read and write through (the configured one, on the connection's runtime). */
  datasets(): DatasetProvider | undefined;
}

interface PendingStage {
  kind: StageKind;
  udf: Udf;
  options: StageOptions;
}

/** Options of `toTable`. */
export interface ToTableOptions {
  /** 'create' fails if the table exists, 'replace' replaces it, 'append' adds rows to it. Default 'create'. */
  mode?: TableMode;
}

/** Options of `writeDataset`. */
export interface WriteDatasetOptions {
  /** Branch to commit to. Default: the dataset's main branch. */
  branch?: string;
  /** Commit message. */
  message?: string;
  /**
   * Update existing rows instead of appending: `{ on: 'row_id' }` gives each output row's
   * columns to the row with that id (a backfill; an id matching no row fails the commit),
   * `{ on: column }` upserts by a unique key column. One commit either way.
   */
  update?: { on: string };
}

/** A lazy, immutable pipeline over SQL and UDF stages. Create one with `con.sql()` or `con.dataset()`. */
export class Relation implements AsyncIterable<arrow.Table> {
  /** The report of the last run of this relation, if any. */
  lastReport: RunReport | undefined;

  /** @internal Use `con.sql()` or `con.dataset()`. */
  constructor(
    private readonly host: RelationHost,
    private readonly source: SourcePlan,
    private readonly stages: readonly PendingStage[] = [],
  ) {}

  private with(kind: StageKind, udf: Udf, options: StageOptions): Relation {
    if (typeof udf !== 'function' && !isModuleRef(udf)) {
      throw new QuiverError('invalid_input', 'pipeline: a UDF must be a function, a class or a { module, export } reference');
    }
    // Validate the options now, so mistakes surface where the stage is written.
    backendFor(options?.backend ?? 'inline');
    stagePlan(this.stages.length + 1, kind, isModuleRef(udf) ? { kind: 'module', module: '', export: '' } : { kind: 'inline', name: '' }, '', { ...options, backend: 'inline' });
    return new Relation(this.host, this.source, [...this.stages, { kind, udf, options }]);
  }

  /**
   * Adds a stage that calls `udf` with each batch (an Arrow table of up to `batchSize` rows) and
   * expects an Arrow table or an array of records with exactly `schema` back.
   *
   * Caveats: backends other than `inline` load the UDF from its module, so it must be a named
   * export of a module other than the entry script (or a `{ module, export }` reference).
   * A class is constructed once per actor (`subprocess_actor`, `inline`) or once per batch
   * (`thread_task`, `subprocess_task`) and called through its `call(batch)` method.
   *
   * @example
   * const withBytes = con.sql('select id, path from media').mapBatches(loadImageBytes, {
   *   schema: { id: 'BIGINT', path: 'VARCHAR', image_bytes: 'BLOB' }, batchSize: 32, backend: 'subprocess_task' });
   */
  mapBatches(udf: Udf, options: StageOptions): Relation {
    return this.with('map_batches', udf, options);
  }

  /**
   * Adds a row-wise stage: `udf(record)` returns one record with exactly `schema`.
   * Records hold bigint for BIGINT and Uint8Array for BLOB. Options as `mapBatches`.
   *
   * @example
   * rel.map((r) => ({ id: r.id, n: r.path.length }), { schema: { id: 'BIGINT', n: 'INTEGER' } });
   */
  map(udf: Udf, options: StageOptions): Relation {
    return this.with('map', udf, options);
  }

  /**
   * Adds a one-to-many stage: `udf(record)` returns an array of zero or more records.
   * Options as `mapBatches`.
   *
   * @example
   * rel.flatMap((r) => r.tags.split(',').map((tag) => ({ id: r.id, tag })), { schema: { id: 'BIGINT', tag: 'VARCHAR' } });
   */
  flatMap(udf: Udf, options: StageOptions): Relation {
    return this.with('flat_map', udf, options);
  }

  /**
   * Builds the plan this relation would run: source SQL, stages, UDF references and every option
   * with its default filled in. Runs nothing; functions passed directly to non-inline stages are
   * located here (see `mapBatches`).
   *
   * @example
   * const plan = await rel.plan(); // { runner: 'local', source: { kind: 'sql', sql }, stages: [...] }
   */
  async plan(): Promise<Plan> {
    const stages = [];
    for (const [i, s] of this.stages.entries()) {
      const backend = s.options.backend ?? 'inline';
      let ref: UdfPlanRef;
      if (isModuleRef(s.udf)) ref = { kind: 'module', module: moduleUrl(s.udf.module), export: s.udf.export };
      else if (backend === 'inline') ref = { kind: 'inline', name: udfName(s.udf) };
      else ref = { kind: 'module', ...(await locateUdf(s.udf)) };
      stages.push(stagePlan(i + 1, s.kind, ref, udfName(s.udf), s.options));
    }
    return { runner: currentConfig().runner, source: structuredClone(this.source), stages };
  }

  /** In-process UDF values for inline stages, by stage index. */
  private inlineUdfs(): Map<number, unknown> {
    return new Map(this.stages.flatMap((s, i) => (typeof s.udf === 'function' ? [[i + 1, s.udf] as const] : [])));
  }

  /** Runs the plan and yields its batches (less any the runner wrote into `sink` itself); fills `lastReport`. */
  private async *execute(plan: Plan, sink?: DatasetSink): AsyncGenerator<arrow.Table> {
    this.host.checkOpen();
    const report = newReport(plan.runner, plan.stages);
    const progress = createProgress({ terminal: currentConfig().progress, ...this.host.progress });
    this.lastReport = report;
    const session = await this.host.session();
    const datasets = this.host.datasets();
    // Resolved when first asked for: a runner whose workers read the dataset's fragments themselves never fetches them here.
    let sql: Promise<string> | undefined;
    const sqlText = () => (sql ??= sourceSql(plan.source, datasets));
    try {
      const ctx = {
        source: (rows: number) => streamSource(session, plan.source, datasets, sqlText, rows),
        sourceSql: sqlText,
        query: async (q: string) => (await session.all(q)).rows,
        datasets,
        inlineUdfs: this.inlineUdfs(),
        options: currentConfig().runnerOptions,
        report,
        progress: () => progress.update(report),
        ...(sink ? { sink } : {}),
      };
      for await (const b of runnerFor(plan.runner).run(plan, ctx)) {
        report.rowsOut += b.numRows;
        progress.update(report);
        yield b;
      }
      report.done = true;
    } finally {
      session.close();
      progress.finish(report);
    }
  }

  /** The output columns, without running any UDF (the last stage's schema, or DuckDB's answer for SQL). */
  async describe(): Promise<ColumnInfo[]> {
    const plan = await this.plan();
    const cols = planColumns(plan);
    if (cols) return cols.map((c) => ({ ...c }));
    return this.withSession((s) => sourceSql(plan.source, this.host.datasets()).then((sql) => s.describe(sql)));
  }

  private async withSession<T>(body: (s: Session) => Promise<T>): Promise<T> {
    this.host.checkOpen();
    const s = await this.host.session();
    try {
      return await body(s);
    } finally {
      s.close();
    }
  }

  /**
   * Iterates over the result, one Arrow table per batch, running the pipeline as it goes.
   * Breaking out of the loop stops the run and releases its workers.
   *
   * @example
   * for await (const batch of rel) console.log(batch.numRows);
   */
  async *[Symbol.asyncIterator](): AsyncIterator<arrow.Table> {
    yield* this.execute(await this.plan());
  }

  /**
   * Runs the pipeline and returns the whole result as one Arrow table.
   * Caveat: holds every row in memory; prefer iteration or a sink for large results.
   *
   * @example
   * const table = await rel.toArrow();
   */
  async toArrow(): Promise<arrow.Table> {
    const batches: arrow.RecordBatch[] = [];
    let schema: arrow.Schema | undefined;
    for await (const t of this) {
      schema ??= t.schema;
      batches.push(...t.batches);
    }
    schema ??= arrowSchemaFromColumns(await this.describe());
    return new arrow.Table(schema, batches);
  }

  /**
   * Runs the pipeline and returns every row as a plain record (bigint for BIGINT, Uint8Array for BLOB).
   * Caveat: holds every row in memory.
   *
   * @example
   * const rows = await con.sql('select 1 as x').rows(); // [{ x: 1 }]
   */
  async rows(): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const t of this) for (const r of recordsFromTable(t)) out.push(r);
    return out;
  }

  /**
   * Prints the first rows as a table on stdout (and returns the text). Stops the pipeline once
   * it has enough rows.
   *
   * @param options.rowsMax rows to print. Default 20.
   * @example
   * await con.sql('select label, count(*) as rows from classified_media group by label').show();
   */
  async show(options: { rowsMax?: number } = {}): Promise<string> {
    const rowsMax = options.rowsMax ?? 20;
    const rows: Record<string, unknown>[] = [];
    let more = false;
    for await (const t of this) {
      for (const r of recordsFromTable(t)) {
        if (rows.length === rowsMax) more = true;
        else rows.push(r);
      }
      if (more) break;
    }
    const text = formatTable(await this.describe(), rows, more);
    console.log(text);
    return text;
  }

  /**
   * Runs the pipeline into a DuckDB table, in one transaction: a failed run leaves no table
   * (or, with `append`, no new rows). Pure SQL relations are written by DuckDB directly.
   *
   * @example
   * await classified.toTable('classified_media');
   */
  async toTable(name: string, options: ToTableOptions = {}): Promise<RunReport> {
    const mode = options.mode ?? 'create';
    const plan = await this.plan();
    const cols = planColumns(plan);
    if (!cols) {
      const sql = await sourceSql(plan.source, this.host.datasets());
      const started = Date.now();
      const rows = await this.withSession((s) =>
        inTransaction(s, async () => countOf(await s.all(mode === 'append' ? `insert into ${quoteIdent(name)} ${sql}` : `create ${mode === 'replace' ? 'or replace ' : ''}table ${quoteIdent(name)} as ${sql}`))),
      );
      return this.sqlOnlyReport(plan, started, rows);
    }
    await this.withSession((s) => writeTable(s, name, cols, this.execute(plan), mode));
    return this.lastReport!;
  }

  /** The report of a run DuckDB did alone (no stages): only the sink's row count is known. */
  private sqlOnlyReport(plan: Plan, startedAt: number, rowsOut: number): RunReport {
    const r = newReport(plan.runner, []);
    r.startedAt = startedAt;
    r.rowsOut = rowsOut;
    r.done = true;
    r.elapsedMs = Date.now() - r.startedAt;
    this.lastReport = r;
    return r;
  }

  /**
   * Runs the pipeline into Parquet: a directory of `part-NNNNN.parquet` files, or one file when
   * `path` ends in `.parquet`. Written to a temp directory and renamed into place, so a failed
   * run leaves nothing at `path`.
   *
   * @param options.overwrite replace what is at `path`. Default false.
   * @param options.fileRowsMax rows per part file. Default 1,000,000.
   * @param options.fileBytesMax bytes per part file (Arrow, in memory). Default 256 MiB.
   * @example
   * await con.sql('select id, label from classified_media').writeParquet('output/classified_media/');
   */
  async writeParquet(path: string, options: ParquetOptions = {}): Promise<RunReport> {
    const plan = await this.plan();
    const cols = planColumns(plan);
    if (!cols) {
      const sql = await sourceSql(plan.source, this.host.datasets());
      const started = Date.now();
      const rows = await this.withSession((s) => writeParquetSql(s, path, sql, options));
      return this.sqlOnlyReport(plan, started, rows);
    }
    await this.withSession((s) => writeParquetBatches(s, path, cols, this.execute(plan), options));
    return this.lastReport!;
  }

  /**
   * Appends the result to a Quiver dataset and commits, recording the source SQL and UDF
   * stages in the commit. Atomic: a failed run commits nothing.
   *
   * Goes through the default dataset provider (Quiver datasets), which creates the dataset from
   * the output columns when none exists at `url`; `configure({ datasets })` substitutes another.
   * @example
   * await classified.writeDataset('file:///data/media', { branch: 'main', message: 'classify' });
   */
  async writeDataset(url: string, options: WriteDatasetOptions = {}): Promise<{ version: DatasetVersion; report: RunReport }> {
    const provider = this.host.datasets();
    if (!provider) throw noDatasets({ url });
    const plan = await this.plan();
    const columns: ColumnSpec[] = planColumns(plan) ?? (await this.describe());
    const sink = await provider.openSink(url, { ...options, columns, lineage: lineageOf(plan) });
    try {
      for await (const b of this.execute(plan, sink)) await sink.append(b);
      const { version } = await sink.commit();
      return { version, report: this.lastReport! };
    } catch (e) {
      await sink.abort().catch(() => undefined);
      throw e;
    }
  }
}

/** The source as lineage records it: dataset references keep where the store is, never how to sign in. */
function withoutCredentials(source: SourcePlan): SourcePlan {
  const clean = (r: DatasetRef): DatasetRef => (r.storage ? { ...r, storage: withoutSecrets(r.storage) } : r);
  if (source.kind === 'dataset') return { ...source, dataset: clean(source.dataset) };
  return { ...source, datasets: Object.fromEntries(Object.entries(source.datasets).map(([n, r]) => [n, clean(r)])) };
}

/** What a dataset commit records about the pipeline that produced it. */
export function lineageOf(plan: Plan): DatasetLineage {
  return {
    runner: plan.runner,
    source: withoutCredentials(plan.source),
    stages: plan.stages.map((s) => ({
      index: s.index, name: s.name, kind: s.kind, backend: s.backend, columns: s.columns,
      udf: s.udf.kind === 'module' ? `${s.udf.module}#${s.udf.export}` : `inline:${s.udf.name}`,
    })),
  };
}
