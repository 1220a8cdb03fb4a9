// `importFiles`: files on disk into a dataset, in batches of bounded size, committed every
// `commitRows` rows. Invariant: each commit's meta records the import's cursor (the last file
// and item it holds), published in the same ref move as its rows, so a rerun of the same import
// resumes after the last commit and no source item is ever committed twice.

import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { open, create, type Dataset } from '../dataset/index.js';
import { QuiverError, isQuiverError } from '../errors.js';
import { isImage, parseSchema, stableStringify, typeName, type ColumnDef, type SchemaInput } from '../format/index.js';
import type { StoreOptions } from '../storage/index.js';
import type { Engine } from '../query/index.js';
import { defaultRuntime } from '../runtime/index.js';
import { coerceValue } from './infer-schema.js';
import { openSource, type RecordShape, type Source, type SourceFile, type SourceItem, type SourceOptions } from './sources.js';

export type OnError = 'fail' | 'skip';

export interface ImportOptions extends SourceOptions {
  /** The new dataset's schema; default inferred from the source. An existing dataset keeps its own. */
  schema?: SchemaInput;
  /** The branch to import into. Default 'main'. */
  branch?: string;
  /** Each commit's message. Default `import <source name>`. */
  message?: string;
  /** 'fail' (default): the first bad file or record throws and the rows since the last commit are dropped; 'skip': it is reported and left out. */
  onError?: OnError;
  /** Rows per commit; an interrupted import resumes after the last one. Default 50,000. */
  commitRows?: number;
  /** Bytes of records (images) held before they are appended. Default 64 MiB. */
  batchBytesMax?: number;
  /** Images and WebDataset: the image column to fill. Default the dataset's only image column. */
  imageColumn?: string;
  /** Import again from the start even if an earlier run of this import finished or was interrupted. Default false. */
  restart?: boolean;
  storage?: StoreOptions;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  files: number;
  filesTotal: number;
  rows: number;
}

/** An item left out under `onError: 'skip'`: where it is (`photos/x.jpg`, `rows.jsonl:17`) and why. */
export interface BadItem {
  at: string;
  reason: string;
}

export interface ImportReport {
  url: string;
  branch: string;
  format: Source['format'];
  /** The dataset did not exist and was created with `schema`. */
  created: boolean;
  /** Rows this run committed, and all runs of this import together. */
  rows: number;
  rowsTotal: number;
  /** Source files in the import. */
  files: number;
  skipped: BadItem[];
  /** The commits this run made, oldest first. */
  commits: string[];
  /** Where this run picked up an interrupted one, or null when it started from the beginning. */
  resumedFrom: ImportCursor | null;
  /** An earlier run had finished this import; nothing was read. */
  alreadyDone: boolean;
}

/** Progress through a source: every file sorting before `file` is done, and `items` of `file`. */
export interface ImportCursor {
  file: string;
  items: number;
  fileDone: boolean;
}

/** What each import commit records under `meta.import`. */
interface ImportMeta {
  key: string;
  source: string;
  cursor: ImportCursor;
  rowsTotal: number;
  skippedTotal: number;
  done: boolean;
}

const DEFAULT_COMMIT_ROWS = 50_000;
const DEFAULT_BATCH_BYTES_MAX = 64 * 1024 * 1024;
/** Records appended per call at most: append validates a call as a whole. */
const APPEND_ROWS_MAX = 1024;

/**
 * Imports a Parquet, JSON lines or CSV file (or a folder of them), a folder of images with an
 * optional metadata file, or WebDataset tar shards into the dataset at `url` (created when
 * absent). Rerunning the same import (same source path, format and metadata) after an
 * interruption or a failure resumes after its last commit; a finished one is not repeated
 * unless `restart`.
 *
 * @example
 * const report = await importFiles('./gen', './photos', { metadata: './photos/metadata.jsonl', onError: 'skip' });
 * console.log(report.rows, report.skipped);
 */
export async function importFiles(url: string, source: string, options: ImportOptions = {}): Promise<ImportReport> {
  const policy = options.onError ?? 'fail';
  if (policy !== 'fail' && policy !== 'skip') throw new QuiverError('invalid_input', `import: --on-error is fail or skip, got ${JSON.stringify(policy)}`);
  const commitRows = options.commitRows ?? DEFAULT_COMMIT_ROWS;
  if (!Number.isInteger(commitRows) || commitRows < 1) throw new QuiverError('invalid_input', `import: commitRows must be a positive integer, got ${commitRows}`);
  // The default runtime's engine (the one the dataset handle uses), for reading Parquet and CSV sources.
  const engineOf = () => defaultRuntime().engine();
  let shape: RecordShape = { imageColumn: options.imageColumn ?? 'image', keepFileName: true };
  const src = await openSource(source, () => shape, options, engineOf);
  const { ds, created } = await openOrCreate(url, src, options);
  try {
    shape = recordShape(ds.schema, src, options);
    const run = new ImportRun(ds, src, options, policy, commitRows, importKey(source, src.format, options), basename(resolve(source)));
    return { url, branch: options.branch ?? 'main', format: src.format, created, files: src.files.length, ...(await run.run()) };
  } finally {
    await ds.close();
  }
}

/** Identifies an import across reruns: the same source, format and metadata on the same branch. */
function importKey(source: string, format: string, options: ImportOptions): string {
  const id = { source: resolve(source), format, metadata: options.metadata ? resolve(options.metadata) : null, joinOn: options.joinOn ?? 'file_name' };
  return createHash('sha256').update(JSON.stringify(id)).digest('hex').slice(0, 32);
}

async function openOrCreate(url: string, src: Source, options: ImportOptions): Promise<{ ds: Dataset; created: boolean }> {
  const branch = options.branch ?? 'main';
  try {
    const ds = await open(url, { branch, storage: options.storage });
    if (options.schema) await checkSchemaOption(ds, options.schema);
    return { ds, created: false };
  } catch (e) {
    if (!isQuiverError(e, 'not_found') || !/no dataset at/.test(e.message)) throw e;
  }
  if (branch !== 'main') throw new QuiverError('not_found', `import: no dataset at ${url} to import into branch "${branch}"`, { url });
  const schema = options.schema ?? (await src.inferSchema());
  if (Object.keys(schema).length === 0) throw new QuiverError('invalid_input', `import: cannot infer a schema from an empty source; pass --schema`);
  return { ds: await create(url, { schema, storage: options.storage }), created: true };
}

/** A `schema` given for an existing dataset must be its schema: it is never silently ignored. */
async function checkSchemaOption(ds: Dataset, schema: SchemaInput): Promise<void> {
  const want = new Map(parseSchema(schema).map((c) => [c.name, c]));
  const have = new Map(ds.schema.map((c) => [c.name, c]));
  const diff = [...want.keys(), ...have.keys()].find((n) => stableStringify(want.get(n) ?? null) !== stableStringify(have.get(n) ?? null));
  if (diff === undefined) return;
  await ds.close();
  const shown = (c: ColumnDef | undefined) => (c ? `${typeName(c.type)}${c.nullable ? '' : ' (required)'}` : 'absent');
  throw new QuiverError('schema_mismatch', `import: the dataset exists with another schema than the one given: column "${diff}" is ${shown(have.get(diff))} in the dataset, ${shown(want.get(diff))} in the schema given`, { column: diff });
}

function recordShape(schema: readonly ColumnDef[], src: Source, options: ImportOptions): RecordShape {
  const joinOn = options.joinOn ?? 'file_name';
  const keepFileName = schema.some((c) => c.name === joinOn);
  if (src.format !== 'images' && src.format !== 'webdataset') return { imageColumn: options.imageColumn ?? 'image', keepFileName };
  const images = schema.filter((c) => isImage(c.type)).map((c) => c.name);
  const imageColumn = options.imageColumn ?? (images.length === 1 ? images[0] : undefined);
  if (!imageColumn || !images.includes(imageColumn)) {
    const why = images.length === 0 ? 'has no image column' : `has image columns ${images.join(', ')}; pick one with --image-column`;
    throw new QuiverError('schema_mismatch', `import: the dataset ${why}${options.imageColumn ? `, got "${options.imageColumn}"` : ''}`, { column: options.imageColumn ?? null });
  }
  return { imageColumn, keepFileName };
}

/** The cursor of this import's newest commit on the branch (first parents), or null. */
async function lastImport(ds: Dataset, key: string): Promise<ImportMeta | null> {
  for await (const c of ds.log()) {
    const m = (c.meta as { import?: ImportMeta } | undefined)?.import;
    if (m?.key === key) return m;
  }
  return null;
}

/** One run of an import: the loop over files, its batch, and its counts. */
class ImportRun {
  readonly #byName: Map<string, ColumnDef>;
  #batch: { item: SourceItem; record: Record<string, unknown> }[] = [];
  #batchBytes = 0;
  #uncommitted = 0;
  #rows = 0;
  #rowsTotal = 0;
  #skippedTotal = 0;
  #skipped: BadItem[] = [];
  #commits: string[] = [];
  #cursor: ImportCursor = { file: '', items: 0, fileDone: false };
  /** The cursor a commit is due at (commitRows reached there), made when the next item arrives. */
  #due: ImportCursor | null = null;

  constructor(
    private readonly ds: Dataset,
    private readonly src: Source,
    private readonly options: ImportOptions,
    private readonly policy: OnError,
    private readonly commitRows: number,
    private readonly key: string,
    private readonly sourceName: string,
  ) {
    this.#byName = new Map(ds.schema.map((c) => [c.name, c]));
  }

  async run(): Promise<Omit<ImportReport, 'url' | 'branch' | 'format' | 'created' | 'files'>> {
    const prev = this.options.restart ? null : await lastImport(this.ds, this.key);
    const result = () => ({ rows: this.#rows, rowsTotal: this.#rowsTotal, skipped: this.#skipped, commits: this.#commits, resumedFrom: prev?.cursor ?? null, alreadyDone: prev?.done ?? false });
    if (prev?.done) return { ...result(), rowsTotal: prev.rowsTotal };
    this.#rowsTotal = prev?.rowsTotal ?? 0;
    this.#skippedTotal = prev?.skippedTotal ?? 0;
    try {
      let filesDone = 0;
      for (const file of this.src.files) {
        const skip = prev ? skipOf(prev.cursor, file.path) : 0;
        if (skip !== 'all') await this.#file(file, skip);
        this.options.onProgress?.({ files: ++filesDone, filesTotal: this.src.files.length, rows: this.#rows });
      }
      await this.#flush();
      // A commit cannot be empty: an import whose last items were all skipped stays not done.
      if (this.#uncommitted > 0) await this.#commit(true);
    } catch (e) {
      // All or nothing per commit: what was staged since the last commit is dropped.
      await this.ds.discard().catch(() => undefined);
      throw e;
    }
    return result();
  }

  async #file(file: SourceFile, skip: number): Promise<void> {
    this.#cursor = { file: file.path, items: skip, fileDone: false };
    const bad = this.#badColumns(file);
    if (bad) {
      await this.#bad({ at: file.path, error: bad.message }, bad);
      this.#cursor.fileDone = true;
      return;
    }
    let n = 0;
    for await (const item of file.items()) {
      if (++n <= skip) continue;
      // A commit is made when the next item arrives, so the last one always carries done.
      if (this.#due) await this.#commit(false);
      if (item.error !== undefined) await this.#bad(item, new QuiverError('invalid_input', `import: ${item.at}: ${item.error}`, { path: item.at }));
      else this.#add(item);
      if (this.#batch.length >= Math.min(APPEND_ROWS_MAX, this.commitRows - this.#uncommitted) || this.#batchBytes >= (this.options.batchBytesMax ?? DEFAULT_BATCH_BYTES_MAX)) await this.#flush();
      this.#cursor.items = n;
      if (this.#uncommitted >= this.commitRows) this.#due = { ...this.#cursor };
    }
    this.#cursor.fileDone = true;
  }

  /** A file whose columns the dataset lacks (known before reading: Parquet, CSV) is a schema mismatch naming both. */
  #badColumns(file: SourceFile): QuiverError | null {
    const missing = file.columns?.find((c) => c.name !== 'row_id' && !this.#byName.has(c.name));
    if (!missing) return null;
    return new QuiverError('schema_mismatch', `import: column "${missing.name}" of ${file.path} is not in the dataset's schema (${[...this.#byName.keys()].join(', ')})`, { column: missing.name, path: file.path });
  }

  #add(item: SourceItem): void {
    const record: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(item.record!)) {
      // Row ids are the dataset's to assign; an exported file's `row_id` is left behind.
      if (k === 'row_id') continue;
      const c = this.#byName.get(k);
      record[k] = c ? coerceValue(c, v, item.fromSql === true) : v;
      if (v instanceof Uint8Array) this.#batchBytes += v.length;
    }
    this.#batch.push({ item, record });
  }

  async #bad(item: SourceItem, e: QuiverError): Promise<void> {
    if (this.policy === 'fail') throw e;
    this.#skipped.push({ at: item.at, reason: item.error ?? e.message });
    this.#skippedTotal++;
  }

  /** Appends the batch; a record that does not fit the schema is failed or skipped by the policy, and the rest retried. */
  async #flush(): Promise<void> {
    while (this.#batch.length > 0) {
      try {
        await this.ds.append(this.#batch.map((b) => b.record));
      } catch (e) {
        const row = isQuiverError(e, 'schema_mismatch') ? e.details.row : undefined;
        if (!isQuiverError(e) || typeof row !== 'number' || !this.#batch[row]) throw e;
        const [{ item }] = this.#batch.splice(row, 1);
        const reason = e.message.replace(/^schema: row \d+, /, '');
        await this.#bad({ at: item.at }, new QuiverError('schema_mismatch', `import: ${item.at}: ${reason}`, { ...e.details, row: undefined, path: item.at }));
        this.#skipped[this.#skipped.length - 1].reason = reason;
        continue;
      }
      this.#uncommitted += this.#batch.length;
      this.#rows += this.#batch.length;
      this.#rowsTotal += this.#batch.length;
      this.#batch = [];
      this.#batchBytes = 0;
    }
  }

  async #commit(done: boolean): Promise<void> {
    const meta: ImportMeta = { key: this.key, source: this.src.files.length === 1 ? this.src.files[0].path : '', cursor: done ? { ...this.#cursor } : this.#due!, rowsTotal: this.#rowsTotal, skippedTotal: this.#skippedTotal, done };
    const message = this.options.message ?? `import ${this.sourceName}`;
    const c = await this.ds.commit(message, { meta: { import: meta } });
    this.#commits.push(c.id);
    this.#uncommitted = 0;
    this.#due = null;
  }
}

/** Items of `path` an earlier run committed: all, a count, or none. Files sort by code unit. */
function skipOf(cursor: ImportCursor, path: string): number | 'all' {
  if (path < cursor.file) return 'all';
  if (path > cursor.file) return 0;
  return cursor.fileDone ? 'all' : cursor.items;
}
