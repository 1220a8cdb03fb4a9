// Tenant scoping: `ds.scoped({ tenant })` is a handle whose every read sees only one tenant's
// rows and whose writes may touch only them. Invariant: the filter lives inside the handle's
// `dataset` view (and every view a read makes: update/delete targets, upsert keys, diff), so
// no SQL over it, search or stream can see another row; SQL runs in the sandbox on a locked
// DuckDB instance that reads no file outside the dataset (query/sandbox.ts).

import { dirname } from 'node:path';
import type * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import { isLarge, type ColumnDef, type Commit, type RecordInput } from '../format/index.js';
import { Engine, quoteIdent, quoteString, sandboxLimits, type Param, type SandboxLimits, type SearchExplain } from '../query/index.js';
import type { ObjectStore } from '../storage/index.js';
import type { Stream, StreamOptions } from '../stream/index.js';
import { MEMORY_SHARES } from '../runtime/index.js';
import { WITH_SCOPE, type AppendResult, type CommitOptions, type Dataset, type HandleScope, type RowsUpdate, type VersionDiff } from './dataset.js';
import type { RowSelector, UpdateSpec } from './versioning/update.js';

/** A tenant: a value of the dataset's tenant column (text, or an integer column's number or bigint). */
export type TenantValue = string | number | bigint;

export interface ScopeOptions {
  /** The tenant whose rows the handle sees and writes. */
  tenant: TenantValue;
  /**
   * Bounds of each query: `true` for SANDBOX_DEFAULTS (10 s, 100,000 rows, 64 MiB), an object
   * to choose them, `false` for none. The SQL checks and the locked engine apply either way
   * (isolation depends on them). Default true.
   */
  sandbox?: boolean | SandboxLimits;
}

const TENANT_KINDS = new Set(['text', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/** Checks that `name` can be the tenant column of `schema` (a text or integer column) and returns it. */
export function checkTenantColumn(schema: readonly ColumnDef[], name: unknown): string {
  const def = schema.find((c) => c.name === name);
  if (!def) throw new QuiverError('invalid_input', `tenant: no column ${JSON.stringify(name)} in the schema`, { column: name });
  if (isLarge(def.type) || !TENANT_KINDS.has(def.type.kind)) {
    throw new QuiverError('invalid_input', `tenant: the tenant column must be text or an integer, got "${def.name}" of kind ${def.type.kind}`, { column: def.name });
  }
  return def.name;
}

/** The tenant as a SQL literal of its column's kind; throws `invalid_input` for a value that is not one. */
function tenantLiteral(def: ColumnDef, tenant: unknown): string {
  if (def.type.kind === 'text') {
    if (typeof tenant !== 'string' || tenant.includes('\0')) throw new QuiverError('invalid_input', `tenant: column "${def.name}" is text; the tenant must be a string without NUL, got ${String(tenant)}`);
    return quoteString(tenant);
  }
  if (!(typeof tenant === 'bigint' || (typeof tenant === 'number' && Number.isSafeInteger(tenant)))) {
    throw new QuiverError('invalid_input', `tenant: column "${def.name}" is an integer; the tenant must be an integer, got ${String(tenant)}`);
  }
  return `${BigInt(tenant)}::HUGEINT`;
}

/** Whether a record's tenant value is `tenant` (integers compare by value, number or bigint). */
function sameTenant(v: unknown, tenant: TenantValue): boolean {
  if (typeof tenant === 'string') return v === tenant;
  return (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint' ? BigInt(v) === BigInt(tenant) : false;
}

/** Folders a sandboxed DuckDB may read: the local store's own, and the process's cache of copies of remote objects. */
function readableDirectories(ds: Dataset): string[] {
  const store = ds.store;
  const dirs = [ds.runtime.objectCache.directory];
  if (store.localPath) dirs.push(dirname(store.localPath('_')));
  return dirs;
}

/**
 * Locked engines kept for new scoped handles, one per set of readable folders (a lock cannot be
 * widened later). Each is a DuckDB instance apart from the runtime's, with the runtime's threads
 * and the same memory_limit as its engine: the runtime's memory bound does not cover them. Past this the least recently used is forgotten: handles already on it keep
 * their sessions, new handles of its folders get a new instance.
 */
export const LOCKED_ENGINES_MAX = 64;
const lockedEngines = new Map<string, Promise<Engine>>();

function lockedEngine(ds: Dataset, dirs: readonly string[]): Promise<Engine> {
  const key = dirs.join('\0');
  let e = lockedEngines.get(key);
  if (e) lockedEngines.delete(key); // re-inserted below as the most recent
  else {
    const { threads, memoryBytesMax } = ds.runtime.options;
    e = Engine.create({ threads, memoryLimit: `${Math.floor(memoryBytesMax * MEMORY_SHARES.engine)}B`, locked: { allowedDirectories: dirs } });
    e.catch(() => lockedEngines.delete(key));
  }
  lockedEngines.set(key, e);
  if (lockedEngines.size > LOCKED_ENGINES_MAX) lockedEngines.delete(lockedEngines.keys().next().value!);
  return e;
}

/** Makes the scoped handle `ds.scoped(options)` returns. */
export async function scopeDataset(ds: Dataset, options: ScopeOptions): Promise<ScopedDataset> {
  if (!options || typeof options !== 'object' || !('tenant' in options)) throw new QuiverError('invalid_input', 'tenant: scoped() needs { tenant }');
  const column = ds.tenantColumn;
  if (!column) throw new QuiverError('invalid_input', `tenant: the dataset at ${ds.url} declares no tenant column; create it with { tenant } or call setTenantColumn`);
  const def = ds.schema.find((c) => c.name === column)!;
  const where = `${quoteIdent(column)} = ${tenantLiteral(def, options.tenant)}`;
  const dirs = readableDirectories(ds);
  const scope: HandleScope = { where, engine: () => lockedEngine(ds, dirs), limits: sandboxLimits(options.sandbox ?? true) };
  const scoped = new ScopedDataset(ds[WITH_SCOPE](scope), column, options.tenant, scope);
  await scoped.refresh();
  return scoped;
}

/**
 * `ds` with its callers' SQL sandboxed and no tenant filter: a full Dataset (branches, merge,
 * indexes…) whose queries, explains and `where`s are checked and run like a scoped handle's, on
 * the locked engine, within `sandbox`'s bounds. For servers whose callers are not tenants but
 * are not trusted with the machine either. Closing it leaves `ds` open.
 */
export function sandboxedDataset(ds: Dataset, sandbox: true | SandboxLimits = true): Dataset {
  const dirs = readableDirectories(ds);
  return ds[WITH_SCOPE]({ where: 'true', engine: () => lockedEngine(ds, dirs), limits: sandboxLimits(sandbox) });
}

/** Tenant row counts remembered per manifest (immutable) for `versions` and `log`. */
const COUNTS_MAX = 1024;
/**
 * Tenant live rows remembered per fragment state (its small-column file and deletes file, both
 * immutable): a version's count is the sum over its fragments, so a version costs a scan of only
 * the fragment states no earlier version had — the commit's changed fragments. 64 bytes or so
 * an entry; past the bound the map starts again.
 */
const FRAGMENT_COUNTS_MAX = 65_536;
/** Fragments counted per query (one UNION ALL of per-fragment counts). */
const FRAGMENTS_PER_QUERY = 256;

/**
 * A dataset handle that sees one tenant: the read and write API of `Dataset` for one tenant's
 * rows. Every read (SQL of any shape, search, stream, nearDuplicates, diff, row counts) sees
 * only them; appends and upserts get the tenant filled in when a record leaves it out and fail
 * with `forbidden` when it names another; update and delete reach only the tenant's rows, and
 * naming another's row id (or moving a row to another tenant) is `forbidden`, nothing staged.
 * SQL is sandboxed (docs/security.md). Branching, merging, indexes and schema changes belong
 * to an unscoped handle.
 *
 * @example
 * const mine = await ds.scoped({ tenant: 'u42', sandbox: { statementMs: 2_000 } });
 * await mine.append({ prompt: 'a red car' });           // user_id filled in as 'u42'
 * await mine.commit('from u42');
 * await mine.query('select prompt from dataset');       // u42's rows only
 */
export class ScopedDataset {
  readonly #ds: Dataset;
  readonly #column: string;
  readonly #scope: HandleScope;
  /** Row ids appended through this handle: its tenant's by construction (staged ones are not in any version yet). */
  readonly #own = new Set<bigint>();
  readonly #counts = new Map<string, number>();
  readonly #fragmentCounts = new Map<string, number>();
  /** Fragment states scanned to count the tenant's rows (what makes `versions()` cost what it does). */
  #fragmentsScanned = 0;
  #rowCount = 0;
  /** The tenant this handle sees. */
  readonly tenant: TenantValue;

  constructor(ds: Dataset, column: string, tenant: TenantValue, scope: HandleScope) {
    this.#ds = ds;
    this.#column = column;
    this.tenant = tenant;
    this.#scope = scope;
  }

  get url(): string {
    return this.#ds.url;
  }
  get branchName(): string | null {
    return this.#ds.branchName;
  }
  get readOnly(): boolean {
    return this.#ds.readOnly;
  }
  get schema(): ColumnDef[] {
    return this.#ds.schema;
  }
  /** The column naming each row's tenant. */
  get tenantColumn(): string {
    return this.#column;
  }
  get stagedRows(): number {
    return this.#ds.stagedRows;
  }
  /** The tenant's live rows at `version`, as of the last refresh, commit or query of the count. */
  get rowCount(): number {
    return this.#rowCount;
  }
  /** The version this handle reads, with the tenant's stats (see `versions`). */
  get version(): Commit {
    return scopedCommit(this.#ds.version, this.#rowCount);
  }

  /** `Dataset.query` over the tenant's rows, sandboxed. */
  query(sql: string, params: readonly Param[] = []): Promise<Record<string, unknown>[]> {
    return this.#ds.query(sql, params);
  }
  /** `Dataset.queryArrow` over the tenant's rows, sandboxed. */
  queryArrow(sql: string, params: readonly Param[] = []): Promise<arrow.Table> {
    return this.#ds.queryArrow(sql, params);
  }
  /** `Dataset.explain` of a query over the tenant's rows, sandboxed. */
  explain(sql: string, params: readonly Param[] = []): Promise<SearchExplain> {
    return this.#ds.explain(sql, params);
  }
  /** `Dataset.nearDuplicates` among the tenant's rows. */
  nearDuplicates(column: string, options: { threshold?: number; k?: number; signal?: { throwIfAborted(): void } } = {}): Promise<{ a: bigint; b: bigint; similarity: number }[]> {
    return this.#ds.nearDuplicates(column, options);
  }
  /** `Dataset.stream` of the tenant's rows; a `where` is sandboxed like a query. */
  stream(options: StreamOptions = {}): Stream {
    return this.#ds.stream(options);
  }
  /** `Dataset.diff` of the tenant's rows: rows of other tenants are neither counted nor listed. */
  diff(from: string, to?: string, options: { sinceBase?: boolean; largeValues?: boolean } = {}): Promise<VersionDiff> {
    return this.#ds.diff(from, to, options);
  }

  /**
   * The versions of this handle's history, oldest first, each with the tenant's stats (see
   * scopedCommit). `signal` (an AbortSignal, or anything with its `throwIfAborted`) is checked
   * before each version's count, so a caller's deadline ends a long walk between versions.
   */
  async versions(options: { signal?: { throwIfAborted(): void } } = {}): Promise<Commit[]> {
    const out: Commit[] = [];
    for (const c of await this.#ds.versions()) {
      options.signal?.throwIfAborted();
      out.push(scopedCommit(c, await this.#countAt(c)));
    }
    return out;
  }

  /** `Dataset.log` with the tenant's stats on each commit; `signal` as for `versions`. */
  async *log(options: { from?: string; limit?: number; signal?: { throwIfAborted(): void } } = {}): AsyncGenerator<Commit> {
    const { signal, ...rest } = options;
    for await (const c of this.#ds.log(rest)) {
      signal?.throwIfAborted();
      yield scopedCommit(c, await this.#countAt(c));
    }
  }

  /** How many fragment states this handle has scanned to count rows (for tests and benches). */
  get fragmentsScanned(): number {
    return this.#fragmentsScanned;
  }

  /**
   * The tenant's live rows at commit `c`: the sum of its fragments' tenant rows, each fragment
   * state counted once (FRAGMENT_COUNTS_MAX), the sum remembered per manifest. Only the
   * manifest is read for a fragment already counted.
   */
  async #countAt(c: Commit): Promise<number> {
    const hit = this.#counts.get(c.manifest);
    if (hit !== undefined) return hit;
    const at = await this.#ds.checkout({ version: c.id });
    try {
      const { fragments } = await at.fragmentRows();
      const stateOf = (f: { key: string; deletes?: string }) => `${f.key}\0${f.deletes ?? ''}`;
      const missing = fragments.filter((f) => f.rows > 0 && !this.#fragmentCounts.has(stateOf(f)));
      const found = new Map<string, number>();
      if (missing.length) {
        const session = await (await this.#scope.engine()).session();
        try {
          for (let i = 0; i < missing.length; i += FRAGMENTS_PER_QUERY) {
            const part = missing.slice(i, i + FRAGMENTS_PER_QUERY);
            const selects: string[] = [];
            for (const [j, f] of part.entries()) selects.push(`SELECT ${j} AS i, count(*) AS n FROM (${await at.scanSql({ fragments: [f.id] })}) AS __qf WHERE ${this.#scope.where}`);
            for (const r of (await session.all(selects.join(' UNION ALL '))).rows) found.set(stateOf(part[Number(r.i)]), Number(r.n));
          }
        } finally {
          session.close();
        }
        this.#fragmentsScanned += missing.length;
      }
      let n = 0;
      for (const f of fragments) if (f.rows > 0) n += found.get(stateOf(f)) ?? this.#fragmentCounts.get(stateOf(f))!;
      if (this.#fragmentCounts.size + found.size > FRAGMENT_COUNTS_MAX) this.#fragmentCounts.clear();
      for (const [k, v] of found) this.#fragmentCounts.set(k, v);
      if (this.#counts.size >= COUNTS_MAX) this.#counts.clear();
      this.#counts.set(c.manifest, n);
      return n;
    } finally {
      await at.close();
    }
  }

  /** Stages records of this tenant; a record without the tenant column gets it, one naming another tenant is `forbidden` (nothing staged). */
  async append(records: RecordInput | readonly RecordInput[]): Promise<AppendResult> {
    const r = await this.#ds.append(this.#ownRecords(records));
    for (const id of r.rowIds) this.#own.add(id);
    return r;
  }

  /** `Dataset.upsert` among the tenant's rows: keys are matched against its rows only; records as for `append`. */
  async upsert(records: RecordInput | readonly RecordInput[], options: { on: string }): Promise<{ updated: number; inserted: number; rowIds: bigint[] }> {
    if (options?.on === this.#column) throw new QuiverError('invalid_input', `tenant: upsert cannot match on the tenant column "${this.#column}"`);
    const r = await this.#ds.upsert(this.#ownRecords(records), options);
    for (const id of r.rowIds) this.#own.add(id);
    return r;
  }

  /** `Dataset.update` of the tenant's rows: a `where` sees only them; a row id of another tenant, or a value moving a row to one, is `forbidden`. */
  async update(spec: UpdateSpec | RowsUpdate): Promise<{ rows: number }> {
    if (spec && typeof spec === 'object' && 'rows' in spec && Array.isArray(spec.rows)) {
      for (const r of spec.rows) if (r && typeof r === 'object' && this.#column in r) this.#checkTenantValue(r[this.#column]);
      await this.#checkRowIds(spec.rows.map((r) => (r as Record<string, unknown>)?.row_id));
      return this.#ds.update(spec);
    }
    const set = (spec as UpdateSpec)?.set;
    if (set && typeof set === 'object' && this.#column in set) this.#checkTenantValue(set[this.#column]);
    if ((spec as UpdateSpec)?.rowIds !== undefined) await this.#checkRowIds((spec as UpdateSpec).rowIds!);
    return this.#ds.update(spec);
  }

  /** `Dataset.delete` of the tenant's rows: a `where` sees only them; a row id of another tenant is `forbidden`. */
  async delete(sel: RowSelector): Promise<{ rows: number }> {
    if (sel?.rowIds !== undefined) await this.#checkRowIds(sel.rowIds);
    return this.#ds.delete(sel);
  }

  async commit(message: string, options: CommitOptions = {}): Promise<Commit> {
    const c = await this.#ds.commit(message, options);
    this.#rowCount = await this.#countAt(c);
    return scopedCommit(c, this.#rowCount);
  }

  discard(): Promise<void> {
    return this.#ds.discard();
  }

  /** Reads the branch head again and the tenant's row count at it. */
  async refresh(): Promise<Commit> {
    const c = this.#ds.readOnly ? this.#ds.version : await this.#ds.refresh();
    this.#rowCount = await this.#countAt(c);
    return scopedCommit(c, this.#rowCount);
  }

  /** Closes this handle (the handle it was made from stays open). */
  close(): Promise<void> {
    return this.#ds.close();
  }

  /** The records with the tenant filled in where absent; `forbidden` if one names another tenant. */
  #ownRecords(records: RecordInput | readonly RecordInput[]): RecordInput[] {
    const list = Array.isArray(records) ? (records as readonly RecordInput[]) : [records as RecordInput];
    return list.map((r) => {
      if (!r || typeof r !== 'object') return r;
      const rec = r as Record<string, unknown>;
      if (rec[this.#column] === undefined) return { ...rec, [this.#column]: this.tenant } as RecordInput;
      this.#checkTenantValue(rec[this.#column]);
      return r;
    });
  }

  #checkTenantValue(v: unknown): void {
    if (!sameTenant(v, this.tenant)) {
      throw new QuiverError('forbidden', `tenant: this handle writes only rows of its own tenant; "${this.#column}" must be ${String(this.tenant)}, got ${String(v)}`, { column: this.#column });
    }
  }

  /** Throws `forbidden` unless every id is a row of this tenant (in the handle's version, or appended through it). */
  async #checkRowIds(ids: readonly unknown[]): Promise<void> {
    const asked: bigint[] = [];
    for (const x of ids) {
      if (typeof x === 'bigint') asked.push(x);
      else if (typeof x === 'number' && Number.isSafeInteger(x)) asked.push(BigInt(x));
      else throw new QuiverError('invalid_input', `tenant: a row id must be an integer, got ${String(x)}`);
    }
    const unknown = asked.filter((id) => !this.#own.has(id));
    if (unknown.length === 0) return;
    const found = await this.#ds.query('SELECT row_id FROM dataset WHERE row_id IN (SELECT unnest($1::BIGINT[]))', [unknown]);
    const mine = new Set(found.map((r) => r.row_id as bigint));
    const other = unknown.filter((id) => !mine.has(id));
    // The same answer for another tenant's row and for no row at all: neither is this tenant's.
    if (other.length) throw new QuiverError('forbidden', `tenant: row ${other[0]} is not a row of this tenant`, { rowIds: other });
  }
}

/**
 * `c` as a scoped handle shows it: `rows` is the tenant's live rows; the other counts (which
 * count every tenant's rows) read 0 and `meta` (other writers' provenance) is left out.
 */
function scopedCommit(c: Commit, rows: number): Commit {
  const { meta: _meta, ...rest } = c;
  return { ...rest, stats: { rowsAdded: 0, rowsDeleted: 0, rowsUpdated: 0, bytesWritten: 0, rows } };
}
