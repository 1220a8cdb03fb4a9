// The public dataset API: create / open a versioned multimodal dataset, append records, commit,
// and query it with SQL at any version. A handle is bound to a branch (writable) or to a fixed
// version (read-only). Writes are staged, then published by one conditional move of the
// branch ref, so a crash at any instant leaves the branch at its last commit.

import type * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../errors.js';
import {
  columnize,
  setRowIds,
  isLarge,
  createRef,
  emptyManifest,
  listRefs,
  refKey,
  validRefName,
  layout,
  liveRows,
  manifestKeys,
  manifestSegmentKeys,
  moveRef,
  parseSchema,
  readCommit,
  readManifest,
  readMetadata,
  readRef,
  sqlType,
  RowIdAllocator,
  createRowIdLease,
  writeCommit,
  writeManifest,
  writeMetadata,
  FORMAT_VERSION,
  stableStringify,
  type ColumnDef,
  type Commit,
  type CommitStats,
  type Manifest,
  type ColumnizedBatch,
  type FragmentMeta,
  type GroupFileMeta,
  type RecordInput,
  type SchemaInput,
  type TypeSpec,
  type WrittenFragment,
  typeName,
} from '../format/index.js';
import { FileCache, LARGE_TABLE_POS, LargeValues, LateRuntime, loadLargeTable, USER_QUERY, checkSandboxed, mentionsSearch, quoteIdent, referencedColumns, resultBounds, RowLookup, SearchRuntime, type Engine, type Param, type RunOptions, type SandboxLimits, type SearchExplain, type SearchHost, type Session } from '../query/index.js';
import { buildIndex, withIndex, type IndexSpec } from './search/create-index.js';
import type { BuildProgress } from '../index/index.js';
import { openStore, WriteBatch, type ObjectStore, type StoreOptions } from '../storage/index.js';
import { Stream, type StreamOptions } from '../stream/index.js';
import { Mutex } from './mutex.js';
import { ReadLanes, type Lane } from './read-lanes.js';
import { PendingStore } from './pending-store.js';
import { openTarget, type OpenTargetOptions } from './open-target.js';
import { runtimeOf } from './shared-engine.js';
import type { Runtime } from '../runtime/index.js';
import { Staging } from './staging.js';
import { createScopedView, createVersionView, DeletesCache, FragmentRowsCache, idsTable, versionSql, type VersionContext } from './versioning/context.js';
import { checkTenantColumn, scopeDataset, type ScopedDataset, type ScopeOptions } from './scoped.js';
import { rowsByKey } from './versioning/key-lookup.js';
import { buildDiffTable, diffCounts, diffRows, dropDiffTable, smallColumnNames, type DiffCounts, type DiffRow, type DiffTable } from './versioning/diff.js';
import { analyzeMerge, writeMerge, type ConflictPolicy, type MergeConflict } from './versioning/merge.js';
import { mergeBase, resolveCommit, walkHistory } from './versioning/refs.js';
import { applyCompaction, planAutoCompaction, planCompaction, wantsAutoCompaction, writeCompaction, type AutoCompactOptions, type CompactOptions, type CompactRunOptions } from './versioning/compact.js';
import { vacuum, type VacuumOptions, type VacuumResult } from './versioning/vacuum.js';
import { applyRowWrite, type RowWrite } from './versioning/row-write.js';
import { byColumnNames, patchable } from './versioning/column-patch.js';
import { schemaChanges, parseColumn, planAddColumn, planAlterColumn, planDropColumn, planRenameColumn, type AddColumnOptions, type AlterColumnOptions } from './versioning/schema-change.js';
import { FRAGMENT_COL, largeOnly, liveRowIds, mergePatches, mergedPatches, planRowPatches, rowIdsNotFound, rowPatchesOf, splitUpsert, keyValue, type LiveRows, type RowPatches } from './versioning/row-patch.js';
import { checkedPredicate, planDelete, planUpdate, type RowSelector, type UpdateSpec } from './versioning/update.js';

export interface CreateOptions {
  /** Column name to type: short strings ('text', 'image', 'emb-1536', 'list<text>', 'int?') or `t.*()` builders. */
  schema: SchemaInput;
  /** Options for the object store behind the URL. */
  storage?: StoreOptions;
  /** Tuning for writes; see WriteOptions. */
  write?: WriteOptions;
  /** The column naming each row's tenant (text or integer), for `scoped({ tenant })`. Default none. */
  tenant?: string;
  /** The engine, caches and memory bound the handle uses (see createRuntime). Default: the process's runtime. */
  runtime?: Runtime;
}

/**
 * What `open` reads and how. Allowed: nothing (main's head), `branch`, `version`, `tag`, `asOf`
 * (main at a time) or `branch` + `asOf`. Any other combination, or an unknown option, fails
 * with `invalid_input`. Only a branch head is writable; the others open read-only.
 */
export interface OpenOptions extends OpenTargetOptions {
  storage?: StoreOptions;
  write?: WriteOptions;
  /** The engine, caches and memory bound the handle uses (see createRuntime). Default: the process's runtime. */
  runtime?: Runtime;
}

export interface WriteOptions {
  /** Staged bytes that trigger writing a fragment before commit. Default 256 MiB. */
  stagedBytesMax?: number;
  /** Rows per fragment written by appends. Default 131,072. */
  fragmentRowsMax?: number;
  /** Times a commit re-reads the branch and retries after losing a race. Default 64. */
  commitRetriesMax?: number;
  /**
   * Automatic compaction after each commit, or false to turn it off. Default on: when 32
   * fragments have fewer than 16,384 live rows each, they are rewritten into large ones in a
   * separate 'compact' commit (skipped silently if another writer gets in the way).
   */
  autoCompact?: false | AutoCompactOptions;
}

export interface AppendResult {
  rows: number;
  /** The row ids given to the appended records, in order. */
  rowIds: bigint[];
}

/** What `diff` returns: counts at once, rows on demand. */
export interface VersionDiff {
  /** The commit compared from (the common ancestor with `sinceBase`). */
  from: string;
  to: string;
  /** The two versions' common ancestor, or null when they share no history. */
  base: string | null;
  counts: DiffCounts;
  /**
   * Columns `to` has and `from` lacks (added), the reverse (dropped), and columns whose type
   * or nullability differs (changed), by name; a rename shows as a drop and an add. Rows are
   * compared on the columns both versions have.
   */
  schema: { added: string[]; dropped: string[]; changed: string[] };
  /** The differing rows in row id order, read a page at a time. */
  rows(): AsyncGenerator<DiffRow>;
}

export interface MergeOptions {
  /** How to resolve a conflict: 'fail' (default) writes nothing and throws; 'ours' / 'theirs' picks a side. */
  onConflict?: ConflictPolicy;
  /** Report what would happen and write nothing. Default false. */
  dryRun?: boolean;
  /** The merge commit's message. Default `merge <source> into <branch>`. */
  message?: string;
  /** Extra fields for the merge commit's `meta` (e.g. `author`); a fast-forward makes no commit. */
  meta?: Record<string, unknown>;
}

export interface MergeResult {
  /** 'up-to-date': nothing to do; 'fast-forward': the branch moved to the source; 'merge': a two-parent commit. */
  kind: 'up-to-date' | 'fast-forward' | 'merge';
  /** The branch's new head (null for up-to-date or a dry run of a three-way merge). */
  commit: Commit | null;
  base: string | null;
  conflicts: MergeConflict[];
  /** Rows theirs adds, removes and changes in ours. */
  counts: { added: number; removed: number; changed: number };
  dryRun: boolean;
}

/** `update({ rows })`: per-row values, each entry a `row_id` and the columns it changes. */
export interface RowsUpdate {
  rows: readonly Record<string, unknown>[];
}

export interface CommitOptions {
  /** Provenance stored with the commit (e.g. the pipeline that produced the rows). */
  meta?: Record<string, unknown>;
}

const DEFAULT_BRANCH = 'main';

/** One read: the version it answers from (pinned when it started) and the lane it runs on. */
interface Read {
  head: Commit;
  manifest: Manifest;
  lane: Lane;
}

/**
 * What a scoped handle (dataset/scoped.ts) changes in a handle: the rows every read sees and
 * how a caller's SQL runs. Set once, when the handle is made, and never on a public handle.
 */
export interface HandleScope {
  /** The predicate (SQL Quiver wrote: the tenant filter) every view a read makes applies. */
  where: string;
  /** The engine the handle's session comes from: a locked one for sandboxed SQL. */
  engine(): Promise<Engine>;
  /** Bounds of each query; null for SQL that is checked but unbounded. */
  limits: Required<SandboxLimits> | null;
}

/** Makes a handle with a scope (the key keeps the seam out of the public surface). */
export const WITH_SCOPE = Symbol('quiver.withScope');

/** A `commit` call waiting for the publish that holds its changes. */
interface CommitWaiter {
  message: string;
  meta: Record<string, unknown> | undefined;
  /** The handle's change count when the call was made. */
  seq: number;
  /** A publish was in flight when the call was made (it may hold the call's changes). */
  inFlight: boolean;
  resolve(c: Commit): void;
  reject(e: unknown): void;
}

/**
 * `m`, if its schema is the one staged rows were written with (`schema`, stable JSON): a
 * schema change by another writer since makes them unreadable as they are, a `conflict`.
 */
function checkSchema(m: Manifest, schema: string): Manifest {
  if (stableStringify(m.schema) !== schema) {
    throw new QuiverError('conflict', 'dataset: another writer changed the schema since these rows were appended; discard() and append them again');
  }
  return m;
}

/** `m` with staged append fragments added (and their large-column files). */
function withFragments(m: Manifest, written: readonly { fragment: FragmentMeta; groups: Record<string, GroupFileMeta> }[]): Manifest {
  const groups = { ...m.groups };
  for (const w of written) for (const [col, g] of Object.entries(w.groups)) groups[col] = [...(groups[col] ?? []), g];
  return { ...m, fragments: [...m.fragments, ...written.map((w) => w.fragment)], groups };
}

/** Commits a prepared merge is re-applied over (see PublishOptions.preparedOn) before it is prepared again. */
const REBASE_COMMITS_MAX = 256;

/** How many diffs' row tables a handle keeps (see #liveDiffs); a streaming client reads one at a time. */
const liveDiffsMax = 8;

/**
 * A change to apply to the branch head at commit time; re-applied as is if another writer wins
 * the race. Files it writes go to `store` when given: the publish's write batch, flushed in one
 * round with the manifest and commit before the ref moves.
 */
export type PendingOp = (m: Manifest, store?: ObjectStore) => PendingOpResult | Promise<PendingOpResult>;

export interface PendingOpResult {
  manifest: Manifest;
  stats: Partial<CommitStats>;
}

/** How `publish` makes its commit. */
export interface PublishOptions {
  /** Parents after the branch head (a merge's other side). */
  extraParents?: string[];
  /**
   * The commit the ops were prepared on. If the branch has moved past it only by single-parent
   * commits (appends, updates, deletes, compactions: none can bring rows of another branch),
   * the ops are re-applied on the new head like an append's, and refuse (`conflict`) if those
   * commits touched their rows; otherwise (a merge landed meanwhile, or more than
   * `rebaseCommitsMax` commits) publish fails with `conflict` and `details.expected`.
   */
  preparedOn?: string;
  /** Files planned for this publish and not yet written: flushed with the first attempt's files. */
  planned?: WriteBatch;
}

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
  readonly #mutex = new Mutex();
  readonly #staging: Staging;
  readonly #cache: FileCache;
  /** The writer's session as a lane (its `dataset` view, for reads that run under the mutex). */
  #writerLane: Lane | undefined;
  /** The sessions reads run on, apart from the writer's (see read-lanes.ts). */
  readonly #lanes = new ReadLanes(async () => {
    const session = await (await (this.#scope?.engine() ?? this.runtime.engine())).session();
    try {
      await this.#search.prepareSession(session);
    } catch (e) {
      session.close();
      throw e;
    }
    return session;
  });
  /** The ref check under way, shared by reads that start meanwhile. */
  #syncing: Promise<void> | undefined;
  /** Columns each SQL text names (parsing costs a DuckDB round trip; texts repeat). */
  readonly #referenced = new Map<string, Set<string> | 'all'>();
  readonly #rowIds: RowIdAllocator;
  #session: Session | undefined;
  #closed = false;
  /** Operations beyond plain appends (updates, deletes…) waiting for commit. */
  readonly #pendingOps: PendingOp[] = [];
  /** The head manifest with the pending operations applied: what the next update or delete sees. */
  #working: Manifest | null = null;
  /** How many of `staging.written` `#working` already holds. */
  #workingStaged = 0;
  /** Set when a pending op was staged without applying it to `#working`. */
  #workingStale = false;
  /** Per-row values staged by `update({ rows })` and `upsert`, planned at commit. */
  #rowPatches: RowPatches = new Map();
  /** Counts staged changes; a commit call waits for the publish that holds its count. */
  #seq = 0;
  readonly #commitWaiters: CommitWaiter[] = [];
  /** `update({ rows })` calls waiting for their row ids to be looked up (see #stagePatches). */
  readonly #patchChecks: { patches: RowPatches; resolve(): void; reject(e: unknown): void }[] = [];
  /** Rows the checks found, and which working manifest they were read from (see #workingToken). */
  #checkedRows: { token: string; rows: LiveRows } | undefined;
  /** Counts changes of the working manifest that neither the head nor the staged fragments show. */
  #workingEpoch = 0;
  #leading = false;
  #lastPublish: { commit: Commit; seq: number } | undefined;
  #refreshedAt = new Date();
  /** The branch ref as #syncHead last read it (its commit and etag): unchanged, it is not read again. */
  #refSeen: { commit: string; etag: string } | undefined;
  /** The schema (stable JSON) staged rows were validated and written with. */
  #stagedSchema = '';
  readonly #deletesCache = new DeletesCache();
  readonly #fragmentRows = new FragmentRowsCache();
  /** Row-id pages kept for the write path's lookups by id, in the runtime's search cache. */
  readonly #rowLookup: RowLookup;
  #diffCounter = 0;
  /**
   * The diffs whose tables are alive in this handle's session, oldest first. A diff's table holds
   * every changed row's small columns, so a server answering diffs all day would grow its DuckDB
   * memory without end; past `liveDiffsMax` the oldest is dropped and its rows() says so.
   */
  #liveDiffs: { table: DiffTable; released: boolean }[] = [];
  /** Caches per version (and scope), in the runtime's search cache; a scoped handle shares its parent's. */
  #search: SearchRuntime;
  /** Large columns of a query's result rows, read by range when the store is not a local folder. */
  #late = new LateRuntime();
  readonly #large: LargeValues;
  /** Set on the handles `scoped()` makes: see HandleScope. */
  #scope: HandleScope | null = null;

  #head: Commit;
  #manifest: Manifest;
  readonly #writeOptions: Required<WriteOptions>;
  /**
   * The object store behind the handle, seen through this handle's pending marker:
   * `open(ds.store, …)` opens another handle on it (with a marker of its own).
   */
  readonly store: ObjectStore;
  /** Lists every file this handle writes before writing it, so vacuum keeps it until published. */
  readonly #pending: PendingStore;

  private constructor(
    store: ObjectStore,
    /** The branch this handle writes to, or null for a read-only handle. */
    readonly branchName: string | null,
    head: Commit,
    manifest: Manifest,
    writeOptions: Required<WriteOptions>,
    /** The engine, caches and memory bound this handle shares with every other handle on it. */
    readonly runtime: Runtime,
  ) {
    this.store = this.#pending = PendingStore.of(store);
    this.#search = new SearchRuntime({ cache: runtime.searchCache });
    this.#rowLookup = new RowLookup(runtime.searchCache);
    this.#head = head;
    this.#manifest = manifest;
    this.#writeOptions = writeOptions;
    this.#staging = new Staging(this.store, writeOptions.stagedBytesMax, writeOptions.fragmentRowsMax);
    this.#cache = new FileCache(this.store, runtime.objectCache);
    this.#large = new LargeValues(this.store, runtime.objectCache, (keys) => this.#cache.paths(keys));
    this.#rowIds = new RowIdAllocator(this.store);
  }

  /**
   * A handle on this branch (or version) whose every read sees only `tenant`'s rows and whose
   * writes may touch only them. Its SQL always runs in the sandbox (one SELECT over `dataset`,
   * a locked engine); `sandbox` sets the bounds of each query (default SANDBOX_DEFAULTS, false
   * for none). See ScopedDataset and docs/security.md. Needs a tenant column
   * (`create(url, { schema, tenant })` or `setTenantColumn`).
   *
   * @example
   * const mine = await ds.scoped({ tenant: 'u42', sandbox: true });
   * await mine.query('select count(*) as n from dataset'); // u42's rows only
   */
  scoped(options: ScopeOptions): Promise<ScopedDataset> {
    this.#check(false);
    return scopeDataset(this, options);
  }

  /** A new handle on this one's version and branch with `scope` (for dataset/scoped.ts). */
  [WITH_SCOPE](scope: HandleScope): Dataset {
    const d = new Dataset(this.store, this.branchName, this.#head, this.#manifest, this.#writeOptions, this.runtime);
    d.#scope = scope;
    // Scoped handles are made per request: they share the caches, whose keys name the scope.
    d.#search = this.#search;
    d.#late = this.#late;
    return d;
  }

  /** The dataset's location: the URL (or store URL) it was created or opened with. */
  get url(): string {
    return this.store.url;
  }

  /** True when the handle is bound to a fixed version and refuses writes. */
  get readOnly(): boolean {
    return this.branchName === null;
  }

  /**
   * The version (commit) this handle reads: its branch's head as of `refreshedAt` (another
   * writer may have committed since; `refresh()` reads the branch again).
   */
  get version(): Commit {
    return this.#head;
  }

  /** When this handle last read its branch's head (opened, committed, queried or refreshed). */
  get refreshedAt(): Date {
    return new Date(this.#refreshedAt.getTime());
  }

  /** The columns of the dataset at this version. */
  get schema(): ColumnDef[] {
    return this.#manifest.schema;
  }

  /**
   * Live rows at this handle's version (deleted rows excluded, staged rows not counted), as of
   * `refreshedAt`. A writable handle's version moves when it commits, queries or calls
   * `refresh()`; until then another writer's commits are not counted.
   *
   * @example
   * await ds.refresh();
   * console.log(ds.rowCount);
   */
  get rowCount(): number {
    return liveRows(this.#manifest);
  }

  /** The column naming each row's tenant at this version, or null when the dataset declares none. */
  get tenantColumn(): string | null {
    return this.#manifest.tenant ?? null;
  }

  /**
   * Declares (or with null, removes) the tenant column and commits: scoped handles see only the
   * rows whose value in it is their tenant's. A text or integer column.
   *
   * @example
   * await ds.setTenantColumn('user_id');
   */
  async setTenantColumn(name: string | null): Promise<Commit> {
    return this.#schemaChange(`set tenant column ${String(name)}`, { tenant: name }, async (_ctx, m) => {
      const { tenant: _old, ...rest } = m;
      return { manifest: name === null ? rest : { ...rest, tenant: checkTenantColumn(m.schema, name) } };
    });
  }

  /** The indexes of this version: column, kind and the options they were built with. */
  get indexes(): { column: string; kind: 'vector' | 'fulltext' | 'scalar'; options: Record<string, unknown> }[] {
    return this.#manifest.indexes.map((i) => ({ column: i.column, kind: i.kind, options: { ...i.options } }));
  }

  /**
   * Rows appended on this handle and not yet committed (staged updates and deletes are not
   * rows). `commit` publishes them, `discard` drops them; 0 after either.
   *
   * @example
   * await ds.append([{ prompt: 'a' }, { prompt: 'b' }]);
   * ds.stagedRows; // 2
   */
  get stagedRows(): number {
    return this.#staging.rows;
  }

  static async create(url: string | ObjectStore, options: CreateOptions): Promise<Dataset> {
    if (!options || typeof options !== 'object' || !options.schema) throw new QuiverError('invalid_input', 'dataset: create needs { schema }');
    const schema = parseSchema(options.schema);
    const runtime = runtimeOf(options.runtime);
    const store = openStore(url, options.storage);
    const exists = () => new QuiverError('already_exists', `dataset: a dataset already exists at ${store.url}`, { url: store.url });
    try {
      await writeMetadata(store, 'marker', layout.marker, { format: FORMAT_VERSION, defaultBranch: DEFAULT_BRANCH, created: new Date().toISOString() }, { ifAbsent: true });
    } catch (e) {
      if (!(e instanceof QuiverError && e.code === 'conflict')) throw e;
      // A marker without the default branch is a create that was interrupted: finish it.
      await readMetadata(store, 'marker', layout.marker);
      if (await readRef(store, 'branch', DEFAULT_BRANCH)) throw exists();
    }
    const pending = PendingStore.of(store);
    const manifest: Manifest = { ...emptyManifest(schema), ...(options.tenant !== undefined ? { tenant: checkTenantColumn(schema, options.tenant) } : {}) };
    const mid = await writeManifest(pending, manifest);
    const root = await writeCommit(pending, {
      manifest: mid,
      parents: [],
      message: 'create dataset',
      time: new Date().toISOString(),
      operation: 'create',
      stats: { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, rows: 0, bytesWritten: 0 },
    });
    await createRowIdLease(store);
    // The one step that makes the dataset exist. Of creates racing (or finishing one that was
    // interrupted), exactly one creates the branch; the others fail here.
    try {
      await createRef(store, 'branch', DEFAULT_BRANCH, root.id);
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'already_exists') throw exists();
      throw e;
    } finally {
      await pending.release();
    }
    return new Dataset(store, DEFAULT_BRANCH, root, manifest, resolveWriteOptions(options.write), runtime);
  }

  static async open(url: string | ObjectStore, options: OpenOptions = {}): Promise<Dataset> {
    const target = openTarget(options as OpenOptions & Record<string, unknown>, ['storage', 'write', 'runtime'], DEFAULT_BRANCH);
    const runtime = runtimeOf(options.runtime);
    const store = openStore(url, options.storage);
    // On object storage each read is a round trip: the branch's ref is asked for with the marker.
    const branchRef = target.kind === 'branch' ? readRef(store, 'branch', target.branch) : null;
    branchRef?.catch(() => undefined);
    // The first query needs the process's DuckDB instance (30-70 ms to create, measured under
    // load): it starts now, alongside the metadata reads, not after them. A failure surfaces there.
    if (!store.localPath) runtime.engine().catch(() => undefined);
    try {
      await readMetadata(store, 'marker', layout.marker);
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'not_found') throw new QuiverError('not_found', `dataset: no dataset at ${store.url}`, { url: store.url });
      throw e;
    }
    const w = resolveWriteOptions(options.write);
    const at = async (c: Commit) => new Dataset(store, null, c, await readManifest(store, c.manifest), w, runtime);
    if (target.kind === 'version') return at(await readCommit(store, target.version));
    if (target.kind === 'tag') {
      const ref = await readRef(store, 'tag', target.tag);
      if (!ref) throw new QuiverError('not_found', `dataset: no tag "${target.tag}"`, { tag: target.tag });
      return at(await readCommit(store, ref.commit));
    }
    const { branch, asOf } = target;
    const ref = await (branchRef ?? readRef(store, 'branch', branch));
    if (!ref && !(await readRef(store, 'branch', DEFAULT_BRANCH))) {
      throw new QuiverError('not_found', `dataset: the dataset at ${store.url} was never fully created (its create was interrupted); create it again`, { url: store.url });
    }
    if (!ref) throw new QuiverError('not_found', `dataset: no branch "${branch}"`, { branch });
    let c = await readCommit(store, ref.commit);
    if (asOf === undefined) return new Dataset(store, branch, c, await readManifest(store, c.manifest), w, runtime);
    while (Date.parse(c.time) > asOf.getTime()) {
      if (c.parents.length === 0) throw new QuiverError('not_found', `dataset: branch "${branch}" has no version at or before ${asOf.toISOString()}`, { branch });
      c = await readCommit(store, c.parents[0]);
    }
    return at(c);
  }

  #check(write: boolean): void {
    if (this.#closed) throw new QuiverError('closed', 'dataset: the handle is closed');
    if (write && this.branchName === null) {
      throw new QuiverError('read_only', `dataset: version ${this.#head.id} was opened read-only; open a branch to write`, { version: this.#head.id });
    }
  }

  /**
   * Stages one record or many for the next commit. Validates every record first: a record that
   * does not fit the schema throws (naming row and column) and nothing of the call is staged.
   */
  async append(records: RecordInput | readonly RecordInput[]): Promise<AppendResult> {
    this.#check(true);
    const list = Array.isArray(records) ? (records as readonly RecordInput[]) : [records as RecordInput];
    if (list.length === 0) return { rows: 0, rowIds: [] };
    return this.#mutex.run(async () => {
      // The first staged rows take the branch's newest schema (another writer may have changed it).
      // A writer usually holds the ref's etag from its last commit, so a head answers whether it moved.
      if (this.#staging.rows === 0) await this.#syncHead({ byHead: true });
      // Validate with placeholder ids first, so bad input costs no lease.
      const placeholder = new BigInt64Array(list.length);
      const batch = columnize(this.#manifest.schema, list, placeholder);
      return { rows: list.length, rowIds: await this.#stageBatch(batch, list.length) };
    });
  }

  /**
   * Publishes the staged rows, updates and deletes as a new version on this handle's branch.
   * If another writer moved the branch meanwhile, the change is re-applied on top of theirs.
   *
   * Group commit: calls made while a publish is in flight wait for it; if it already holds
   * their changes they get its commit, and the rest share the next publish (one commit whose
   * message is the first caller's, every caller's message in `meta.messages`). So a server that
   * calls `update` then `commit` per request makes few publishes, and each caller learns the
   * version that holds its change. A failed publish fails every caller that shared it.
   *
   * @example
   * await Promise.all(requests.map(async (r) => {
   *   await ds.update({ rows: [{ row_id: r.id, rating: r.rating }] });
   *   return ds.commit('feedback');
   * }));
   */
  async commit(message: string, options: CommitOptions = {}): Promise<Commit> {
    this.#check(true);
    if (typeof message !== 'string') throw new QuiverError('invalid_input', 'dataset: a commit needs a message');
    return new Promise<Commit>((resolve, reject) => {
      this.#commitWaiters.push({ message, meta: options.meta, seq: this.#seq, inFlight: this.#leading, resolve, reject });
      if (!this.#leading) void this.#leadCommits();
    });
  }

  /** Publishes queued commit calls a group at a time until none wait. One leader at a time. */
  async #leadCommits(): Promise<void> {
    this.#leading = true;
    try {
      while (this.#commitWaiters.length) {
        const queued = this.#commitWaiters.splice(0);
        // Calls made while the last publish ran, whose changes it already took.
        const last = this.#lastPublish;
        const done = queued.filter((w) => w.inFlight && last && w.seq <= last.seq);
        for (const w of done) w.resolve(last!.commit);
        const group = queued.filter((w) => !done.includes(w));
        if (group.length === 0) continue;
        for (const w of group) w.inFlight = true;
        const messages = group.map((w) => w.message);
        const meta = group.length === 1 ? group[0].meta : { ...Object.assign({}, ...group.map((w) => w.meta ?? {})), messages };
        let c: Commit;
        try {
          c = await this.#mutex.run(() => this.#commitLocked(messages[0], meta));
        } catch (e) {
          for (const w of group) w.reject(e);
          continue;
        }
        for (const w of group) w.resolve(c);
        // Queued before any call the callers make next, but not in their latency: their change
        // is durable already. A compaction is best effort (see WriteOptions.autoCompact).
        void this.#mutex.run(() => this.#autoCompact()).catch(() => undefined);
      }
    } finally {
      this.#leading = false;
    }
  }

  /** One publish of everything staged now. Caller holds the mutex. */
  async #commitLocked(message: string, meta: Record<string, unknown> | undefined): Promise<Commit> {
    // Every change counted so far is in this publish: appends and planned updates are staged
    // under the mutex, and the row patches are taken below, after this count.
    const seq = this.#seq;
    // Published at once: no later update plans on it, so it is not applied to the working
    // manifest, and its files wait in `planned` to be written in the publish's one round.
    const planned = new WriteBatch(this.store);
    // The rows appended since the last flush wait in `planned` too when nothing this publish
    // plans reads their fragment: an upsert's new keys were one durable round of their own
    // (pending marker and fragment) in front of the publish's three.
    await this.#staging.flush(this.#stagedUnread() ? planned : undefined);
    let patchOp: { op: PendingOp; patches: RowPatches } | null;
    try {
      patchOp = await this.#materializePatches(planned);
    } catch (e) {
      await this.#keepPlanned(planned, null);
      throw e;
    }
    const written = [...this.#staging.written];
    if (written.length === 0 && this.#pendingOps.length === 0) {
      throw new QuiverError('invalid_input', 'dataset: nothing to commit (append, update or delete first)');
    }
    const ops: PendingOp[] = [];
    const stagedSchema = this.#stagedSchema;
    if (written.length) ops.push((m) => ({ manifest: withFragments(checkSchema(m, stagedSchema), written), stats: { rowsAdded: written.reduce((n, w) => n + w.fragment.rows, 0), bytesWritten: written.reduce((n, w) => n + w.bytes, 0) } }));
    // Which staged update or delete conflicted, if one did (its index in pendingOps).
    let conflicted = -1;
    ops.push(...this.#pendingOps.map((op, i): PendingOp => async (m, store) => {
      try {
        return await op(m, store);
      } catch (e) {
        if (isQuiverError(e, 'conflict')) conflicted = i;
        throw e;
      }
    }));
    let commit: Commit;
    try {
      commit = await this.#publish(message, ops, meta, 'commit', { planned });
    } catch (e) {
      await this.#keepPlanned(planned, patchOp);
      this.#workingEpoch++;
      this.#working = null;
      this.#workingStale = this.#pendingOps.length > 0;
      if (conflicted < 0 || !isQuiverError(e, 'conflict')) throw e;
      throw await this.#dropConflicted(conflicted, e);
    }
    this.#lastPublish = { commit, seq };
    this.#staging.clear();
    this.#pendingOps.length = 0;
    this.#working = null;
    this.#workingStale = false;
    await this.#releaseIfIdle();
    return commit;
  }

  /**
   * True when the publish plans nothing over the rows appended since the last flush, so their
   * fragment may wait in the publish's write batch: no staged update or delete (applying one
   * may fold patches through the view), and no staged row patch's id in their id range (lookups
   * and patches pick fragments by range). Caller holds the mutex.
   */
  #stagedUnread(): boolean {
    const range = this.#staging.waitingIdRange();
    if (!range || this.#pendingOps.length > 0) return false;
    for (const id of this.#rowPatches.keys()) if (id >= range[0] && id <= range[1]) return false;
    return true;
  }

  /**
   * After a failed publish: the planned patch op may stay staged only if its files exist, so
   * they are written now; if that fails too, the op goes and its patches are staged again.
   */
  async #keepPlanned(planned: WriteBatch, patchOp: { op: PendingOp; patches: RowPatches } | null): Promise<void> {
    try {
      await planned.flush();
      this.#staging.heldWritten();
    } catch {
      // Appended rows whose fragment waited in `planned` wait in memory again.
      this.#staging.unflush();
      if (!patchOp) return;
      const i = this.#pendingOps.indexOf(patchOp.op);
      if (i >= 0) this.#pendingOps.splice(i, 1);
      const later = this.#rowPatches;
      this.#rowPatches = patchOp.patches;
      mergePatches(this.#rowPatches, later);
    }
  }

  /**
   * Plans the staged row patches (update by rows, upsert) into one pending op. A row id that
   * matches no row fails with `not_found` and is dropped; the other patches stay staged.
   * With `planned`, the op is staged for the commit in progress (not applied to the working
   * manifest) and its files are held in `planned`; it and its patches are returned.
   * Caller holds the mutex.
   */
  async #materializePatches(planned?: WriteBatch): Promise<{ op: PendingOp; patches: RowPatches } | null> {
    if (this.#rowPatches.size === 0) return null;
    const patches = this.#rowPatches;
    this.#rowPatches = new Map();
    await this.#staging.flush();
    const base = await this.#workingManifest();
    const ctx = await this.#versionContext();
    const checked = this.#checkedRows?.token === this.#workingToken() ? this.#checkedRows.rows : undefined;
    this.#checkedRows = undefined;
    try {
      const w = await planRowPatches(planned ? { ...ctx, store: planned } : ctx, base, patches, checked);
      if (!planned) {
        await this.#stageRowWrite(w, ctx, base);
        return null;
      }
      const op: PendingOp = (m, store) => applyRowWrite(store ? { ...ctx, store } : ctx, w, m);
      this.#pendingOps.push(op);
      this.#workingStale = true;
      return { op, patches };
    } catch (e) {
      // Keep what was staged meanwhile on top of what goes back.
      const later = this.#rowPatches;
      this.#rowPatches = patches;
      if (isQuiverError(e, 'not_found') && Array.isArray(e.details.rowIds)) for (const id of e.details.rowIds as bigint[]) patches.delete(id);
      mergePatches(this.#rowPatches, later);
      throw e;
    }
  }

  /**
   * After a commit failed because staged operation `i` conflicts with the branch head: drops it
   * and every operation staged after it (they were planned on top of it), keeps the appends and
   * the earlier operations staged on the refreshed head, and says so in the error it returns.
   * Caller holds the mutex.
   */
  async #dropConflicted(i: number, cause: QuiverError): Promise<QuiverError> {
    const dropped = this.#pendingOps.length - i;
    this.#pendingOps.length = i;
    await this.#syncHead();
    let m = withFragments(this.#manifest, this.#staging.written);
    for (let k = 0; k < this.#pendingOps.length; k++) {
      try {
        m = (await this.#pendingOps[k](m)).manifest;
      } catch (e) {
        if (!isQuiverError(e, 'conflict')) throw e;
        this.#pendingOps.length = k; // the head moved again and an earlier one conflicts too
      }
    }
    this.#working = this.#pendingOps.length ? m : null;
    this.#workingStaged = this.#staging.written.length;
    this.#workingStale = false;
    const droppedAll = dropped + (i - this.#pendingOps.length);
    return new QuiverError(
      'conflict',
      `${cause.message}; nothing was committed: ${droppedAll} staged update/delete(s) were dropped (the conflicting one and those staged after it), ${this.#staging.rows} appended rows and ${this.#pendingOps.length} earlier change(s) stay staged`,
      { ...cause.details, droppedOps: droppedAll, keptOps: this.#pendingOps.length, stagedRows: this.#staging.rows },
      { cause },
    );
  }

  /**
   * Drops everything staged on this handle and not committed: appended rows, updates and
   * deletes. Fragments already written for staged rows become garbage that `vacuum` removes.
   *
   * @example
   * await ds.append({ prompt: 'oops' });
   * await ds.discard();
   * ds.stagedRows; // 0
   */
  async discard(): Promise<void> {
    this.#check(true);
    await this.#mutex.run(async () => {
      this.#staging.clear();
      this.#pendingOps.length = 0;
      this.#rowPatches = new Map();
      this.#workingEpoch++;
      this.#working = null;
      this.#workingStale = false;
      await this.#releaseIfIdle();
    });
  }

  /**
   * Reads this handle's branch again so that `version`, `rowCount`, `schema` and `indexes` show
   * its newest commit, and returns that commit. Queries, diffs and writes refresh on their own;
   * a read-only handle (a version, tag or time) stays where it is. Staged changes are kept.
   *
   * @example
   * const head = await ds.refresh();
   * console.log(head.id, ds.rowCount);
   */
  async refresh(): Promise<Commit> {
    this.#check(false);
    await this.#mutex.run(() => this.#syncHead());
    return this.#head;
  }

  /** Runs the automatic compaction policy; a compaction that loses a race is skipped, never an error. Caller holds the mutex. */
  async #autoCompact(): Promise<void> {
    const policy = this.#writeOptions.autoCompact;
    if (policy === false || !wantsAutoCompaction(this.#manifest, policy)) return;
    try {
      await this.#compactLocked(policy, planAutoCompaction);
    } catch (e) {
      if (!isQuiverError(e, 'conflict') && !isQuiverError(e, 'not_found')) throw e;
    }
  }

  /** Applies ops to the branch head and moves the branch, retrying on lost races. Caller holds the mutex. */
  async #publish(message: string, ops: PendingOp[], meta: Record<string, unknown> | undefined, operation: string, options: PublishOptions = {}): Promise<Commit> {
    const branch = this.branchName!;
    // The ref as this handle last read or moved it: the first attempt builds on it without reading
    // the ref again, and the conditional move checks it. A miss (another writer moved the ref) costs
    // one manifest and commit written for nothing and a read, but no retry of the budget. Measured on
    // radosgw: a ref GET is ~45 ms (its small body waits for a delayed ACK), 90 of the ~230 ms an
    // append + commit of 1,000 rows took when the append's sync and the publish both read it.
    let guess = this.#refSeen?.commit === this.#head.id ? this.#refSeen : undefined;
    for (let attempt = 0; ; attempt++) {
      const ref = guess ?? (await readRef(this.store, 'branch', branch));
      if (!ref) throw new QuiverError('not_found', `dataset: branch "${branch}" was deleted`, { branch });
      if (options.preparedOn !== undefined && ref.commit !== options.preparedOn && !(await this.#linearSince(options.preparedOn, ref.commit))) {
        throw new QuiverError('conflict', `dataset: branch "${branch}" moved while ${operation} was being prepared`, { branch, expected: options.preparedOn, found: ref.commit });
      }
      const head = ref.commit === this.#head.id ? this.#head : await readCommit(this.store, ref.commit);
      let manifest = ref.commit === this.#head.id ? this.#manifest : await readManifest(this.store, head.manifest);
      const stats: CommitStats = { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, rows: 0, bytesWritten: 0 };
      // This attempt's files (deletes, manifest, commit) are written together just before the ref moves.
      const batch = new WriteBatch(this.store);
      for (const op of ops) {
        const r = await op(manifest, batch);
        manifest = r.manifest;
        for (const [k, v] of Object.entries(r.stats)) stats[k as keyof CommitStats] += v as number;
      }
      stats.rows = liveRows(manifest);
      const mid = await writeManifest(batch, manifest);
      const commit = await writeCommit(batch, {
        manifest: mid,
        parents: [head.id, ...(options.extraParents ?? [])],
        message,
        time: new Date().toISOString(),
        operation,
        stats,
        ...(meta ? { meta } : {}),
      });
      await Promise.all([batch.flush(), options.planned?.flush()]);
      try {
        await this.#pending.checkIntact([...manifestKeys(manifest), ...manifestSegmentKeys(manifest)]);
        let etag: string;
        try {
          etag = await moveRef(this.store, 'branch', branch, commit.id, ref.etag);
        } catch (e) {
          // The guessed ref moved (or went: a missing key is `not_found` on some stores): read it.
          if (guess && (isQuiverError(e, 'conflict') || isQuiverError(e, 'not_found'))) {
            guess = undefined;
            attempt--;
            continue;
          }
          throw e;
        }
        this.#refSeen = { commit: commit.id, etag };
        this.#refreshedAt = new Date();
        this.#head = commit;
        this.#manifest = manifest;
        await this.#releaseIfIdle();
        return commit;
      } catch (e) {
        if (!(e instanceof QuiverError && e.code === 'conflict') || attempt + 1 >= this.#writeOptions.commitRetriesMax) {
          if (e instanceof QuiverError && e.code === 'conflict') {
            throw new QuiverError('conflict', `dataset: could not commit to "${branch}" after ${attempt + 1} attempts (other writers kept winning)`, { branch });
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
  }

  /** Drops the pending marker once nothing this handle wrote waits for a commit. */
  async #releaseIfIdle(): Promise<void> {
    if (!this.#hasStaged()) await this.#pending.release();
  }

  /** True while appends, updates or deletes wait for commit. */
  #hasStaged(): boolean {
    return this.#staging.rows > 0 || this.#pendingOps.length > 0 || this.#rowPatches.size > 0;
  }

  /** True when `to` descends from `from` through at most `rebaseCommitsMax` single-parent commits. */
  async #linearSince(from: string, to: string): Promise<boolean> {
    let c = await readCommit(this.store, to);
    for (let steps = 0; steps < REBASE_COMMITS_MAX; steps++) {
      if (c.parents.length !== 1) return false;
      if (c.parents[0] === from) return true;
      c = await readCommit(this.store, c.parents[0]);
    }
    return false;
  }

  /**
   * A writable handle reads its branch's newest version; a read-only one stays put. Writes call
   * it under the mutex, reads (through #pin) beside it.
   */
  async #syncHead(options: { byHead?: boolean } = {}): Promise<void> {
    if (this.branchName === null) return;
    // Reads sync outside the mutex: a publish (or another sync) may move the head meanwhile,
    // and then this sync's older answer must not replace it.
    const from = this.#head;
    // On a local folder reading the ref costs an open, a stat, reads and a close (~0.3-1 ms a
    // query under load); a stat alone tells whether it moved since the read that gave #head.
    // On object storage a get of the ref is one request, as a head would be, except where the
    // server stalls a small body (radosgw: HEAD 5 ms, GET 45 ms): `byHead` asks a head there too.
    const seen = this.#refSeen;
    if ((this.store.localPath || options.byHead) && seen && seen.commit === this.#head.id) {
      const info = await this.store.head(refKey('branch', this.branchName));
      if (info?.etag === seen.etag) {
        this.#refreshedAt = new Date();
        return;
      }
    }
    const ref = await readRef(this.store, 'branch', this.branchName);
    if (this.#head !== from) return;
    this.#refreshedAt = new Date();
    this.#refSeen = ref ?? undefined;
    if (!ref || ref.commit === this.#head.id) return;
    const c = await readCommit(this.store, ref.commit);
    const manifest = await readManifest(this.store, c.manifest);
    if (this.#head !== from) return;
    // Both at once: no read pins a commit with another version's manifest.
    this.#manifest = manifest;
    this.#head = c;
  }

  /** The ref check of the reads starting now: the one under way, or a new one (shared by concurrent reads). */
  #sync(): Promise<void> {
    return (this.#syncing ??= this.#syncHead().finally(() => {
      this.#syncing = undefined;
    }));
  }

  /** The version a read answers from: the branch's newest, pinned. */
  async #pin(): Promise<{ head: Commit; manifest: Manifest }> {
    await this.#sync();
    return { head: this.#head, manifest: this.#manifest };
  }

  /**
   * Runs a read on a lane of its own, pinned to one version, without the writer's mutex: reads
   * run beside each other and beside writes, each seeing a whole published version.
   */
  async #read<T>(sql: string | null, fn: (r: Read) => Promise<T>): Promise<T> {
    return this.#lanes.run(async (lane) => {
      if (this.store.localPath || this.branchName === null) {
        const r = { ...(await this.#pin()), lane };
        return this.#userSql(r, sql, () => fn(r));
      }
      return this.#readBesideRef(lane, sql, fn);
    });
  }

  /**
   * A read on object storage, where the ref check is a round trip of its own (~45 ms on the
   * project's radosgw, the whole of a warm scalar query's wait): the read runs on the version
   * held while the ref is read, and its answer is given only once the ref says that version is
   * still the newest; when the branch moved meanwhile, it runs again on the new version. So the
   * answer is always of a version that was the newest after the read began, as with #pin.
   * Reads have no effects, so the run thrown away costs time only, and only when a commit
   * landed during the read. A failed ref read fails the read, once its run has stopped using the lane.
   */
  async #readBesideRef<T>(lane: Lane, sql: string | null, fn: (r: Read) => Promise<T>): Promise<T> {
    const sync = this.#sync().then(
      () => undefined,
      (e: unknown) => ({ error: e }),
    );
    const held: Read = { head: this.#head, manifest: this.#manifest, lane };
    const run = this.#userSql(held, sql, () => fn(held)).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const [failed, out] = await Promise.all([sync, run]);
    if (failed) throw failed.error;
    if (this.#head === held.head) {
      if (out.ok) return out.value;
      throw out.error;
    }
    const r: Read = { head: this.#head, manifest: this.#manifest, lane };
    return this.#userSql(r, sql, () => fn(r));
  }

  /** The writer's session as a read of the current head (for reads that run under the mutex). */
  async #writerRead(): Promise<Read> {
    const session = (await this.#versionContext()).session;
    this.#writerLane ??= { session, viewKey: undefined };
    return { head: this.#head, manifest: this.#manifest, lane: this.#writerLane };
  }

  /** Refuses what is not SQL text. */
  #checkSql(sql: unknown): void {
    if (typeof sql !== 'string' || !sql.trim()) throw new QuiverError('invalid_input', 'query: expected a SQL string');
  }

  /** The columns `sql` names (memoized: planning a repeated query costs no parse). */
  async #referencedOf(session: Session, sql: string): Promise<Set<string> | 'all'> {
    let needed = this.#referenced.get(sql);
    if (!needed) {
      needed = await referencedColumns(session, sql);
      if (this.#referenced.size >= 256) this.#referenced.clear();
      this.#referenced.set(sql, needed);
    }
    return needed;
  }

  /** Points the read's `dataset` view at its version with the columns `sql` names (or no large column). */
  async #view(r: Read, sql: string, large?: 'none'): Promise<Session> {
    const ctx = this.#contextOf(r.lane.session);
    const needed = large ?? (await this.#referencedOf(ctx.session, sql));
    // Re-creating the view costs a bind over every file; skip it when neither the version nor
    // the set of large columns changed since the lane's last query.
    const joined = needed === 'all' ? 'all' : needed === 'none' ? '' : r.manifest.schema.filter((c) => isLarge(c.type) && needed.has(c.name.toLowerCase())).map((c) => c.name).join(',');
    const viewKey = `${r.head.manifest}|${joined}`;
    if (viewKey !== r.lane.viewKey) {
      r.lane.viewKey = undefined;
      await createScopedView(ctx, 'dataset', r.manifest, { large: needed });
      r.lane.viewKey = viewKey;
    }
    return ctx.session;
  }

  /**
   * Runs DuckDB SQL over this version; the dataset is the table `dataset`, with a `row_id`
   * column. `$1`, `$2`… bind `params` (arrays and Float32Arrays bind as lists). Only the
   * columns the SQL names are read. The SQL must be one SELECT (read-only PRAGMAs such as
   * `table_info` count as one) or one EXPLAIN of a SELECT; anything else (two statements, SET,
   * CREATE, COPY, ATTACH, …) fails with `invalid_sql`, so no query changes what later ones see.
   * Queries of one handle run beside each other (up to READ_LANES_MAX at once) and beside its
   * writes, each over the whole version that was published when it started.
   */
  async query(sql: string, params: readonly Param[] = []): Promise<Record<string, unknown>[]> {
    this.#check(false);
    return this.#read(sql, async (r) => {
      if (!mentionsSearch(sql)) return this.#plainQuery(r, sql, params, 'rows');
      return this.#search.run(this.#searchHost(r, sql), sql, params, 'rows');
    });
  }

  /** Runs `fn`, which runs the caller's `sql`: on a scoped handle, checked by the sandbox first and within its time bound. */
  async #userSql<T>(r: Read, sql: string | null, fn: () => Promise<T>): Promise<T> {
    if (!this.#scope) return fn();
    const session = r.lane.session;
    if (sql !== null) await checkSandboxed(session, sql);
    const limits = this.#scope.limits;
    return limits ? session.withTimeout(limits.statementMs, fn) : fn();
  }

  /**
   * On a scoped handle, refuses a caller's predicate (stream, update or delete `where`) that the
   * sandbox would refuse in a query: a subquery over a file, a setting or another relation.
   */
  async #checkScopedWhere(where: unknown): Promise<void> {
    if (!this.#scope || typeof where !== 'string' || !where.trim()) return;
    await checkSandboxed((await this.#versionContext()).session, `SELECT row_id FROM dataset WHERE (${where}\n)`);
  }

  /** Bounds on the result of a caller's query (a sandboxed handle's). */
  get #bounds(): RunOptions {
    return this.#scope?.limits ? resultBounds(this.#scope.limits) : {};
  }

  /** Like `query`, returning an Arrow table. */
  async queryArrow(sql: string, params: readonly Param[] = []): Promise<arrow.Table> {
    this.#check(false);
    return this.#read(sql, async (r) => {
      if (!mentionsSearch(sql)) return this.#plainQuery(r, sql, params, 'arrow');
      return this.#search.run(this.#searchHost(r, sql), sql, params, 'arrow');
    });
  }

  /**
   * A query without search functions. On a store that is not a local folder, a query that names
   * large columns only in its select list reads them for its result rows alone, by range
   * (query/late-columns.ts), up to LATE_ROWS_MAX rows; any other query runs over the files it names.
   */
  async #plainQuery(r: Read, sql: string, params: readonly Param[], as: 'rows'): Promise<Record<string, unknown>[]>;
  async #plainQuery(r: Read, sql: string, params: readonly Param[], as: 'arrow'): Promise<arrow.Table>;
  async #plainQuery(r: Read, sql: string, params: readonly Param[], as: 'rows' | 'arrow'): Promise<Record<string, unknown>[] | arrow.Table> {
    this.#checkSql(sql);
    const session = r.lane.session;
    const plan = this.store.localPath ? null : await this.#late.plan(session, sql, r.manifest.schema);
    if (plan) {
      const host = { session, manifest: r.manifest, large: this.#large, bounds: this.#bounds, prepareSmallView: async () => void (await this.#view(r, sql, 'none')) };
      const late = as === 'rows' ? await this.#late.run(host, plan, params, 'rows') : await this.#late.run(host, plan, params, 'arrow');
      if (late) return late;
    }
    await this.#view(r, sql);
    const options = { ...USER_QUERY, ...this.#bounds };
    return as === 'rows' ? (await session.all(sql, params, options)).rows : session.arrow(sql, params, options);
  }

  /**
   * How a query would run: for a top-k by `cosine_similarity` / `l2_distance` /
   * `inner_product` / `bm25` / `rrf`, the signals, the candidate filter, the index and the
   * kernel strategy; otherwise the exact SQL DuckDB runs.
   */
  async explain(sql: string, params: readonly Param[] = []): Promise<SearchExplain> {
    this.#check(false);
    return this.#read(sql, async (r) => this.#search.explain(this.#searchHost(r, sql), sql, params));
  }

  /**
   * Builds an index over `column` and commits it on this branch. Queries give the same answers
   * with or without an index (an ANN index may miss a few of the exact top k: recall ≥ 0.95);
   * only their speed changes. Rows appended after the index was built are searched exactly.
   * A column keeps one vector index per metric; queries use the one of their metric.
   *
   * @example
   * await ds.createIndex('image_emb', { kind: 'vector', metric: 'cosine' });
   * await ds.createIndex('prompt', { kind: 'fulltext', k1: 1.2, b: 0.75 });
   * await ds.createIndex('rating', { kind: 'scalar' });
   */
  async createIndex(column: string, spec: IndexSpec, options: { onProgress?: BuildProgress; meta?: Record<string, unknown> } = {}): Promise<Commit> {
    this.#check(true);
    return this.#mutex.run(async () => {
      await this.#syncHead();
      const ctx = await this.#versionContext();
      const meta = await buildIndex({ store: this.store, session: ctx.session, paths: (k) => this.#cache.paths(k), onProgress: options.onProgress }, this.#manifest, column, spec);
      return this.#publish(`create ${spec.kind} index on ${column}`, [(m) => ({ manifest: withIndex(m, meta), stats: {} })], options.meta, 'create-index');
    });
  }

  /**
   * Removes the `kind` index of `column` (for `vector`, the index of every metric) from the next version (older versions keep theirs);
   * queries give the same answers without it, only slower. Throws `not_found` if there is none.
   */
  async dropIndex(column: string, kind: IndexSpec['kind']): Promise<Commit> {
    this.#check(true);
    return this.#mutex.run(async () => {
      await this.#syncHead();
      if (!this.#manifest.indexes.some((i) => i.column === column && i.kind === kind)) {
        throw new QuiverError('not_found', `index: no ${kind} index on "${column}"`, { column });
      }
      const drop = (m: Manifest): Manifest => ({ ...m, indexes: m.indexes.filter((i) => !(i.column === column && i.kind === kind)) });
      return this.#publish(`drop ${kind} index on ${column}`, [(m) => ({ manifest: drop(m), stats: {} })], undefined, 'drop-index');
    });
  }

  /**
   * Pairs of rows whose `column` embeddings are near-duplicates (cosine similarity at least
   * `threshold`), each pair once, most similar first. Checks the `k` nearest rows of each row;
   * `signal` (an AbortSignal, or anything with its `throwIfAborted`) is checked before each.
   */
  async nearDuplicates(column: string, options: { threshold?: number; k?: number; signal?: { throwIfAborted(): void } } = {}): Promise<{ a: bigint; b: bigint; similarity: number }[]> {
    this.#check(false);
    return this.#read(null, async (r) => this.#search.nearDuplicates(this.#searchHost(r, `select ${quoteIdent(String(column))} from dataset`), column, options.threshold ?? 0.95, options.k ?? 10, options.signal));
  }

  /**
   * Standalone DuckDB SQL that reads this version (every column, local file paths), for engines
   * other than this handle's session, such as a pipeline's. With `since` (a version id), only
   * the rows added after that version (by row id: updated rows are not "added"). With
   * `fragments` (ids from `fragmentRows()`), only those fragments' rows. With `ordered`, rows
   * come in fragment order, then file order (a sort: per fragment, it holds one fragment's rows);
   * without it, in whatever order DuckDB's plan gives, which may vary between runs.
   *
   * Caveats: the paths stay valid while the handle is open; objects of a remote store are
   * fetched into a local cache first. A writable handle reads its branch's newest version.
   *
   * @example
   * const sql = await ds.scanSql();
   * await con.run(`create table snapshot as ${sql}`); // con = await quiver.connect()
   */
  async scanSql(options: { since?: string; fragments?: readonly string[]; ordered?: boolean } = {}): Promise<string> {
    this.#check(false);
    return this.#mutex.run(async () => {
      await this.#syncHead();
      const m = options.fragments ? fragmentsOf(this.#manifest, options.fragments) : this.#manifest;
      const current = await versionSql((keys) => this.#cache.paths(keys), m, { large: 'all', ordered: options.ordered });
      return options.since === undefined ? current : this.#addedSince(current, String(options.since));
    });
  }

  /** `scan` less the rows whose row id version `since` has (read from its small-column files only). */
  async #addedSince(scan: string, since: string): Promise<string> {
    const old = await readManifest(this.store, (await readCommit(this.store, since)).manifest);
    return `SELECT * FROM (${scan}) AS cur WHERE row_id NOT IN (SELECT row_id FROM (${await versionSql((keys) => this.#cache.paths(keys), old, { large: 'none' })}) AS old)`;
  }

  /**
   * The fragments of this version in the order `scanSql()` reads them, each with its live rows
   * (its rows less its deletes) and the keys of its files, from the manifest alone (no data file
   * is read). With `scanSql({ fragments: [id] })` per fragment, another process (a cluster
   * worker) reads the version piece by piece; the pieces, in this order, are the whole scan.
   */
  async fragmentRows(): Promise<{ version: string; fragments: { id: string; rows: number; key: string; deletes?: string }[] }> {
    this.#check(false);
    return this.#mutex.run(async () => {
      await this.#syncHead();
      const fragments = this.#manifest.fragments.map((f) => ({
        id: f.id, rows: f.rows - (f.deletes?.count ?? 0), key: f.key, ...(f.deletes && f.deletes.count > 0 ? { deletes: f.deletes.key } : {}),
      }));
      return { version: this.#head.id, fragments };
    });
  }

  /**
   * Rows [offset, offset + rows) of one fragment as `scanSql({ fragments: [fragment], ordered:
   * true, since })` reads them, as Arrow of the same columns and types, reading only what the
   * slice needs: the fragment's small-column file and deletes (large columns as NULL) give the
   * slice's row ids and small values, then only those rows' large values are read by byte range
   * (LargeValues, as a query's result rows read theirs), never a whole large-column file. On a
   * local folder (DuckDB reads the files in place) or with no large column, the scan is sliced as it is.
   * For a cluster worker reading its job's slice of a fragment (pipeline dataset sources).
   */
  async readSlice(options: { fragment: string; since?: string; offset: number; rows: number }): Promise<arrow.Table> {
    this.#check(false);
    const { fragment, since, offset, rows } = options;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(rows) || rows < 0) {
      throw new QuiverError('invalid_input', `dataset: readSlice needs whole offset and rows >= 0, got ${offset} and ${rows}`, { offset, rows });
    }
    return this.#lanes.run(async (lane) => {
      const { manifest } = await this.#pin();
      const m = fragmentsOf(manifest, [fragment]);
      const paths = (keys: readonly string[]) => this.#cache.paths(keys);
      const large = this.store.localPath ? [] : m.schema.filter((c) => isLarge(c.type)).map((c) => c.name);
      let scan = await versionSql(paths, m, { large: large.length ? 'none' : 'all', ordered: true });
      if (since !== undefined) scan = await this.#addedSince(scan, since);
      const session = lane.session;
      const slice = `SELECT * FROM (${scan}) LIMIT ${rows} OFFSET ${offset}`;
      if (large.length === 0) return session.arrow(slice);
      // The slice is read once into a temp table (insertion order kept), its ids give the large
      // values read by range (loadLargeTable: row_id, its place, the values), and the rows come
      // back with each large column replaced, in the slice's order. (The slice's SQL run twice, for
      // its ids and then joined to their values, gave no rows for the last slice of a 54-row fragment
      // with deletes, offset 52: tests/pipeline/datasets/read-slice.test.ts.)
      const rowsTable = '__quiver_slice_rows'; // a lane serves one read at a time: one name per session does
      const table = '__quiver_slice';
      try {
        await session.run(`CREATE OR REPLACE TEMP TABLE ${rowsTable} AS ${slice}`);
        const ids = (await session.all(`SELECT row_id FROM ${rowsTable}`)).rows.map((r) => r.row_id as bigint);
        await loadLargeTable({ session, manifest: m, large: this.#large }, table, large, ids);
        const replace = large.map((c) => `l.${quoteIdent(c)} AS ${quoteIdent(c)}`).join(', ');
        return await session.arrow(`SELECT s.* REPLACE (${replace}) FROM ${rowsTable} s JOIN ${table} l ON l.row_id = s.row_id ORDER BY l.${LARGE_TABLE_POS}`);
      } finally {
        await session.run(`DROP TABLE IF EXISTS ${rowsTable}`);
        await session.run(`DROP TABLE IF EXISTS ${table}`);
      }
    });
  }

  /** The search executor's view of this handle, pinned to the read's version for one query. */
  #searchHost(r: Read, sql: string): SearchHost {
    this.#checkSql(sql);
    const session = r.lane.session;
    return {
      session,
      manifest: r.manifest,
      // Everything derived from the view (live rows, text statistics, candidate maps) is the scope's own.
      versionKey: this.#scope ? `${r.head.manifest}|${this.#scope.where}` : r.head.manifest,
      scoped: this.#scope !== null,
      bounds: this.#bounds,
      store: this.store,
      large: this.#large,
      prepareView: async (q, large) => void (await this.#view(r, q, large)),
      rowsSql: (q, ids) => this.#rowsSql(r, q, ids),
      paths: (keys) => this.#cache.paths(keys),
      referenced: (q) => this.#referencedOf(session, q),
    };
  }

  /** A SELECT of the rows with these ids (columns as `sql` needs them), over only the files whose row-id range holds one. */
  async #rowsSql(r: Read, sql: string, ids: readonly bigint[]): Promise<string> {
    const needed = await this.#referencedOf(r.lane.session, sql);
    const holds = (f: { rowIdMin: string; rowIdMax: string }) => {
      const lo = BigInt(f.rowIdMin);
      const hi = BigInt(f.rowIdMax);
      return ids.some((id) => id >= lo && id <= hi);
    };
    const m = r.manifest;
    const subset: Manifest = { ...m, fragments: m.fragments.filter(holds), groups: Object.fromEntries(Object.entries(m.groups).map(([c, files]) => [c, files.filter(holds)])) };
    const view = await versionSql((keys) => this.#cache.paths(keys), subset, { large: needed, ...(this.#scope ? { where: this.#scope.where } : {}) });
    return `SELECT * FROM (${view}) WHERE row_id IN (${ids.length ? ids.join(', ') : 'NULL'})`;
  }

  /**
   * Streams this version's rows to training as columnar batches: optionally filtered, shuffled
   * (a seeded function of version, seed and epoch), sharded over ranks and workers, resumable
   * with `state()`, images decoded to fixed-shape tensors. The stream pins the version the
   * handle is at now. Bad options throw here; a bad `where` fails the first batch (or `info()`).
   * See docs/training.md.
   *
   * @example
   * const stream = ds.stream({ columns: ['image', 'rating'], where: 'rating >= 4', shuffle: { seed: 7 },
   *   decode: { image: { width: 224, height: 224 } } });
   * for await (const batch of stream) train(batch);
   */
  stream(options: StreamOptions = {}): Stream {
    this.#check(false);
    const version = this.#head.id;
    const selectRowIds = async (where: string | undefined) => {
      const pinned = await Dataset.open(this.store, { version, write: this.#writeOptions });
      pinned.#scope = this.#scope;
      try {
        return await pinned.#selectRowIds(where);
      } finally {
        await pinned.close();
      }
    };
    return new Stream({ store: this.store, version, manifest: this.#manifest, selectRowIds }, options);
  }

  /** The live row ids where `where` holds, ascending (DuckDB reads only the columns it names). */
  async #selectRowIds(where: string | undefined): Promise<BigInt64Array> {
    return this.#mutex.run(async () => {
      await this.#checkScopedWhere(where);
      const cond = where === undefined ? 'true' : await checkedPredicate(await this.#versionContext(), this.#manifest, where, [], 'stream: where');
      const sql = `SELECT row_id FROM dataset WHERE ${cond} ORDER BY row_id`;
      const ids = (await (await this.#view(await this.#writerRead(), sql)).arrow(sql, [], USER_QUERY)).getChild('row_id');
      return ids ? BigInt64Array.from(ids.toArray() as BigInt64Array) : new BigInt64Array(0);
    });
  }

  /** The versions of this handle's history (first parents), oldest first. */
  async versions(): Promise<Commit[]> {
    this.#check(false);
    await this.#mutex.run(() => this.#syncHead());
    const out: Commit[] = [];
    let c: Commit | undefined = this.#head;
    while (c) {
      out.push(c);
      c = c.parents.length ? await readCommit(this.store, c.parents[0]) : undefined;
    }
    return out.reverse();
  }

  /** The DuckDB session, file paths and caches the versioning operations work with. */
  async #versionContext(): Promise<VersionContext> {
    this.#session ??= await (await (this.#scope?.engine() ?? this.runtime.engine())).session();
    return this.#contextOf(this.#session);
  }

  /** The versioning context over one of this handle's sessions (the writer's or a read lane's). */
  #contextOf(session: Session): VersionContext {
    return { store: this.store, session, paths: (keys) => this.#cache.paths(keys), deletesCache: this.#deletesCache, fragmentRows: this.#fragmentRows, rowLookup: this.#rowLookup, ...(this.#scope ? { rowFilter: this.#scope.where } : {}) };
  }

  /**
   * Names the rows the next update reads: the head and an epoch that every other change of
   * them (a staged update or delete, a failed commit) moves. Caller holds the mutex.
   */
  #workingToken(): string {
    // Not the count of staged fragments: appending rows moves no row that was looked up, so an
    // upsert's matched rows stay valid while its new records are staged beside them.
    return `${this.#head.id}/${this.#workingEpoch}/${this.#pendingOps.length}`;
  }

  /** Stages a planned row change: applies it to the working manifest now, and to the branch head at commit. */
  async #stageRowWrite(w: RowWrite, ctx: VersionContext, base: Manifest): Promise<void> {
    this.#workingEpoch++;
    const op: PendingOp = (m, store) => applyRowWrite(store ? { ...ctx, store } : ctx, w, m);
    this.#working = (await op(base)).manifest;
    this.#workingStaged = this.#staging.written.length;
    this.#pendingOps.push(op);
    this.#seq++;
  }

  /** The manifest the next update or delete reads: the head with pending changes applied. */
  async #workingManifest(): Promise<Manifest> {
    const written = this.#staging.written;
    if (this.#workingStale) {
      // An op was staged without being applied (a failed commit's patches): apply them all again.
      await this.#syncHead();
      let m = withFragments(this.#manifest, written);
      for (const op of this.#pendingOps) m = (await op(m)).manifest;
      this.#working = this.#pendingOps.length ? m : null;
      this.#workingStaged = written.length;
      this.#workingStale = false;
    }
    if (this.#working) {
      if (written.length > this.#workingStaged) this.#working = withFragments(this.#working, written.slice(this.#workingStaged));
      this.#workingStaged = written.length;
      return this.#working;
    }
    await this.#syncHead();
    return withFragments(this.#manifest, written);
  }

  /**
   * Stages new values for rows; `commit` publishes them. Three forms:
   * - `{ where, params?, set }` or `{ rowIds, set }`: the same values for every matched row;
   * - `{ rows: [{ row_id, column: value, … }, …] }`: per-row values, each row naming only the
   *   columns it changes. Validated at once (a row id twice in one call, an unknown column or a
   *   bad value throws and stages nothing), resolved at commit in one pass for every row staged
   *   since the last commit: a stream of one-row updates costs one small fragment per commit.
   *   The row ids are looked up on the call (concurrent calls share one lookup): one that
   *   matches no live row fails the call with `not_found` (`details.rowIds`), staging none of it.
   *
   * Only the changed rows' small columns are written again (a new fragment under the same row
   * ids); images and embeddings stay where they are unless the update names them, in which case
   * the files holding those rows are rewritten (copy-on-write). Rows appended on this handle and
   * not yet committed can be updated too. If another writer commits a change to the same rows
   * first, `commit` fails with `conflict` (nothing is written).
   *
   * @example
   * await ds.update({ where: 'row_id = $1', params: [id], set: { rating: 5 } });
   * await ds.update({ rows: [{ row_id: id, rating: 5 }, { row_id: id2, rating: 2, thumbs: false }] });
   * await ds.commit('feedback for 2026-11-22');
   * @returns the number of rows matched (for `rows`: staged).
   */
  async update(spec: UpdateSpec | RowsUpdate): Promise<{ rows: number }> {
    this.#check(true);
    if (spec && typeof spec === 'object' && 'rows' in spec) {
      const patches = rowPatchesOf(this.#manifest.schema, spec.rows);
      // Counted first: once staged, the map may become the handle's own and take in later calls' patches.
      const rows = patches.size;
      await this.#stagePatches(patches);
      return { rows };
    }
    return this.#mutex.run(async () => {
      await this.#checkScopedWhere(spec?.where);
      await this.#materializePatches();
      const { ctx, base } = await this.#planBase();
      const w = await planUpdate(ctx, base, spec);
      if (w) await this.#stageRowWrite(w, ctx, base);
      return { rows: w ? [...w.hide.values()].reduce((n, l) => n + l.length, 0) : 0 };
    });
  }

  /**
   * Inserts records whose key column `on` holds a new value and updates the rows holding an
   * existing one (only the columns a record names); `commit` publishes both, as one version.
   * The key column must be a small column unique per row: a key twice in one call or null is
   * `invalid_input`, a key held by several rows is `conflict`, and either stages nothing.
   * Rows appended on this handle and not yet committed are matched too.
   *
   * @example
   * await ds.upsert([{ request_id: 'r1', rating: 5 }, { request_id: 'r2', rating: 1 }], { on: 'request_id' });
   * await ds.commit('feedback 14:00');
   * @returns how many records update existing rows and how many are new.
   */
  async upsert(records: RecordInput | readonly RecordInput[], options: { on: string }): Promise<{ updated: number; inserted: number; rowIds: bigint[] }> {
    this.#check(true);
    const list = Array.isArray(records) ? (records as readonly RecordInput[]) : [records as RecordInput];
    const on = options?.on;
    const def = this.#manifest.schema.find((c) => c.name === on);
    if (!def || isLarge(def.type)) throw new QuiverError('invalid_input', `upsert: "on" must name a small column of the dataset, got ${String(on)}`, { column: on });
    return this.#mutex.run(async () => {
      // A staged patch of the key column must land before keys are looked up.
      if ([...this.#rowPatches.values()].some((p) => on in p)) await this.#materializePatches();
      const { ctx, base } = await this.#planBase();
      const keys = [...new Set(list.map((r) => keyValue((r as Record<string, unknown>)[on])).filter((k) => k !== null))];
      // Read from the files where they can answer; the commit then finds the matched rows by id.
      const fromFiles = keys.length ? await rowsByKey(ctx, base, on, new Set(keys)) : null;
      const existing = fromFiles ?? new Map<unknown, bigint[]>();
      // The rows found are live in the working manifest: the commit's patch of them needs no
      // second lookup by id (5k ids over 100k rows: ~10 ms at commit).
      if (fromFiles) {
        const live: LiveRows = new Map();
        for (const ids of fromFiles.values()) for (const id of ids) live.set(id, null);
        this.#keepChecked(live);
      }
      if (keys.length && !fromFiles) {
        // The matched rows whole, as a patch plans on them: the commit reuses them instead of
        // looking the same rows up again by id.
        await createScopedView(ctx, '__quiver_upsert', base, { large: 'none', fragmentColumn: FRAGMENT_COL });
        const cols = ['row_id', FRAGMENT_COL, ...smallColumnNames(base)].map(quoteIdent).join(', ');
        const q = `SELECT ${cols}, ${quoteIdent(on)} AS __quiver_key FROM __quiver_upsert WHERE ${quoteIdent(on)} IN (SELECT unnest($1::${sqlType(def.type)}[]))`;
        const found = (await ctx.session.all(q, [keys as unknown as Param])).rows;
        this.#keepChecked(new Map());
        for (const r of found) {
          const k = keyValue(r.__quiver_key);
          delete r.__quiver_key;
          existing.set(k, [...(existing.get(k) ?? []), r.row_id as bigint]);
          this.#checkedRows!.rows.set(r.row_id as bigint, r);
        }
      }
      const { patches, inserts } = splitUpsert(this.#manifest.schema, list, on, existing);
      const batch = inserts.length ? columnize(this.#manifest.schema, inserts, new BigInt64Array(inserts.length)) : null;
      const rowIds = [...patches.keys()];
      const updated = patches.size;
      if (batch) rowIds.push(...(await this.#stageBatch(batch, inserts.length)));
      this.#rowPatches = mergedPatches(this.#rowPatches, patches);
      this.#seq++;
      return { updated, inserted: inserts.length, rowIds };
    });
  }

  /**
   * Stages `update({ rows })` patches once their row ids are found live, so a bad row id fails
   * its own call and never a group commit other callers share. Calls made while the handle is
   * busy (a publish in flight) are checked together, in one lookup.
   */
  #stagePatches(patches: RowPatches): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#patchChecks.push({ patches, resolve, reject });
      if (this.#patchChecks.length === 1) void this.#mutex.run(() => this.#checkPatches());
    });
  }

  /** Looks up the row ids of every queued patch call in one pass; stages the calls whose ids all match. Caller holds the mutex. */
  async #checkPatches(): Promise<void> {
    const calls = this.#patchChecks.splice(0);
    try {
      const { ctx, base } = await this.#planBase();
      // Loops, not spreads: a 10k-row update made five 10k-element arrays here (~3-5 ms cold, profiled).
      const unique = new Set<bigint>();
      for (const c of calls) for (const id of c.patches.keys()) if (!this.#rowPatches.has(id)) unique.add(id);
      const ids = [...unique];
      // Patchable sets (column-patch.ts) need only which rows are live, not their columns.
      const readsColumns = byColumnNames((set) => !largeOnly(base.schema, set) && !patchable(base, set));
      const columns = calls.some((c) => {
        for (const set of c.patches.values()) if (readsColumns(set)) return true;
        return false;
      });
      const live = ids.length ? await liveRowIds(ctx, base, ids, columns) : new Map();
      this.#keepChecked(live);
      for (const call of calls) {
        const missing: bigint[] = [];
        for (const id of call.patches.keys()) if (!live.has(id) && !this.#rowPatches.has(id)) missing.push(id);
        if (missing.length) {
          call.reject(rowIdsNotFound(missing));
          continue;
        }
        this.#rowPatches = mergedPatches(this.#rowPatches, call.patches);
        this.#seq++;
        call.resolve();
      }
    } catch (e) {
      for (const call of calls) call.reject(e);
    }
  }

  /** Keeps rows looked up over the working manifest for planning the staged patches at commit, while it stays this one. */
  #keepChecked(live: LiveRows): void {
    // A fresh lookup is kept as it is (the caller hands it over), not copied entry by entry.
    if (this.#checkedRows?.token !== this.#workingToken()) {
      this.#checkedRows = { token: this.#workingToken(), rows: live };
      return;
    }
    for (const [id, row] of live) this.#checkedRows.rows.set(id, row);
  }

  /**
   * Stages fragments another process wrote for this dataset (a cluster worker, through
   * `writeFragmentFiles` in fragment-files.ts) under `schema`, so the next commit publishes them
   * with everything else staged: one ref move. Fails with `conflict` if the schema changed since.
   */
  async stageWritten(written: readonly WrittenFragment[], schema: readonly ColumnDef[]): Promise<void> {
    this.#check(true);
    return this.#mutex.run(async () => {
      if (this.#staging.rows === 0) await this.#syncHead({ byHead: true });
      const theirs = stableStringify(schema);
      if (this.#staging.rows === 0) this.#stagedSchema = stableStringify(this.#manifest.schema);
      if (theirs !== this.#stagedSchema) throw new QuiverError('conflict', 'dataset: fragments written elsewhere have another schema than the branch (it changed meanwhile); nothing was staged', {});
      this.#staging.written.push(...written);
      this.#seq++;
    });
  }

  /**
   * @internal For writes other processes make (row-merge.ts): runs `fn` over the versioning
   * context and the manifest of this handle's version, under the handle's mutex, so the temp
   * tables of two calls never meet in its one session.
   */
  async withVersionBase<T>(fn: (ctx: VersionContext, m: Manifest) => Promise<T>): Promise<T> {
    this.#check(false);
    return this.#mutex.run(async () => {
      await this.#syncHead();
      return fn(await this.#versionContext(), this.#manifest);
    });
  }

  /** @internal Stages a change whose files other processes wrote (row-merge.ts); the next commit applies it to the branch head. */
  async stageChange(op: PendingOp): Promise<void> {
    this.#check(true);
    return this.#mutex.run(async () => {
      this.#pendingOps.push(op);
      this.#workingStale = true;
      this.#seq++;
    });
  }

  /** Gives a validated batch row ids and stages it; returns the ids. Caller holds the mutex. */
  async #stageBatch(batch: ColumnizedBatch, rows: number): Promise<bigint[]> {
    const schema = stableStringify(this.#manifest.schema);
    if (this.#staging.rows === 0) this.#stagedSchema = schema;
    else checkSchema(this.#manifest, this.#stagedSchema);
    const ids = await this.#rowIds.take(rows);
    const idValues = Array.from(ids);
    setRowIds(batch, idValues);
    // take() hands out increasing ids.
    await this.#staging.add(batch, [idValues[0], idValues[idValues.length - 1]]);
    this.#seq++;
    return idValues;
  }

  /** The manifest an update or delete plans on, with appended rows written so it sees them. Caller holds the mutex. */
  async #planBase(): Promise<{ ctx: VersionContext; base: Manifest }> {
    await this.#staging.flush();
    return { ctx: await this.#versionContext(), base: await this.#workingManifest() };
  }

  /**
   * Stages the deletion of the rows a SQL predicate (or a list of row ids) selects; `commit`
   * publishes it. Writes only a small file of deleted row ids per touched fragment: no data
   * file is rewritten, and earlier versions keep the rows. Rows appended on this handle and
   * not yet committed can be deleted too.
   *
   * @example
   * await ds.delete({ where: "user_id = 'u9'" });
   * await ds.commit('takedown');
   * @returns the number of rows matched.
   */
  async delete(sel: RowSelector): Promise<{ rows: number }> {
    this.#check(true);
    return this.#mutex.run(async () => {
      await this.#checkScopedWhere(sel?.where);
      await this.#materializePatches();
      const { ctx, base } = await this.#planBase();
      const w = await planDelete(ctx, base, sel);
      if (w) await this.#stageRowWrite(w, ctx, base);
      return { rows: w ? [...w.hide.values()].reduce((n, l) => n + l.length, 0) : 0 };
    });
  }

  /**
   * Adds a column and commits the new schema. Existing rows read NULL, or `default`, or `expr`
   * (a SQL expression over their columns, evaluated now); a required column needs one of
   * those. Only the new column's files are written (none when it starts NULL); older versions
   * keep their schema. Refuses while changes are staged, and a name that files still hold for
   * a dropped or renamed column (until compaction rewrites them).
   *
   * @example
   * await ds.addColumn('siglip_emb', 'emb-768');                       // NULL until backfilled
   * await ds.addColumn('reviewed', 'bool', { default: false });
   * await ds.addColumn('liked', 'bool', { expr: 'rating >= 4' });
   */
  async addColumn(name: string, type: string | TypeSpec, options: AddColumnOptions = {}): Promise<Commit> {
    const def = parseColumn(name, type);
    return this.#schemaChange(`add column ${name}`, { add: name, type: typeName(def.type) }, async (ctx, m) => planAddColumn(ctx, m, def, options));
  }

  /**
   * Drops a column from the next version and commits; no data is written (older versions keep
   * the column, vacuum frees its files once no version needs them). Its indexes go with it.
   *
   * @example
   * await ds.dropColumn('old_emb');
   */
  async dropColumn(name: string): Promise<Commit> {
    return this.#schemaChange(`drop column ${name}`, { drop: name }, async (_ctx, m) => ({ manifest: planDropColumn(m, name), bytes: 0 }));
  }

  /**
   * Renames a small column and commits; no data is written (files keep the old name and the
   * version maps it). Indexes on the column are dropped. A large column (image, embedding,
   * binary) cannot be renamed: add a new one and backfill it.
   *
   * @example
   * await ds.renameColumn('thumbs', 'thumbs_up');
   */
  async renameColumn(from: string, to: string): Promise<Commit> {
    return this.#schemaChange(`rename column ${from} to ${to}`, { rename: from, to }, async (_ctx, m) => ({ manifest: planRenameColumn(m, from, to), bytes: 0 }));
  }

  /**
   * Widens a number column's type (int32 → int64, float32 → float64, …) and/or relaxes required
   * to nullable, and commits; no data is written. Narrowing or changing kind is `invalid_input`.
   *
   * @example
   * await ds.alterColumn('rating', { type: 'int64', nullable: true });
   */
  async alterColumn(name: string, options: AlterColumnOptions): Promise<Commit> {
    return this.#schemaChange(`alter column ${name}`, { alter: name, ...(options.type !== undefined ? { type: String(options.type) } : {}), ...(options.nullable ? { nullable: true } : {}) }, async (_ctx, m) => ({ manifest: planAlterColumn(m, name, options) }));
  }

  /** Plans a schema change on the head and publishes it; planned again if the branch moves first. */
  async #schemaChange(message: string, meta: Record<string, unknown>, plan: (ctx: VersionContext, m: Manifest) => Promise<{ manifest: Manifest; bytes?: number }>): Promise<Commit> {
    this.#check(true);
    if (this.#hasStaged()) throw new QuiverError('invalid_input', 'schema: commit or discard() staged changes before changing the schema');
    return this.#mutex.run(async () => {
      for (let attempt = 0; ; attempt++) {
        await this.#syncHead();
        const planned = this.#manifest;
        const r = await plan(await this.#versionContext(), planned);
        // A fill covers the rows of the head it was planned on: on any other head, plan again.
        const op: PendingOp = (m) => {
          if (m !== planned) throw new QuiverError('conflict', 'schema: the branch moved while the change was planned');
          return { manifest: r.manifest, stats: { bytesWritten: r.bytes ?? 0 } };
        };
        try {
          return await this.#publish(message, [op], { schema: meta }, 'schema');
        } catch (e) {
          if (!isQuiverError(e, 'conflict') || attempt + 1 >= this.#writeOptions.commitRetriesMax) throw e;
        }
      }
    });
  }

  /**
   * Commits, on this branch, a version keeping only the rows where `predicate` is true (rows
   * where it is false or NULL are deleted). No data is copied: only deletes files are written.
   * Fails with `invalid_input` when appends, updates or deletes are staged.
   *
   * @example
   * const ft = await ds.branch('ft-v12');
   * await ft.curate("rating >= 4 and not list_contains(tags, 'unsafe')", 'curated for fine-tune');
   */
  async curate(predicate: string, message: string, params: readonly Param[] = [], options: { meta?: Record<string, unknown> } = {}): Promise<Commit> {
    this.#check(true);
    if (typeof predicate !== 'string' || !predicate.trim()) throw new QuiverError('invalid_input', 'versioning: curate needs a SQL predicate');
    if (this.#hasStaged()) throw new QuiverError('invalid_input', 'versioning: commit or discard() staged changes before curate');
    // Checked alone first, so a mistake is named in the user's terms, not in the wrapper's.
    const checked = await this.#mutex.run(async () => checkedPredicate(await this.#versionContext(), await this.#workingManifest(), predicate, params, 'curate: predicate'));
    const { rows } = await this.delete({ where: `NOT coalesce(${checked}, false)`, params });
    if (rows === 0) {
      return this.#mutex.run(() => this.#publish(message, [(m) => ({ manifest: m, stats: {} })], { ...options.meta, ...curateMeta(predicate, params) }, 'curate'));
    }
    return this.#mutex.run(async () => {
      try {
        return await this.#publish(message, [...this.#pendingOps], { ...options.meta, ...curateMeta(predicate, params) }, 'curate');
      } finally {
        this.#pendingOps.length = 0;
        this.#working = null;
        this.#workingStale = false;
        await this.#releaseIfIdle();
      }
    });
  }

  /**
   * Brings a curated branch up to date with `source` (a branch, tag or commit): merges it in,
   * then passes the rows `source` added or changed since the branches split through the
   * branch's latest `curate` predicate, deleting those it rejects, in a 'curate' commit. So
   * "training set v13" is v12's rule over today's data: rows the rule dropped stay dropped
   * unless `source` changed them into rows it keeps. Returns the merge and the curate commit
   * (null when no row needed removing). Cell conflicts default to `onConflict: 'theirs'`.
   * Fails with `invalid_input` when the branch was never curated.
   *
   * @example
   * const ft = await ds.checkout('ft-v12');
   * const { merge, rejected } = await ft.sync('main');
   */
  async sync(source: string, options: Omit<MergeOptions, 'dryRun'> = {}): Promise<{ merge: MergeResult; curate: Commit | null; rejected: number }> {
    this.#check(true);
    const rule = await this.#curateRule();
    const merge = await this.merge(source, { onConflict: 'theirs', ...options });
    if (merge.kind === 'up-to-date') return { merge, curate: null, rejected: 0 };
    return this.#mutex.run(async () => {
      const ctx = await this.#versionContext();
      const theirs = await readManifest(this.store, (await resolveCommit(this.store, source)).manifest);
      const from = merge.base ? await readManifest(this.store, (await readCommit(this.store, merge.base)).manifest) : emptyManifest(theirs.schema);
      const t = await buildDiffTable(ctx, '__quiver_sync', from, theirs);
      const ids = (await ctx.session.all('SELECT row_id FROM __quiver_sync WHERE in_b')).rows.map((r) => r.row_id as bigint);
      await dropDiffTable(ctx, t);
      if (ids.length === 0) return { merge, curate: null, rejected: 0 };
      await this.#syncHead();
      const m = this.#manifest;
      const where = await checkedPredicate(ctx, m, rule.predicate, rule.params, 'sync: curate predicate', true);
      await idsTable(ctx, '__quiver_sync_ids', ids);
      const rows = (await ctx.session.all(`SELECT row_id FROM __quiver_target WHERE row_id IN (SELECT id FROM __quiver_sync_ids) AND NOT coalesce(${where}, false)`, rule.params)).rows;
      if (rows.length === 0) return { merge, curate: null, rejected: 0 };
      const w = await planDelete(ctx, m, { rowIds: rows.map((r) => r.row_id as bigint) });
      const meta = { ...curateMeta(rule.predicate, rule.params), sync: source };
      const curate = await this.#publish(`sync ${source} through curate predicate`, [(x) => applyRowWrite(ctx, w!, x)], meta, 'curate');
      return { merge, curate, rejected: rows.length };
    });
  }

  /** The predicate and parameters of the latest `curate` on this branch's history (first parents). */
  async #curateRule(): Promise<{ predicate: string; params: Param[] }> {
    const history = (await this.versions()).reverse();
    for (const c of history) {
      const meta = c.meta as { curate?: unknown; curateParams?: unknown[] } | undefined;
      if (c.operation === 'curate' && typeof meta?.curate === 'string') return { predicate: meta.curate, params: decodeParams(meta.curateParams ?? []) };
    }
    throw new QuiverError('invalid_input', `versioning: branch "${this.branchName}" was never curated; sync passes new rows through its curate predicate`);
  }

  /**
   * Creates a branch at this handle's version (or at `from`: a branch, tag or commit id) and
   * returns a writable handle on it. O(1): one small ref object is written; every data file is
   * shared until one side changes it. Fails with `already_exists` when the name is taken.
   *
   * @example
   * const ft = await ds.branch('ft-v12');
   * const fix = await ds.branch('hotfix', { from: 'release-3' });
   */
  async branch(name: string, options: { from?: string } = {}): Promise<Dataset> {
    this.#check(false);
    return this.#mutex.run(async () => {
      let c = this.#head;
      let m = this.#manifest;
      if (options.from !== undefined) {
        c = await resolveCommit(this.store, options.from);
        m = await readManifest(this.store, c.manifest);
      } else if (this.branchName !== null) {
        await this.#syncHead();
        c = this.#head;
        m = this.#manifest;
      }
      await createRef(this.store, 'branch', name, c.id);
      return new Dataset(this.store, name, c, m, this.#writeOptions, this.runtime);
    });
  }

  /**
   * Every branch of the dataset with the commit id it points at now, sorted by name (read from
   * the store, so other writers' branches are included).
   *
   * @example
   * for (const b of await ds.branches()) console.log(b.name, b.commit);
   */
  async branches(): Promise<{ name: string; commit: string }[]> {
    this.#check(false);
    return listRefs(this.store, 'branch');
  }

  /**
   * Deletes a branch ref. Its data stays as long as another branch, tag or retained version
   * reaches it (vacuum decides). Refuses this handle's own branch and the default branch.
   *
   * @example
   * await ds.deleteBranch('experiment');
   */
  async deleteBranch(name: string): Promise<void> {
    this.#check(false);
    if (name === this.branchName || name === DEFAULT_BRANCH) throw new QuiverError('invalid_input', `versioning: cannot delete branch "${name}" (the default branch or this handle's own)`, { name });
    if (!(await readRef(this.store, 'branch', name))) throw new QuiverError('not_found', `versioning: no branch "${name}"`, { name });
    await this.store.delete(refKey('branch', name));
  }

  /**
   * Tags this handle's version (or `at`: a branch, tag or commit id) with an immutable name.
   * Fails with `already_exists` when the tag exists.
   *
   * @example
   * await ds.tag('release-3');
   * const r3 = await quiver.open(url, { tag: 'release-3' });
   */
  async tag(name: string, options: { at?: string } = {}): Promise<Commit> {
    this.#check(false);
    return this.#mutex.run(async () => {
      let c = this.#head;
      if (options.at !== undefined) c = await resolveCommit(this.store, options.at);
      else if (this.branchName !== null) {
        await this.#syncHead();
        c = this.#head;
      }
      await createRef(this.store, 'tag', name, c.id);
      return c;
    });
  }

  /**
   * Every tag of the dataset with the commit id it names, sorted by name.
   *
   * @example
   * const r3 = (await ds.tags()).find((t) => t.name === 'release-3');
   */
  async tags(): Promise<{ name: string; commit: string }[]> {
    this.#check(false);
    return listRefs(this.store, 'tag');
  }

  /** Deletes a tag. Its data stays as long as a branch or retained version reaches it. */
  async deleteTag(name: string): Promise<void> {
    this.#check(false);
    if (!(await readRef(this.store, 'tag', name))) throw new QuiverError('not_found', `versioning: no tag "${name}"`, { name });
    await this.store.delete(refKey('tag', name));
  }

  /**
   * Opens another handle on the same dataset: a branch (writable), or a tag, commit id or time
   * (read-only). A string names a branch, else a tag, else a commit id. O(1) in the data size:
   * it reads one ref, one commit and one manifest.
   *
   * @example
   * const ft = await ds.checkout('ft-v12');
   * const r3 = await ds.checkout({ tag: 'release-3' });
   */
  async checkout(target: string | Omit<OpenOptions, 'storage' | 'write' | 'runtime'>): Promise<Dataset> {
    this.#check(false);
    if (typeof target === 'string') {
      if (validRefName(target) && (await readRef(this.store, 'branch', target))) return Dataset.open(this.store, { branch: target, write: this.#writeOptions, runtime: this.runtime });
      const c = await resolveCommit(this.store, target);
      return new Dataset(this.store, null, c, await readManifest(this.store, c.manifest), this.#writeOptions, this.runtime);
    }
    return Dataset.open(this.store, { ...target, write: this.#writeOptions, runtime: this.runtime });
  }

  /**
   * The rows added, removed and changed from version `from` to version `to` (each a branch,
   * tag or commit id; `to` defaults to this handle's version), by row id. Counts come at once;
   * `rows()` streams the rows in row id order, with old and new values of changed small
   * columns; changed large columns are flagged, and carry their old and new values too with
   * `{ largeValues: true }` (read per page of changed rows). `base` is the two versions' common
   * ancestor; `{ sinceBase: true }` diffs from it instead of from `from` (what `to` changed
   * since the branches split, as `git diff a...b`).
   *
   * Cost: files both versions share are never read; only fragments whose deletes differ and
   * large-column files on one side only are compared.
   *
   * @example
   * const d = await ds.diff('main', 'ft-v12');
   * console.log(d.counts.removed);
   * for await (const r of d.rows()) if (r.change === 'changed') console.log(r.rowId, r.columns);
   */
  async diff(from: string, to?: string, options: { sinceBase?: boolean; largeValues?: boolean } = {}): Promise<VersionDiff> {
    this.#check(false);
    return this.#mutex.run(async () => {
      const a0 = await resolveCommit(this.store, from);
      const b = to === undefined ? (await this.#syncHead(), this.#head) : await resolveCommit(this.store, to);
      const base = await mergeBase(this.store, a0.id, b.id);
      const a = options.sinceBase && base ? await readCommit(this.store, base) : a0;
      const ctx = await this.#versionContext();
      const ma = await readManifest(this.store, a.manifest);
      const mb = await readManifest(this.store, b.manifest);
      const t = await buildDiffTable(ctx, `__quiver_diff${++this.#diffCounter}`, ma, mb, { largeValues: options.largeValues });
      const live = { table: t, released: false };
      this.#liveDiffs.push(live);
      while (this.#liveDiffs.length > liveDiffsMax) {
        const oldest = this.#liveDiffs.shift()!;
        oldest.released = true;
        await dropDiffTable(ctx, oldest.table);
      }
      const counts = await diffCounts(ctx, t);
      const schema = schemaChanges(ma.schema, mb.schema);
      const mutex = this.#mutex;
      return {
        from: a.id,
        to: b.id,
        base,
        counts,
        schema,
        async *rows() {
          const it = diffRows(ctx, t);
          for (;;) {
            const next = await mutex.run(() => {
              if (live.released) throw new QuiverError('closed', `diff: this diff's rows were released: a handle keeps the rows of its last ${liveDiffsMax} diffs; call diff again`, { from: a.id, to: b.id });
              return it.next();
            });
            if (next.done) return;
            yield next.value;
          }
        },
      };
    });
  }

  /**
   * The commits reachable from this handle's version (or `from`), newest first, merges'
   * second parents included: id, message, time, parents, operation and stats of each.
   *
   * @example
   * for await (const c of ds.log()) console.log(c.time, c.message, c.stats.rowsAdded);
   */
  async *log(options: { from?: string; limit?: number } = {}): AsyncGenerator<Commit> {
    this.#check(false);
    let start = this.#head;
    if (options.from !== undefined) start = await resolveCommit(this.store, options.from);
    else await this.#mutex.run(() => this.#syncHead());
    yield* walkHistory(this.store, [options.from !== undefined ? start : this.#head], options.limit ?? Infinity);
  }

  /**
   * Merges another branch, tag or commit into this branch. Fast-forwards when this branch has
   * no commit the source lacks; otherwise merges three-way by row id from the common ancestor
   * and commits with two parents. A cell both sides changed to different values, or a row one
   * side deleted while the other changed it, is a conflict:
   * - `onConflict: 'fail'` (default): nothing is written; throws QuiverError `conflict` whose
   *   `details.conflicts` lists { rowId, column, base, ours, theirs }.
   * - `'ours'` / `'theirs'`: that side's value (or deletion) wins.
   * `dryRun: true` reports what would happen (kind, counts, conflicts) and writes nothing.
   *
   * Cost: theirs' new fragments that hold only new rows are shared, not copied; changed rows
   * are written again like updates. Refuses while this handle has staged changes.
   *
   * @example
   * const m = await ds.merge('experiment', { onConflict: 'theirs' });
   * console.log(m.kind, m.counts, m.conflicts.length);
   */
  async merge(source: string, options: MergeOptions = {}): Promise<MergeResult> {
    this.#check(true);
    const policy = options.onConflict ?? 'fail';
    if (!['fail', 'ours', 'theirs'].includes(policy)) throw new QuiverError('invalid_input', `versioning: onConflict must be 'fail', 'ours' or 'theirs', got ${String(policy)}`);
    if (this.#hasStaged()) throw new QuiverError('invalid_input', 'versioning: commit or discard() staged changes before merge');
    return this.#mutex.run(async () => {
      for (let attempt = 0; ; attempt++) {
        await this.#syncHead();
        const ours = this.#head;
        const theirs = await resolveCommit(this.store, source);
        const base = await mergeBase(this.store, ours.id, theirs.id);
        // Theirs is already in ours: nothing of theirs is missing here.
        if (base === theirs.id) return { kind: 'up-to-date', commit: null, base, conflicts: [], counts: { added: 0, removed: 0, changed: 0 }, dryRun: !!options.dryRun };
        if (base === ours.id) {
          // The branch becomes theirs, so what it gains is exactly the diff from ours to theirs.
          const theirsManifest = await readManifest(this.store, theirs.manifest);
          const counts = await this.#changeCounts(this.#manifest, theirsManifest);
          if (options.dryRun) return { kind: 'fast-forward', commit: theirs, base, conflicts: [], counts, dryRun: true };
          const ref = await readRef(this.store, 'branch', this.branchName!);
          if (ref && ref.commit === ours.id) {
            try {
              await moveRef(this.store, 'branch', this.branchName!, theirs.id, ref.etag);
              this.#head = theirs;
              this.#manifest = theirsManifest;
              return { kind: 'fast-forward', commit: theirs, base, conflicts: [], counts, dryRun: false };
            } catch (e) {
              if (!isQuiverError(e, 'conflict')) throw e;
            }
          }
          if (attempt + 1 >= this.#writeOptions.commitRetriesMax) throw new QuiverError('conflict', `versioning: could not fast-forward "${this.branchName}" (other writers kept winning)`);
          continue;
        }
        const done = await this.#mergeThreeWay(source, ours, theirs, base, policy, options);
        if (done) return done;
        if (attempt + 1 >= this.#writeOptions.commitRetriesMax) throw new QuiverError('conflict', `versioning: could not merge into "${this.branchName}" (the branch kept changing the merged rows)`);
      }
    });
  }

  /**
   * Prepares a three-way merge on `ours` (the handle's head) and publishes it, re-applied over
   * any appends or other single-parent commits that land meanwhile. Returns null when the branch
   * changed in a way that needs the merge prepared again. Caller holds the mutex.
   */
  async #mergeThreeWay(source: string, ours: Commit, theirs: Commit, base: string | null, policy: ConflictPolicy, options: MergeOptions): Promise<MergeResult | null> {
    const ctx = await this.#versionContext();
    const o = this.#manifest;
    const t = await readManifest(this.store, theirs.manifest);
    const b = base ? await readManifest(this.store, (await readCommit(this.store, base)).manifest) : emptyManifest(o.schema);
    await this.#checkMergeSchemas(source, b, o, t);
    const analysis = await analyzeMerge(ctx, b, o, t, policy);
    const result = (commit: Commit | null): MergeResult => ({ kind: 'merge', commit, base, conflicts: analysis.conflicts, counts: analysis.counts, dryRun: commit === null });
    if (options.dryRun) return result(null);
    if (analysis.conflicts.length && policy === 'fail') {
      const shown = analysis.conflicts.slice(0, 3).map((c) => `row ${c.rowId} ${c.column ?? '(deleted on one side)'}`).join(', ');
      throw new QuiverError('conflict', `versioning: merging "${source}" into "${this.branchName}" has ${analysis.conflicts.length} conflicts (${shown}${analysis.conflicts.length > 3 ? ', …' : ''}); pass onConflict 'ours' or 'theirs'`, { conflicts: analysis.conflicts });
    }
    const w = await writeMerge(ctx, b, o, t, analysis);
    let touched = false; // re-applied on a newer head, the merge found its rows changed there
    const op: PendingOp = async (m) => {
      try {
        return await applyRowWrite(ctx, w, m);
      } catch (e) {
        if (isQuiverError(e, 'conflict')) touched = true;
        throw e;
      }
    };
    try {
      const message = options.message ?? `merge ${source} into ${this.branchName}`;
      return result(await this.#publish(message, [op], { ...options.meta, source, onConflict: policy, conflicts: analysis.conflicts.length }, 'merge', { preparedOn: ours.id, extraParents: [theirs.id] }));
    } catch (e) {
      if (isQuiverError(e, 'conflict') && (touched || e.details.expected)) return null;
      throw e;
    }
  }

  /**
   * A three-way merge needs one schema on both sides. When they differ it fails with
   * `conflict`: `details.schemaConflicts` lists each column one side dropped while the other
   * changed its values since the base; `details.schema` has both sides' changes from the base.
   * Caller holds the mutex.
   */
  async #checkMergeSchemas(source: string, b: Manifest, o: Manifest, t: Manifest): Promise<void> {
    if (stableStringify(o.schema) === stableStringify(t.schema)) return;
    const ours = schemaChanges(b.schema, o.schema);
    const theirs = schemaChanges(b.schema, t.schema);
    const changedBy = async (m: Manifest) => {
      if (!b.schema.length) return {};
      return (await this.#changeCountsByColumn(b, m)).byColumn;
    };
    const schemaConflicts: { column: string; droppedBy: 'ours' | 'theirs' }[] = [];
    for (const [dropped, other, by] of [[ours.dropped, t, 'ours'], [theirs.dropped, o, 'theirs']] as const) {
      if (!dropped.length) continue;
      const changed = await changedBy(other);
      for (const c of dropped) if (changed[c]) schemaConflicts.push({ column: c, droppedBy: by });
    }
    const what = schemaConflicts.length
      ? schemaConflicts.map((c) => `column "${c.column}" was dropped on ${c.droppedBy === 'ours' ? 'this branch' : `"${source}"`} and updated on the other side`).join('; ')
      : 'the two sides have different schemas; make the same schema change on this branch first';
    throw new QuiverError('conflict', `versioning: cannot merge "${source}" into "${this.branchName}": ${what}`, { schemaConflicts, schema: { ours, theirs }, conflicts: [] });
  }

  /** Changed cells per column from `a` to `b`, over the columns both have. Caller holds the mutex. */
  async #changeCountsByColumn(a: Manifest, b: Manifest): Promise<DiffCounts> {
    const ctx = await this.#versionContext();
    const t = await buildDiffTable(ctx, '__quiver_change_counts', a, b);
    return diffCounts(ctx, t);
  }

  /** Rows added, removed and changed from manifest `a` to manifest `b` (what `diff` counts). Caller holds the mutex. */
  async #changeCounts(a: Manifest, b: Manifest): Promise<MergeResult['counts']> {
    const { added, removed, changed } = await this.#changeCountsByColumn(a, b);
    return { added, removed, changed };
  }

  /**
   * Rewrites small fragments (fewer than `fragmentRowsMin` live rows, when there are two or
   * more) and delete-heavy ones into fragments of up to `fragmentRowsMax` rows, with the
   * large-column files only their rows use. Commits the result as a new version with exactly
   * the same rows and values; earlier versions are untouched (vacuum frees their files once no
   * ref reaches them). Returns null when there is nothing to compact.
   *
   * Caveats: an update staged elsewhere on a compacted fragment fails at commit with `conflict`
   * (redo it on the new head). Runs automatically after a commit, see `WriteOptions.autoCompact`.
   *
   * @example
   * const c = await ds.compact();
   */
  async compact(options: CompactRunOptions = {}): Promise<Commit | null> {
    this.#check(true);
    if (this.#hasStaged()) throw new QuiverError('invalid_input', 'versioning: commit or discard() staged changes before compact');
    return this.#mutex.run(() => this.#compactLocked(options));
  }

  async #compactLocked(options: CompactRunOptions, plan: (m: Manifest, o: CompactOptions) => FragmentMeta[] = planCompaction): Promise<Commit | null> {
    await this.#syncHead();
    const picked = plan(this.#manifest, options);
    if (picked.length === 0) return null;
    const ctx = await this.#versionContext();
    const w = await writeCompaction(ctx, this.#manifest, picked, options.fragmentRowsMax ?? this.#writeOptions.fragmentRowsMax, options.onProgress);
    return this.#publish(`compact ${picked.length} fragments`, [(m) => applyCompaction(w, m)], { fragments: picked.length }, 'compact');
  }

  /**
   * Deletes data and metadata objects that no branch or tag reaches through its history and
   * that were last modified before `olderThan` (default: one hour ago), and `.tmp-*` leftovers
   * of killed writers. Never deletes what a ref still needs. The grace period protects commits
   * in flight: keep it longer than any write takes. On stores without modification times
   * (memory) every unreachable object counts as old.
   *
   * @example
   * await ds.deleteBranch('experiment');
   * const r = await ds.vacuum({ olderThan: new Date(Date.now() - 7 * 86_400_000) });
   */
  async vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    this.#check(false);
    return vacuum(this.store, options);
  }

  /**
   * Releases the handle's DuckDB session and cached files; waits for a call in progress first.
   * Staged, uncommitted changes are dropped. Later calls fail with `closed`; closing twice is a
   * no-op. Paths from `scanSql` stop being valid.
   *
   * @example
   * try { await ds.query('select 1'); } finally { await ds.close(); }
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#mutex.run(async () => undefined);
    this.#closed = true;
    // Staged rows die with the handle: their files become garbage for vacuum.
    await this.#pending.release().catch(() => undefined);
    await this.#lanes.close();
    this.#session?.close();
    await this.#cache.dispose();
  }
}

/** What a curate commit records: its predicate and parameters (bigints tagged, as JSON has none). */
/** Manifest `m` restricted to fragments `ids` and the large-column files overlapping their row ids; throws `not_found` for an id it lacks. */
function fragmentsOf(m: Manifest, ids: readonly string[]): Manifest {
  const wanted = new Set(ids);
  const fragments = m.fragments.filter((f) => wanted.has(f.id));
  if (fragments.length !== wanted.size) {
    const missing = ids.find((id) => !fragments.some((f) => f.id === id));
    throw new QuiverError('not_found', `dataset: this version has no fragment ${missing}`, { fragment: missing });
  }
  const overlaps = (g: GroupFileMeta) => fragments.some((f) => BigInt(g.rowIdMin) <= BigInt(f.rowIdMax) && BigInt(f.rowIdMin) <= BigInt(g.rowIdMax));
  return { ...m, fragments, groups: Object.fromEntries(Object.entries(m.groups).map(([c, files]) => [c, files.filter(overlaps)])) };
}

function curateMeta(predicate: string, params: readonly Param[]): Record<string, unknown> {
  return params.length ? { curate: predicate, curateParams: params.map((p) => (typeof p === 'bigint' ? { bigint: String(p) } : p)) } : { curate: predicate };
}

function decodeParams(list: unknown[]): Param[] {
  return list.map((p) => (p && typeof p === 'object' && 'bigint' in p ? BigInt((p as { bigint: string }).bigint) : p)) as Param[];
}

function resolveWriteOptions(w: WriteOptions = {}): Required<WriteOptions> {
  return {
    stagedBytesMax: w.stagedBytesMax ?? 256 * 1024 * 1024,
    fragmentRowsMax: w.fragmentRowsMax ?? 131_072,
    commitRetriesMax: w.commitRetriesMax ?? 64,
    autoCompact: w.autoCompact ?? {},
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
