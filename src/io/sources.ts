// What an import reads: a source is a sorted list of files, each yielding items (a record, or
// the reason one could not be read) in a fixed order. Invariant: the same source on disk gives
// the same files and items in the same order every time, so an import's progress is a cursor
// (a file and the items of it consumed) that a rerun skips to.

import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import tar from 'tar-stream';
import { QuiverError } from '../errors.js';
import { type SchemaInput } from '../format/index.js';
import { Engine, quoteString, type ColumnInfo } from '../query/index.js';
import { INFER_RECORDS_MAX, schemaFromRecords, schemaFromSql } from './infer-schema.js';

export type SourceFormat = 'parquet' | 'jsonl' | 'csv' | 'images' | 'webdataset';

/** One thing read from a file: a record, or why that part of the file is unusable. */
export interface SourceItem {
  /** Where it came from, for reports: `photos/cat.jpg`, `rows.jsonl:17`, `shard-0.tar:000042`. */
  at: string;
  record?: Record<string, unknown>;
  error?: string;
  /** The record came from DuckDB (JSON columns are strings to parse). */
  fromSql?: boolean;
}

export interface SourceFile {
  /** The file's path relative to the source root (the source's own name when it is one file). */
  path: string;
  /** The file's columns when known before reading (Parquet, CSV), for the schema check. */
  columns?: ColumnInfo[];
  items(): AsyncIterable<SourceItem>;
}

export interface Source {
  format: SourceFormat;
  files: SourceFile[];
  /** A schema for a new dataset, inferred from the head of the source. */
  inferSchema(): Promise<SchemaInput>;
}

export interface SourceOptions {
  format?: SourceFormat;
  /** Images: a JSONL, CSV or Parquet file of per-image fields, joined by `joinOn`. */
  metadata?: string;
  /** Images: the metadata field naming each image's path relative to the folder. Default 'file_name'. */
  joinOn?: string;
  /** Rows DuckDB hands over at a time (Parquet, CSV). Default 1,024. */
  batchRows?: number;
}

/** Where each image (or a WebDataset image field) goes, and whether the file name is kept. */
export interface RecordShape {
  imageColumn: string;
  /** Store each image's relative path under `joinOn` (the dataset has that column). */
  keepFileName: boolean;
}

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif']);
const FORMAT_OF_EXT: Record<string, SourceFormat> = { '.parquet': 'parquet', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl', '.csv': 'csv', '.tar': 'webdataset' };

/** The format of `path` by its name or contents: a folder of tar files is WebDataset, any other folder images. */
export async function detectFormat(path: string): Promise<SourceFormat> {
  const st = await statOrThrow(path);
  if (st.isDirectory()) return (await listFiles(path)).some((f) => f.endsWith('.tar')) ? 'webdataset' : 'images';
  const format = FORMAT_OF_EXT[extname(path).toLowerCase()];
  if (!format) throw new QuiverError('invalid_input', `import: cannot tell the format of ${path}; pass --format parquet|jsonl|csv|images|webdataset`, { path });
  return format;
}

async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch {
    throw new QuiverError('not_found', `import: no such file or folder ${path}`, { path });
  }
}

/** Every file under `dir`, as paths relative to it, sorted by code unit so the order never changes. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Opens `path` as a source: what files it has and how each reads. */
export async function openSource(path: string, shape: () => RecordShape, options: SourceOptions, engine: () => Promise<Engine>): Promise<Source> {
  const root = resolve(path);
  const format = options.format ?? (await detectFormat(root));
  const st = await statOrThrow(root);
  const one = !st.isDirectory();
  const paths = one ? [basename(root)] : await listFiles(root);
  const full = (p: string) => (one ? root : join(root, p));
  const batchRows = options.batchRows ?? 1024;
  switch (format) {
    case 'jsonl':
      return tabular(format, paths.filter((p) => one || /\.(jsonl|ndjson|json)$/i.test(p)), (p) => jsonLines(full(p), p));
    case 'parquet':
    case 'csv': {
      const ext = format === 'parquet' ? /\.parquet$/i : /\.csv$/i;
      const files = await Promise.all(paths.filter((p) => one || ext.test(p)).map((p) => sqlFile(format, full(p), p, engine, batchRows)));
      return { format, files, inferSchema: async () => (files[0] ? schemaFromSql(files[0].columns!, files[0].path) : {}) };
    }
    case 'images':
      if (one) throw new QuiverError('invalid_input', `import: an image import reads a folder, got the file ${path}`, { path });
      return imageFolder(root, paths, shape, options, engine);
    case 'webdataset':
      return tabular(format, paths.filter((p) => one || p.endsWith('.tar')), (p) => tarSamples(full(p), p, shape));
  }
}

/** A source whose schema comes from its first records. */
function tabular(format: SourceFormat, paths: string[], items: (p: string) => AsyncIterable<SourceItem>): Source {
  const files = paths.map((p) => ({ path: p, items: () => items(p) }));
  return { format, files, inferSchema: () => inferFromItems(files) };
}

async function inferFromItems(files: readonly SourceFile[]): Promise<SchemaInput> {
  const sample: Record<string, unknown>[] = [];
  for (const f of files) {
    for await (const item of f.items()) {
      if (item.record) sample.push(item.record);
      if (sample.length >= INFER_RECORDS_MAX) return schemaFromRecords(sample);
    }
  }
  return schemaFromRecords(sample);
}

async function* jsonLines(file: string, path: string): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    const at = `${path}:${n}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      yield { at, error: `not JSON: ${(e as Error).message}` };
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) yield { at, error: 'not a JSON object' };
    else yield { at, record: v as Record<string, unknown> };
  }
}

const readerOf = (format: 'parquet' | 'csv', file: string) => (format === 'parquet' ? `read_parquet(${quoteString(file)})` : `read_csv(${quoteString(file)})`);

async function sqlFile(format: 'parquet' | 'csv', file: string, path: string, engine: () => Promise<Engine>, batchRows: number): Promise<SourceFile> {
  const sql = `select * from ${readerOf(format, file)}`;
  const session = await (await engine()).session();
  let columns: ColumnInfo[];
  try {
    columns = await session.describe(sql);
  } catch (e) {
    throw new QuiverError('invalid_input', `import: cannot read ${path} as ${format}: ${(e as Error).message}`, { path }, { cause: e });
  } finally {
    session.close();
  }
  return {
    path,
    columns,
    async *items() {
      const s = await (await engine()).session();
      try {
        let n = 0;
        for await (const rows of s.streamRows(sql, [], batchRows)) for (const record of rows) yield { at: `${path}:${++n}`, record, fromSql: true };
      } finally {
        s.close();
      }
    },
  };
}

/** The metadata file's records by the join field; one record per image, so memory grows with the metadata. */
async function metadataByName(file: string, joinOn: string, engine: () => Promise<Engine>): Promise<{ byName: Map<string, Record<string, unknown>>; sample: Record<string, unknown>[]; schema?: SchemaInput; fromSql: boolean }> {
  const format = await detectFormat(file);
  if (format !== 'jsonl' && format !== 'csv' && format !== 'parquet') throw new QuiverError('invalid_input', `import: a metadata file is JSON lines, CSV or Parquet, got ${file}`, { path: file });
  const src = format === 'jsonl' ? null : await sqlFile(format, file, basename(file), engine, 4096);
  const items = src ? src.items() : jsonLines(file, basename(file));
  const byName = new Map<string, Record<string, unknown>>();
  const sample: Record<string, unknown>[] = [];
  for await (const item of items) {
    if (!item.record) throw new QuiverError('invalid_input', `import: metadata ${item.at}: ${item.error}`, { path: item.at });
    const name = item.record[joinOn];
    if (typeof name !== 'string') throw new QuiverError('invalid_input', `import: metadata ${item.at} has no string field "${joinOn}" naming its image`, { path: item.at });
    byName.set(name, item.record);
    if (sample.length < INFER_RECORDS_MAX) sample.push(item.record);
  }
  return { byName, sample, fromSql: src !== null, ...(src ? { schema: schemaFromSql(src.columns!, src.path) } : {}) };
}

async function imageFolder(root: string, paths: string[], shape: () => RecordShape, options: SourceOptions, engine: () => Promise<Engine>): Promise<Source> {
  const joinOn = options.joinOn ?? 'file_name';
  const meta = options.metadata ? await metadataByName(resolve(options.metadata), joinOn, engine) : null;
  const images = paths.filter((p) => IMAGE_EXTENSIONS.has(extname(p).toLowerCase()));
  const files: SourceFile[] = images.map((p) => ({
    path: p,
    async *items() {
      const { imageColumn, keepFileName } = shape();
      const extra = { ...(meta?.byName.get(p) ?? {}) };
      if (!keepFileName) delete extra[joinOn];
      else extra[joinOn] = p;
      let bytes: Uint8Array;
      try {
        bytes = await readFile(join(root, p));
      } catch (e) {
        yield { at: p, error: `cannot read: ${(e as Error).message}` };
        return;
      }
      yield { at: p, record: { ...extra, [imageColumn]: bytes }, ...(meta?.fromSql ? { fromSql: true } : {}) };
    },
  }));
  const inferSchema = async (): Promise<SchemaInput> => ({ image: 'image', [joinOn]: 'text', ...(meta ? (meta.schema ?? schemaFromRecords(meta.sample)) : {}) });
  return { format: 'images', files, inferSchema };
}

/** The column a WebDataset field goes to and how its bytes read: `jpg` → the image column, `txt` → text, `json` → its fields. */
function tarField(ext: string, bytes: Uint8Array, shape: RecordShape): Record<string, unknown> {
  const parts = ext.split('.');
  const last = parts[parts.length - 1].toLowerCase();
  const name = parts.length > 1 ? parts.slice(0, -1).join('_') : null;
  if (IMAGE_EXTENSIONS.has(`.${last}`)) return { [name ?? shape.imageColumn]: bytes };
  const text = () => Buffer.from(bytes).toString('utf8');
  if (last === 'json') {
    const v = JSON.parse(text()) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${ext} is not a JSON object`);
    return name ? { [name]: v } : (v as Record<string, unknown>);
  }
  if (last === 'txt') return { [name ?? 'txt']: text() };
  if (last === 'cls') return { [name ?? 'cls']: Number(text().trim()) };
  return { [name ?? last]: bytes };
}

/** A tar's samples: consecutive entries sharing a key (the name up to its first dot) make one record. */
async function* tarSamples(file: string, path: string, shape: () => RecordShape): AsyncGenerator<SourceItem> {
  const extract = tar.extract();
  createReadStream(file).on('error', (e) => extract.destroy(e)).pipe(extract);
  let key: string | null = null;
  let record: Record<string, unknown> = {};
  let error: string | null = null;
  const done = (): SourceItem => ({ at: `${path}:${key}`, ...(error ? { error } : { record }) });
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type !== 'file') continue;
    const name = entry.header.name.split('/').pop()!;
    const dot = name.indexOf('.');
    const k = dot < 0 ? name : name.slice(0, dot);
    if (key !== null && k !== key) {
      yield done();
      record = {};
      error = null;
    }
    key = k;
    if (dot < 0 || error) continue;
    try {
      Object.assign(record, tarField(name.slice(dot + 1), Buffer.concat(chunks), shape()));
    } catch (e) {
      error = `${name}: ${(e as Error).message}`;
    }
  }
  if (key !== null) yield done();
}
