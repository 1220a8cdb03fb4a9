// A stream's options and their checks. `resolveOptions` (pure) turns what a user passes into a
// complete, validated value against the version's schema, so every bad input the issue lists
// (unknown column, rank outside the world, a decode that does not fit the column, a cursor from
// another version or seed) fails with a typed error before anything is read.

import { QuiverError } from '../errors.js';
import type { ColumnDef } from '../format/index.js';
import { cursorMismatch, type StreamCursor } from './cursor.js';

/** Fits that give exactly the asked shape (sharp's 'inside' and 'outside' do not). */
export type ImageFit = 'cover' | 'contain' | 'fill';

/** How an image column is decoded: to a fixed-shape tensor of `height × width × channels`. */
export interface ImageDecode {
  width: number;
  height: number;
  /** How the image is fitted into the shape (sharp's `fit`). Default 'cover'. */
  fit?: ImageFit;
  /** 'hwc' (height, width, channel; the default) or 'chw' (PyTorch's). */
  layout?: 'hwc' | 'chw';
  /** 'uint8' (the default) or 'float32' (values scaled to 0..1). */
  dtype?: 'uint8' | 'float32';
  /** 3 (RGB, the default) or 1 (grey). */
  channels?: 1 | 3;
}

export interface StreamOptions {
  /** The columns each batch carries (row_id always comes too). Default: every column. */
  columns?: readonly string[];
  /** A SQL predicate over the version's columns; evaluated before any media is read. */
  where?: string;
  /** Rows per batch. Default 256. */
  batchRows?: number;
  /** The bytes a batch may take; rows per batch shrink to fit. Default 64 MiB. */
  batchBytesMax?: number;
  /** Global shuffle by blocks; omitted: the version's physical order. */
  shuffle?: { seed: number; blockRows?: number; windowBlocks?: number };
  /** The epoch: with `shuffle`, each epoch has its own order. Default 0. */
  epoch?: number;
  /** This consumer's part: `rank` of `worldSize` ranks, `worker` of `workers` workers within the rank. */
  shard?: { rank: number; worldSize: number; worker?: number; workers?: number };
  /** How ranks get equal batch counts: 'pad' repeats rows from the epoch's start (the default), 'drop' drops the tail. */
  remainder?: 'pad' | 'drop';
  /** Image columns to decode to fixed-shape tensors; others come as encoded bytes. */
  decode?: Record<string, ImageDecode>;
  /** An image that does not decode: 'fail' (the default) names its row id; 'skip' drops the row and counts it. */
  onUndecodable?: 'fail' | 'skip';
  /** Batches read ahead of the consumer. Memory is bounded by batchBytesMax × (prefetchBatches + 1). Default 2. */
  prefetchBatches?: number;
  /** A cursor from `stream.state()`: continue that stream where it stopped. */
  resume?: StreamCursor;
}

export interface ResolvedDecode extends Required<ImageDecode> {}

export interface ResolvedOptions {
  columns: ColumnDef[];
  where: string | undefined;
  batchRows: number;
  batchBytesMax: number;
  shuffle: { seed: number; blockRows: number; windowBlocks: number } | null;
  epoch: number;
  rank: number;
  worldSize: number;
  worker: number;
  workers: number;
  remainder: 'pad' | 'drop';
  decode: Map<string, ResolvedDecode>;
  onUndecodable: 'fail' | 'skip';
  prefetchBatches: number;
  resume: StreamCursor | undefined;
}

export const BATCH_ROWS_DEFAULT = 256;
export const BATCH_BYTES_MAX_DEFAULT = 64 << 20;
export const BLOCK_ROWS_DEFAULT = 1024;
export const WINDOW_BLOCKS_DEFAULT = 8;
export const PREFETCH_BATCHES_DEFAULT = 2;
/** Decoded images larger than this on a side are refused (a typo, not a training shape). */
export const DECODE_SIDE_PX_MAX = 8192;
const PREFETCH_BATCHES_MAX = 64;

const bad = (message: string, details: Record<string, unknown> = {}) => new QuiverError('invalid_input', `stream: ${message}`, details);

function int(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`, { option: name });
  }
  return value;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw bad(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, { option: name });
  return value as T;
}

/** The stream's complete options for `schema` at `version`, or a typed error. */
export function resolveOptions(options: StreamOptions, schema: readonly ColumnDef[], version: string): ResolvedOptions {
  if (!options || typeof options !== 'object') throw bad('options must be an object');
  const columns = resolveColumns(options.columns, schema);
  if (options.where !== undefined && (typeof options.where !== 'string' || !options.where.trim())) throw bad('where must be a non-empty SQL predicate');
  const s = options.shard ?? { rank: 0, worldSize: 1 };
  const worldSize = int(s.worldSize, 'shard.worldSize', 1, 65_536);
  const rank = int(s.rank, 'shard.rank', 0, worldSize - 1);
  const workers = int(s.workers ?? 1, 'shard.workers', 1, 1024);
  const worker = int(s.worker ?? 0, 'shard.worker', 0, workers - 1);
  const shuffle = options.shuffle === undefined ? null : {
    seed: int(options.shuffle.seed, 'shuffle.seed', 0, 2 ** 32 - 1),
    blockRows: int(options.shuffle.blockRows ?? BLOCK_ROWS_DEFAULT, 'shuffle.blockRows', 1),
    windowBlocks: int(options.shuffle.windowBlocks ?? WINDOW_BLOCKS_DEFAULT, 'shuffle.windowBlocks', 1, 4096),
  };
  const resolved: ResolvedOptions = {
    columns,
    where: options.where?.trim(),
    batchRows: int(options.batchRows ?? BATCH_ROWS_DEFAULT, 'batchRows', 1, 1 << 24),
    batchBytesMax: int(options.batchBytesMax ?? BATCH_BYTES_MAX_DEFAULT, 'batchBytesMax', 1),
    shuffle,
    epoch: int(options.epoch ?? 0, 'epoch', 0),
    rank,
    worldSize,
    worker,
    workers,
    remainder: oneOf(options.remainder, 'remainder', ['pad', 'drop'], 'pad'),
    decode: resolveDecode(options.decode, columns),
    onUndecodable: oneOf(options.onUndecodable, 'onUndecodable', ['fail', 'skip'], 'fail'),
    prefetchBatches: int(options.prefetchBatches ?? PREFETCH_BATCHES_DEFAULT, 'prefetchBatches', 0, PREFETCH_BATCHES_MAX),
    resume: options.resume,
  };
  if (options.resume !== undefined) {
    const why = cursorMismatch(options.resume, version, resolved);
    if (why) throw bad(`the cursor is from another stream: ${why}`, { option: 'resume' });
  }
  return resolved;
}

function resolveColumns(names: readonly string[] | undefined, schema: readonly ColumnDef[]): ColumnDef[] {
  if (names === undefined) return [...schema];
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) throw bad('columns must be a non-empty list of column names');
  const out: ColumnDef[] = [];
  for (const n of names) {
    if (n === 'row_id') continue; // every batch carries row_id
    const def = schema.find((c) => c.name === n);
    if (!def) throw new QuiverError('not_found', `stream: no column ${JSON.stringify(n)}`, { column: n });
    if (!out.includes(def)) out.push(def);
  }
  return out;
}

function resolveDecode(decode: Record<string, ImageDecode> | undefined, columns: readonly ColumnDef[]): Map<string, ResolvedDecode> {
  const out = new Map<string, ResolvedDecode>();
  for (const [name, d] of Object.entries(decode ?? {})) {
    const def = columns.find((c) => c.name === name);
    if (!def) throw bad(`decode names column ${JSON.stringify(name)}, which the stream does not read`, { column: name });
    if (def.type.kind !== 'image') throw bad(`decode needs an image column; column "${name}" is ${def.type.kind}`, { column: name });
    if (!d || typeof d !== 'object') throw bad(`decode of "${name}" must be an object`, { column: name });
    out.set(name, {
      width: int(d.width, `decode.${name}.width`, 1, DECODE_SIDE_PX_MAX),
      height: int(d.height, `decode.${name}.height`, 1, DECODE_SIDE_PX_MAX),
      fit: oneOf(d.fit, `decode.${name}.fit`, ['cover', 'contain', 'fill'], 'cover'),
      layout: oneOf(d.layout, `decode.${name}.layout`, ['hwc', 'chw'], 'hwc'),
      dtype: oneOf(d.dtype, `decode.${name}.dtype`, ['uint8', 'float32'], 'uint8'),
      channels: channelsOf(d.channels, name),
    });
  }
  return out;
}

function channelsOf(value: unknown, column: string): 1 | 3 {
  if (value === undefined) return 3;
  if (value !== 1 && value !== 3) throw bad(`decode.${column}.channels must be 1 or 3, got ${JSON.stringify(value)}`, { column });
  return value;
}
