// The public dataset API: create / open a versioned multimodal dataset, append records, commit,
// and query it with SQL at any version. A handle is bound to a branch (writable) or to a fixed
// version (read-only). Writes are staged, then published by one conditional move of the
// branch ref, so a crash at any instant leaves the branch at its last commit.

import type * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import {
  columnize,
  createRef,
  emptyManifest,
  layout,
  liveRows,
  moveRef,
  parseSchema,
  readCommit,
  readManifest,
  readMetadata,
  readRef,
  RowIdAllocator,
  writeCommit,
  writeManifest,
  writeMetadata,
  FORMAT_VERSION,
  type ColumnDef,
  type Commit,
  type CommitStats,
  type Manifest,
  type RecordInput,
  type SchemaInput,
} from '../format/index.js';
import { FileCache, planScan, referencedColumns, viewSql, type Param, type Session } from '../query/index.js';
import { openStore, type ObjectStore, type StoreOptions } from '../storage/index.js';
import { Mutex } from './mutex.js';
import { sharedEngine } from './shared-engine.js';
import { Staging } from './staging.js';

export interface CreateOptions {
  /** Column name to type: short strings ('text', 'image', 'emb-1536', 'list<text>', 'int?') or `t.*()` builders. */
  schema: SchemaInput;
  /** Options for the object store behind the URL. */
  storage?: StoreOptions;
  /** Tuning for writes; see WriteOptions. */
  write?: WriteOptions;
}

export interface OpenOptions {
  /** Open this version (a commit id) read-only. */
  version?: string;
  /** Open this branch for reading and writing. Default 'main'. */
  branch?: string;
  /** Open the version a tag names, read-only. */
  tag?: string;
  /** Open the branch's last version committed at or before this time, read-only. */
  asOf?: Date;
  storage?: StoreOptions;
  write?: WriteOptions;
}

export interface WriteOptions {
  /** Staged bytes that trigger writing a fragment before commit. Default 256 MiB. */
  stagedBytesMax?: number;
  /** Rows per fragment written by appends. Default 131,072. */
  fragmentRowsMax?: number;
  /** Times a commit re-reads the branch and retries after losing a race. Default 64. */
  commitRetriesMax?: number;
}

export interface AppendResult {
  rows: number;
  /** The row ids given to the appended records, in order. */
  rowIds: bigint[];
}

export interface CommitOptions {
  /** Provenance stored with the commit (e.g. the pipeline that produced the rows). */
  meta?: Record<string, unknown>;
}

const DEFAULT_BRANCH = 'main';

/** A change to apply to the branch head at commit time; re-applied as is if another writer wins the race. */
export type PendingOp = (m: Manifest) => { manifest: Manifest; stats: Partial<CommitStats> };

/**
 * A handle on a Quiver dataset at a branch (writable) or a fixed version (read-only).
 *
 * @example
 * const ds = await create('./gen/main', { schema: { prompt: 'text', rating: 'int' } });
 * await ds.append({ prompt: 'a red car', rating: 5 });
 * await ds.commit('first');
 * const rows = await ds.query('select prompt from dataset where rating >= $1', [4]);
 */
export class Dataset {
  private readonly mutex = new Mutex();
  private readonly staging: Staging;
  private readonly cache: FileCache;
  private readonly rowIds: RowIdAllocator;
  private session: Session | undefined;
  private closed = false;
  /** Operations beyond plain appends (updates, deletes…) waiting for commit. */
  protected readonly pendingOps: PendingOp[] = [];

  protected constructor(
    readonly store: ObjectStore,
    /** The branch this handle writes to, or null for a read-only handle. */
    readonly branch: string | null,
    protected head: Commit,
    protected manifest: Manifest,
    protected readonly writeOptions: Required<WriteOptions>,
  ) {
    this.staging = new Staging(store, writeOptions.stagedBytesMax, writeOptions.fragmentRowsMax);
    this.cache = new FileCache(store);
    this.rowIds = new RowIdAllocator(store);
  }

  /** The dataset's location. */
  get url(): string {
    return this.store.url;
  }

  /** True when the handle is bound to a fixed version and refuses writes. */
  get readOnly(): boolean {
    return this.branch === null;
  }

  /** The version (commit) this handle reads. */
  get version(): Commit {
    return this.head;
  }

  /** The columns of the dataset at this version. */
  get schema(): ColumnDef[] {
    return this.manifest.schema;
  }

  /** Live rows at this version. */
  get rowCount(): number {
    return liveRows(this.manifest);
  }

  /** Rows appended and not yet committed. */
  get stagedRows(): number {
    return this.staging.rows;
  }

  static async create(url: string | ObjectStore, options: CreateOptions): Promise<Dataset> {
    if (!options || typeof options !== 'object' || !options.schema) throw new QuiverError('invalid_input', 'dataset: create needs { schema }');
    const schema = parseSchema(options.schema);
    const store = openStore(url, options.storage);
    try {
      await writeMetadata(store, 'marker', layout.marker, { format: FORMAT_VERSION, defaultBranch: DEFAULT_BRANCH, created: new Date().toISOString() }, { ifAbsent: true });
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'conflict') throw new QuiverError('already_exists', `dataset: a dataset already exists at ${store.url}`, { url: store.url });
      throw e;
    }
    const manifest = emptyManifest(schema);
    const mid = await writeManifest(store, manifest);
    const root = await writeCommit(store, {
      manifest: mid,
      parents: [],
      message: 'create dataset',
      time: new Date().toISOString(),
      operation: 'create',
      stats: { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, rows: 0, bytesWritten: 0 },
    });
    await createRef(store, 'branch', DEFAULT_BRANCH, root.id);
    return new Dataset(store, DEFAULT_BRANCH, root, manifest, resolveWriteOptions(options.write));
  }

  static async open(url: string | ObjectStore, options: OpenOptions = {}): Promise<Dataset> {
    const store = openStore(url, options.storage);
    try {
      await readMetadata(store, 'marker', layout.marker);
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'not_found') throw new QuiverError('not_found', `dataset: no dataset at ${store.url}`, { url: store.url });
      throw e;
    }
    const picked = [options.version, options.tag, options.asOf].filter((x) => x !== undefined).length;
    if (picked > 1) throw new QuiverError('invalid_input', 'dataset: give at most one of version, tag and asOf');
    const w = resolveWriteOptions(options.write);
    if (options.version !== undefined) {
      const c = await readCommit(store, options.version);
      return new Dataset(store, null, c, await readManifest(store, c.manifest), w);
    }
    if (options.tag !== undefined) {
      const ref = await readRef(store, 'tag', options.tag);
      if (!ref) throw new QuiverError('not_found', `dataset: no tag "${options.tag}"`, { tag: options.tag });
      const c = await readCommit(store, ref.commit);
      return new Dataset(store, null, c, await readManifest(store, c.manifest), w);
    }
    const branch = options.branch ?? DEFAULT_BRANCH;
    const ref = await readRef(store, 'branch', branch);
    if (!ref) throw new QuiverError('not_found', `dataset: no branch "${branch}"`, { branch });
    let c = await readCommit(store, ref.commit);
    if (options.asOf !== undefined) {
      const limit = options.asOf.getTime();
      while (Date.parse(c.time) > limit) {
        if (c.parents.length === 0) throw new QuiverError('not_found', `dataset: branch "${branch}" has no version at or before ${options.asOf.toISOString()}`);
        c = await readCommit(store, c.parents[0]);
      }
      return new Dataset(store, null, c, await readManifest(store, c.manifest), w);
    }
    return new Dataset(store, branch, c, await readManifest(store, c.manifest), w);
  }

  protected check(write: boolean): void {
    if (this.closed) throw new QuiverError('closed', 'dataset: the handle is closed');
    if (write && this.branch === null) {
      throw new QuiverError('read_only', `dataset: version ${this.head.id} was opened read-only; open a branch to write`, { version: this.head.id });
    }
  }

  /**
   * Stages one record or many for the next commit. Validates every record first: a record that
   * does not fit the schema throws (naming row and column) and nothing of the call is staged.
   */
  async append(records: RecordInput | readonly RecordInput[]): Promise<AppendResult> {
    this.check(true);
    const list = Array.isArray(records) ? (records as readonly RecordInput[]) : [records as RecordInput];
    if (list.length === 0) return { rows: 0, rowIds: [] };
    return this.mutex.run(async () => {
      // Validate with placeholder ids first, so bad input costs no lease.
      const placeholder = new BigInt64Array(list.length);
      const batch = columnize(this.manifest.schema, list, placeholder);
      const ids = await this.rowIds.take(list.length);
      const idValues = Array.from(ids);
      batch.scalar[0].values = idValues;
      for (const cols of batch.large.values()) cols[0] = batch.scalar[0];
      await this.staging.add(batch);
      return { rows: list.length, rowIds: idValues };
    });
  }

  /**
   * Publishes the staged rows (and pending updates) as a new version on this handle's branch.
   * If another writer moved the branch meanwhile, the change is re-applied on top of theirs.
   */
  async commit(message: string, options: CommitOptions = {}): Promise<Commit> {
    this.check(true);
    if (typeof message !== 'string') throw new QuiverError('invalid_input', 'dataset: a commit needs a message');
    return this.mutex.run(async () => {
      await this.staging.flush();
      const written = [...this.staging.written];
      if (written.length === 0 && this.pendingOps.length === 0) {
        throw new QuiverError('invalid_input', 'dataset: nothing to commit (append, update or delete first)');
      }
      const ops: PendingOp[] = [];
      if (written.length) {
        ops.push((m) => {
          const groups = { ...m.groups };
          for (const w of written) for (const [col, g] of Object.entries(w.groups)) groups[col] = [...(groups[col] ?? []), g];
          const rows = written.reduce((n, w) => n + w.fragment.rows, 0);
          return { manifest: { ...m, fragments: [...m.fragments, ...written.map((w) => w.fragment)], groups }, stats: { rowsAdded: rows, bytesWritten: written.reduce((n, w) => n + w.bytes, 0) } };
        });
      }
      ops.push(...this.pendingOps);
      const commit = await this.publish(message, ops, options.meta, 'commit');
      this.staging.clear();
      this.pendingOps.length = 0;
      return commit;
    });
  }

  /** Applies ops to the branch head and moves the branch, retrying on lost races. Caller holds the mutex. */
  protected async publish(message: string, ops: PendingOp[], meta: Record<string, unknown> | undefined, operation: string): Promise<Commit> {
    const branch = this.branch!;
    for (let attempt = 0; ; attempt++) {
      const ref = await readRef(this.store, 'branch', branch);
      if (!ref) throw new QuiverError('not_found', `dataset: branch "${branch}" was deleted`, { branch });
      const head = ref.commit === this.head.id ? this.head : await readCommit(this.store, ref.commit);
      let manifest = ref.commit === this.head.id ? this.manifest : await readManifest(this.store, head.manifest);
      const stats: CommitStats = { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, rows: 0, bytesWritten: 0 };
      for (const op of ops) {
        const r = op(manifest);
        manifest = r.manifest;
        for (const [k, v] of Object.entries(r.stats)) stats[k as keyof CommitStats] += v as number;
      }
      stats.rows = liveRows(manifest);
      const mid = await writeManifest(this.store, manifest);
      const commit = await writeCommit(this.store, {
        manifest: mid,
        parents: [head.id],
        message,
        time: new Date().toISOString(),
        operation,
        stats,
        ...(meta ? { meta } : {}),
      });
      try {
        await moveRef(this.store, 'branch', branch, commit.id, ref.etag);
        this.head = commit;
        this.manifest = manifest;
        return commit;
      } catch (e) {
        if (!(e instanceof QuiverError && e.code === 'conflict') || attempt + 1 >= this.writeOptions.commitRetriesMax) {
          if (e instanceof QuiverError && e.code === 'conflict') {
            throw new QuiverError('conflict', `dataset: could not commit to "${branch}" after ${attempt + 1} attempts (other writers kept winning)`, { branch });
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
  }

  /** A writable handle reads its branch's newest version; a read-only one stays put. */
  private async refresh(): Promise<void> {
    if (this.branch === null) return;
    const ref = await readRef(this.store, 'branch', this.branch);
    if (!ref || ref.commit === this.head.id) return;
    const c = await readCommit(this.store, ref.commit);
    this.manifest = await readManifest(this.store, c.manifest);
    this.head = c;
  }

  private async prepare(sql: string): Promise<Session> {
    if (typeof sql !== 'string' || !sql.trim()) throw new QuiverError('invalid_input', 'query: expected a SQL string');
    await this.refresh();
    this.session ??= await (await sharedEngine()).session();
    const needed = await referencedColumns(this.session, sql);
    const plan = planScan(this.manifest, needed);
    const keys = [...plan.scalarKeys, ...plan.deleteKeys, ...plan.groups.flatMap((g) => g.keys)];
    const paths = new Map<string, string>();
    const resolved = await this.cache.paths(keys);
    keys.forEach((k, i) => paths.set(k, resolved[i]));
    await this.session.run(`CREATE OR REPLACE TEMP VIEW dataset AS ${viewSql(plan, (k) => paths.get(k)!)}`);
    return this.session;
  }

  /**
   * Runs DuckDB SQL over this version; the dataset is the table `dataset`, with a `row_id`
   * column. `$1`, `$2`… bind `params` (arrays and Float32Arrays bind as lists). Only the
   * columns the SQL names are read.
   */
  async query(sql: string, params: readonly Param[] = []): Promise<Record<string, unknown>[]> {
    this.check(false);
    return this.mutex.run(async () => (await (await this.prepare(sql)).all(sql, params)).rows);
  }

  /** Like `query`, returning an Arrow table. */
  async queryArrow(sql: string, params: readonly Param[] = []): Promise<arrow.Table> {
    this.check(false);
    return this.mutex.run(async () => (await this.prepare(sql)).arrow(sql, params));
  }

  /** The versions of this handle's history (first parents), oldest first. */
  async versions(): Promise<Commit[]> {
    this.check(false);
    await this.mutex.run(() => this.refresh());
    const out: Commit[] = [];
    let c: Commit | undefined = this.head;
    while (c) {
      out.push(c);
      c = c.parents.length ? await readCommit(this.store, c.parents[0]) : undefined;
    }
    return out.reverse();
  }

  /** Releases the handle's DuckDB session and cached files. Staged, uncommitted rows are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.mutex.run(async () => undefined);
    this.closed = true;
    this.session?.close();
    this.cache.dispose();
  }
}

function resolveWriteOptions(w: WriteOptions = {}): Required<WriteOptions> {
  return {
    stagedBytesMax: w.stagedBytesMax ?? 256 * 1024 * 1024,
    fragmentRowsMax: w.fragmentRowsMax ?? 131_072,
    commitRetriesMax: w.commitRetriesMax ?? 64,
  };
}

/** Creates a dataset at `url` (a folder path, file://, or memory://name). Fails if one exists. */
export function create(url: string | ObjectStore, options: CreateOptions): Promise<Dataset> {
  return Dataset.create(url, options);
}

/** Opens a dataset: its main branch by default, or a branch, tag, version or time. */
export function open(url: string | ObjectStore, options?: OpenOptions): Promise<Dataset> {
  return Dataset.open(url, options);
}
