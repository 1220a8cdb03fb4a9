// Writes a pipeline's output as Parquet, atomically: files go to a hidden temp directory next
// to the target and are renamed into place only after the last one is complete, so a failed
// run leaves nothing at the target. Batches are staged in DuckDB and cut into part files of at
// most `fileRowsMax` rows or about `fileBytesMax` bytes, so memory stays bounded.

import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import { QuiverError } from '../../errors.js';
import { quoteIdent, quoteString, type Session } from '../../query/index.js';
import type { ColumnSpec } from '../schema.js';
import { createTableSql } from './table-sink.js';

export interface ParquetOptions {
  /** Replace an existing file or directory at the target. Default false (fails with `already_exists`). */
  overwrite?: boolean;
  /** Rows per part file. Default 1,000,000. */
  fileRowsMax?: number;
  /** Bytes (Arrow, in memory) per part file. Default 256 MiB. */
  fileBytesMax?: number;
}

/** A target ending in `.parquet` is one file; anything else is a directory of part files. */
function isSingleFile(target: string): boolean {
  return /\.parquet$/i.test(target);
}

async function checkTarget(target: string, overwrite: boolean): Promise<void> {
  if (!existsSync(target)) return;
  const empty = !isSingleFile(target) && (await readdir(target).catch(() => ['x'])).length === 0;
  if (!overwrite && !empty) {
    throw new QuiverError('already_exists', `pipeline: output ${target} already exists; pass { overwrite: true } to replace it`, { path: target });
  }
}

/** Moves `tmp` to `target`, replacing what is there: the old target is moved aside first and removed after. */
async function commitRename(tmp: string, target: string): Promise<void> {
  let aside: string | undefined;
  if (existsSync(target)) {
    aside = `${tmp}.old`;
    await rename(target, aside);
  }
  await rename(tmp, target);
  if (aside) await rm(aside, { recursive: true, force: true });
}

function copySql(from: string, file: string): string {
  return `copy ${from} to ${quoteString(file)} (format parquet)`;
}

/** Writes batches (from a pipeline with stages) as Parquet at `target`. */
export async function writeParquetBatches(session: Session, target: string, columns: readonly ColumnSpec[], batches: AsyncIterable<arrow.Table>, o: ParquetOptions = {}): Promise<string[]> {
  const single = isSingleFile(target);
  const rowsMax = single ? Infinity : (o.fileRowsMax ?? 1_000_000);
  const bytesMax = single ? Infinity : (o.fileBytesMax ?? 256 * 2 ** 20);
  return atomically(target, o.overwrite ?? false, async (tmp) => {
    const stage = `__quiver_parquet_${randomBytes(6).toString('hex')}`;
    await session.run(createTableSql(stage, columns, 'create').replace(/^create table/, 'create temp table'));
    const files: string[] = [];
    let rows = 0;
    let bytes = 0;
    const flush = async (force: boolean) => {
      if (rows === 0 && !(force && files.length === 0)) return;
      const file = single ? join(tmp, basename(target)) : join(tmp, `part-${String(files.length).padStart(5, '0')}.parquet`);
      await session.run(copySql(quoteIdent(stage), file));
      await session.run(`delete from ${quoteIdent(stage)}`);
      files.push(file);
      rows = 0;
      bytes = 0;
    };
    try {
      for await (const b of batches) {
        if (b.numRows === 0) continue;
        await session.insertArrow(stage, b);
        rows += b.numRows;
        bytes += b.batches.reduce((n, rb) => n + rb.data.byteLength, 0);
        if (rows >= rowsMax || bytes >= bytesMax) await flush(false);
      }
      await flush(true);
    } finally {
      await session.run(`drop table if exists ${quoteIdent(stage)}`).catch(() => undefined);
    }
    return files;
  });
}

/** Writes a pure SQL relation as Parquet at `target`, letting DuckDB do all of it; returns the rows written. */
export async function writeParquetSql(session: Session, target: string, sql: string, o: ParquetOptions = {}): Promise<number> {
  let rows = 0;
  await atomically(target, o.overwrite ?? false, async (tmp) => {
    const file = isSingleFile(target) ? join(tmp, basename(target)) : join(tmp, 'part-00000.parquet');
    rows = countOf(await session.all(copySql(`(${sql})`, file)));
    return [file];
  });
  return rows;
}

/** The row count DuckDB reports for COPY, CREATE TABLE AS and INSERT. */
export function countOf(result: { rows: Record<string, unknown>[] }): number {
  return Number(result.rows[0]?.Count ?? 0);
}

async function atomically(target: string, overwrite: boolean, write: (tmp: string) => Promise<string[]>): Promise<string[]> {
  const abs = resolve(target);
  await checkTarget(abs, overwrite);
  const tmp = join(dirname(abs), `.${basename(abs)}.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const files = await write(tmp);
    if (isSingleFile(abs)) {
      await commitRename(files[0], abs);
      await rm(tmp, { recursive: true, force: true });
      return [abs];
    }
    await commitRename(tmp, abs);
    return files.map((f) => join(abs, basename(f)));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
