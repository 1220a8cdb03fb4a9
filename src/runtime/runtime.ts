// The process-wide runtime: one DuckDB instance, one cache of immutable objects and one cache of
// search collections, shared by every dataset handle and pipeline connection made with it, under
// one memory bound split by fixed shares (MEMORY_SHARES). Invariant: its options never change once
// anything has used it, so every handle on it runs under the bounds it was created with.

import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { QuiverError } from '../errors.js';
import { CollectionCache, Engine } from '../query/index.js';
import { ObjectCache } from '../storage/index.js';

export interface RuntimeOptions {
  /**
   * Bytes of memory for everything the runtime holds, split by MEMORY_SHARES: DuckDB's
   * memory_limit, the search cache (vectors, text statistics, scalar columns, loaded indexes of
   * every handle) and the object cache's blocks. At least 64 MiB. Default: half of RAM.
   */
  memoryBytesMax?: number;
  /** DuckDB worker threads. Default: one per core (`os.availableParallelism()`). */
  threads?: number;
  /**
   * The folder for local copies of remote objects and DuckDB's spill files; a fresh folder
   * inside it is made per runtime and removed when the process exits. Default: the OS temp dir.
   */
  cacheDir?: string;
  /** Bytes of local copies of remote objects on disk (not memory). Default 8 GiB. */
  diskBytesMax?: number;
}

/**
 * How `memoryBytesMax` is split. DuckDB gets half: a scan or a join spills beyond it (to
 * `cacheDir`) rather than fail. The search cache gets most of the rest, since vectors dominate a
 * search's memory (100k × 768 float32 are 307 MB); object blocks are small ranged reads of
 * remote files (16 KiB each) and need the least.
 */
export const MEMORY_SHARES = { engine: 1 / 2, search: 7 / 16, objects: 1 / 16 } as const;

export const MEMORY_BYTES_MIN = 64 * 1024 * 1024;
const OPTION_KEYS = ['memoryBytesMax', 'threads', 'cacheDir', 'diskBytesMax'] as const;

/** What a runtime's memory is bounded to, and what its caches hold now. */
export interface RuntimeMemory {
  bytesMax: number;
  /** DuckDB's memory_limit. */
  engineBytesMax: number;
  searchBytes: number;
  searchBytesMax: number;
  objectBytes: number;
  objectBytesMax: number;
}

let runtimesMade = 0;

/**
 * The engine, caches and bounds that handles share. Create one with `createRuntime` and pass it
 * as `{ runtime }` to `open`, `create` and `connect`, or let them use the process's default
 * (`configureRuntime` sets its options before first use).
 */
export class Runtime {
  readonly options: Readonly<Required<Omit<RuntimeOptions, 'cacheDir'>>> & { readonly cacheDir: string | undefined };
  #engine: Promise<Engine> | undefined;
  #objects: ObjectCache | undefined;
  #search: CollectionCache | undefined;
  #dir: string | undefined;
  /** Removes the folder at process exit, unless close() did first. */
  #removeAtExit: (() => void) | undefined;
  #closed = false;

  /** @internal Use `createRuntime`. */
  constructor(options: RuntimeOptions = {}) {
    checkOptions(options);
    this.options = {
      memoryBytesMax: options.memoryBytesMax ?? Math.floor(totalmem() / 2),
      threads: options.threads ?? availableParallelism(),
      diskBytesMax: options.diskBytesMax ?? 8 * 1024 ** 3,
      cacheDir: options.cacheDir,
    };
  }

  /** Whether a handle or connection has used it (its options can no longer change). */
  get used(): boolean {
    return !!(this.#engine || this.#objects || this.#search);
  }

  /** The DuckDB instance, started on first use with `threads` and the engine's share of memory. */
  engine(): Promise<Engine> {
    this.#check();
    this.#engine ??= Engine.create({ threads: this.options.threads, memoryLimit: `${this.#share('engine')}B`, tempDirectory: join(this.#folder(), 'spill') });
    return this.#engine;
  }

  /** The cache of immutable objects read from non-local stores. */
  get objectCache(): ObjectCache {
    this.#check();
    this.#objects ??= new ObjectCache({ memoryBytesMax: this.#share('objects'), diskBytesMax: this.options.diskBytesMax, dir: join(this.#folder(), 'objects') });
    return this.#objects;
  }

  /** The cache every handle's search executor keeps its collections in (each in its own key space). */
  get searchCache(): CollectionCache {
    this.#check();
    this.#search ??= new CollectionCache(this.#share('search'));
    return this.#search;
  }

  /** The bounds and what the caches hold now (DuckDB's own use is DuckDB's to report: `duckdb_memory()`). */
  memory(): RuntimeMemory {
    return {
      bytesMax: this.options.memoryBytesMax,
      engineBytesMax: this.#share('engine'),
      searchBytes: this.#search?.bytes ?? 0,
      searchBytesMax: this.#share('search'),
      objectBytes: this.#objects?.stats.memoryBytes ?? 0,
      objectBytesMax: this.#share('objects'),
    };
  }

  /** Closes the DuckDB instance; handles and connections on this runtime fail with `closed` after. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    (await this.#engine?.catch(() => undefined))?.close();
    if (this.#removeAtExit) {
      process.off('exit', this.#removeAtExit);
      this.#removeAtExit();
    }
  }

  #share(part: keyof typeof MEMORY_SHARES): number {
    return Math.floor(this.options.memoryBytesMax * MEMORY_SHARES[part]);
  }

  #check(): void {
    if (this.#closed) throw new QuiverError('closed', 'runtime: the runtime is closed');
  }

  /** This runtime's own folder under cacheDir (object copies, DuckDB spill files), removed at exit. */
  #folder(): string {
    if (!this.#dir) {
      const dir = join(this.options.cacheDir ?? tmpdir(), `quiver-${process.pid}-${++runtimesMade}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(dir, { recursive: true });
      this.#removeAtExit = () => rmSync(dir, { recursive: true, force: true });
      process.once('exit', this.#removeAtExit);
      this.#dir = dir;
    }
    return this.#dir;
  }
}

function checkOptions(options: RuntimeOptions): void {
  if (options === null || typeof options !== 'object') throw new QuiverError('invalid_input', `runtime: options must be an object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k as (typeof OPTION_KEYS)[number]));
  if (unknown.length) throw new QuiverError('invalid_input', `runtime: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}`, { options: unknown });
  const { memoryBytesMax, threads, diskBytesMax, cacheDir } = options;
  if (memoryBytesMax !== undefined && !(Number.isSafeInteger(memoryBytesMax) && memoryBytesMax >= MEMORY_BYTES_MIN)) {
    throw new QuiverError('invalid_input', `runtime: memoryBytesMax must be an integer of at least ${MEMORY_BYTES_MIN} bytes (64 MiB), got ${memoryBytesMax}`, { memoryBytesMax });
  }
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 1024)) {
    throw new QuiverError('invalid_input', `runtime: threads must be an integer from 1 to 1024, got ${threads}`, { threads });
  }
  if (diskBytesMax !== undefined && !(Number.isSafeInteger(diskBytesMax) && diskBytesMax >= 0)) {
    throw new QuiverError('invalid_input', `runtime: diskBytesMax must be a non-negative integer, got ${diskBytesMax}`, { diskBytesMax });
  }
  if (cacheDir !== undefined && (typeof cacheDir !== 'string' || !cacheDir)) {
    throw new QuiverError('invalid_input', `runtime: cacheDir must be a folder path, got ${JSON.stringify(cacheDir)}`, { cacheDir });
  }
}

/**
 * A runtime of its own: pass it as `{ runtime }` to `open`, `create` and `connect` to share its
 * engine and caches between them, apart from the process's default runtime. Options are checked
 * now (`invalid_input`); DuckDB starts on first use.
 *
 * @example
 * const runtime = createRuntime({ memoryBytesMax: 4 * 1024 ** 3, threads: 2 });
 * const ds = await open('./gen/main', { runtime });
 * const con = await connect({ runtime }); // the same DuckDB instance as ds
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}

let process_: Runtime | undefined;

/** The runtime handles use when none is passed (made with default options on first use, or by configureRuntime). */
export function defaultRuntime(): Runtime {
  process_ ??= new Runtime();
  return process_;
}

/**
 * Sets the options of the process's default runtime. Only before anything has used it: once a
 * handle or connection has, its engine runs with the old bounds and this throws `invalid_input`
 * (pass a `createRuntime(…)` to new handles instead).
 *
 * @example
 * configureRuntime({ memoryBytesMax: 8 * 1024 ** 3 }); // first thing in the process
 */
export function configureRuntime(options: RuntimeOptions): Runtime {
  if (process_?.used) {
    throw new QuiverError('invalid_input', 'runtime: the default runtime is in use (a dataset or connection was opened on it); call configureRuntime before the first open, create or connect, or pass createRuntime(options) to new handles', { options: Object.keys(options ?? {}) });
  }
  process_ = new Runtime(options);
  return process_;
}
