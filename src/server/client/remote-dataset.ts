// The remote client: a handle on a dataset served by a Quiver server, with the Dataset API over
// HTTP, so code moves between embedded and remote by URL. Invariants: a failed request throws
// the server's QuiverError (same code, message, details), a network failure `io`; a handle's
// appends, updates and deletes stage in its own write session on the server until `commit`.

import * as arrow from 'apache-arrow';
import { randomBytes } from 'node:crypto';
import { QuiverError, type ErrorCode } from '../../errors.js';
import type { ColumnDef, Commit, RecordInput } from '../../format/index.js';
import type { AppendResult, CommitOptions, IndexSpec, MergeOptions, MergeResult, RowSelector, RowsUpdate, UpdateSpec, DiffRow, VersionDiff } from '../../dataset/index.js';
import type { StreamBatch, StreamCursor, StreamOptions } from '../../stream/index.js';
import { readFrames } from './frames.js';
import type { Param } from '../../query/index.js';
import { rowsFromWire, toTagged, type WireType } from '../wire.js';

export interface RemoteOpenOptions {
  /** The bearer token (`qv_…`). */
  token?: string;
  /** Read this version (commit id) or tag instead of the URL's branch (read-only). */
  version?: string;
  tag?: string;
  /** The fetch to use. Default the global fetch. */
  fetch?: typeof fetch;
}

/** What the server says about a dataset at a version. */
interface Description {
  name: string;
  branch: string | null;
  version: Commit;
  schema: ColumnDef[];
  rowCount: number;
  indexes: { column: string; kind: 'vector' | 'fulltext' | 'scalar'; options: Record<string, unknown> }[];
}

/** `stream()` of a remote dataset: its batches, and the cursor after the last one read (for `resume`). */
export interface RemoteStream extends AsyncIterable<StreamBatch> {
  state(): StreamCursor | undefined;
}

/** `diff` of a remote dataset: as embedded, with row values as JSON gives them (`rowId` a bigint). */
export type RemoteVersionDiff = VersionDiff;

const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

/** One request's parts: a JSON body (or raw bytes of `type`), the Accept type, extra query parameters. */
interface RequestParts {
  body?: unknown;
  raw?: BodyInit;
  type?: string;
  accept?: string;
  query?: Record<string, string | undefined>;
}

/** Parses `http(s)://host:port/<dataset>[/<branch>]` into the server's base URL, dataset and branch. */
export function parseRemoteUrl(url: string): { base: string; dataset: string; branch: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QuiverError('invalid_input', `client: not a URL, got ${JSON.stringify(url)}`);
  }
  const [dataset, ...rest] = u.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (!dataset) throw new QuiverError('invalid_input', `client: a remote dataset URL is http(s)://host:port/<dataset>/<branch>, got ${JSON.stringify(url)}`);
  return { base: `${u.protocol}//${u.host}`, dataset, branch: rest.join('/') || 'main' };
}

/** Reads an NDJSON body line by line. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as Record<string, unknown>;
}

const toBig = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? BigInt(v) : (v as bigint));
const commitOf = (c: unknown) => c as Commit;

/**
 * A dataset on a Quiver server. Made by `quiver.open('http://host:7700/<dataset>/<branch>', { token })`.
 * Caveat: `version`, `schema` and `rowCount` are as of the last `refresh()`, commit or open.
 *
 * @example
 * const ds = await quiver.open('http://localhost:7700/gen/main', { token });
 * await ds.append([{ prompt: 'a red car', rating: 5 }]);
 * await ds.commit('from an inference worker');
 * const rows = await ds.query('select prompt from dataset where rating >= $1', [4]);
 */
export class RemoteDataset {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  /** This handle's write session: staged writes wait on the server until `commit`. */
  readonly #session = randomBytes(16).toString('hex');
  #desc: Description;
  #staged = 0;
  /** Writes are staged in the session on the server (sent as x-quiver-session-staged, so a lost session is an error). */
  #pending = false;
  #closed = false;

  private constructor(base: string, readonly name: string, readonly at: { branch?: string; version?: string; tag?: string }, token: string | undefined, f: typeof fetch, desc: Description) {
    this.#base = base;
    this.#token = token;
    this.#fetch = f;
    this.#desc = desc;
  }

  /** Opens `url` (`http(s)://host:port/<dataset>/<branch>`), checking the token and the dataset. */
  static async open(url: string, options: RemoteOpenOptions = {}): Promise<RemoteDataset> {
    const { base, dataset, branch } = parseRemoteUrl(url);
    if (options.version !== undefined && options.tag !== undefined) throw new QuiverError('invalid_input', 'client: give one of version and tag, got version and tag');
    const at = options.version !== undefined ? { version: options.version } : options.tag !== undefined ? { tag: options.tag } : { branch };
    const f = options.fetch ?? fetch;
    const probe = new RemoteDataset(base, dataset, at, options.token, f, undefined as unknown as Description);
    probe.#desc = await probe.#describe();
    return probe;
  }

  get url(): string {
    return `${this.#base}/${encodeURIComponent(this.name)}/${this.at.branch ?? ''}`;
  }
  get branchName(): string | null {
    return this.#desc.branch;
  }
  get readOnly(): boolean {
    return this.#desc.branch === null;
  }
  get version(): Commit {
    return this.#desc.version;
  }
  get schema(): ColumnDef[] {
    return this.#desc.schema;
  }
  get rowCount(): number {
    return this.#desc.rowCount;
  }
  get indexes(): Description['indexes'] {
    return this.#desc.indexes;
  }
  /** Rows appended through this handle and not yet committed. */
  get stagedRows(): number {
    return this.#staged;
  }

  #query(extra: Record<string, string | undefined> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...this.at, ...extra })) if (v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  /** One request; a non-2xx answer throws the server's QuiverError. */
  async #request(method: string, path: string, init: RequestParts = {}): Promise<Response> {
    if (this.#closed) throw new QuiverError('closed', 'client: the handle is closed');
    const headers: Record<string, string> = { 'x-quiver-session': this.#session };
    if (this.#pending) headers['x-quiver-session-staged'] = 'true';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (init.accept) headers.accept = init.accept;
    let body: BodyInit | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    } else if (init.type) headers['content-type'] = init.type;
    const url = `${this.#base}/v1/datasets/${encodeURIComponent(this.name)}${path}${this.#query(init.query)}`;
    let r: Response;
    try {
      r = await this.#fetch(url, { method, headers, body });
    } catch (e) {
      throw new QuiverError('io', `client: ${method} ${url} failed: ${(e as Error).message}`, { url }, { cause: e });
    }
    if (r.ok) return r;
    let err: { code?: ErrorCode; message?: string; details?: Record<string, unknown> } = {};
    try {
      err = ((await r.json()) as { error: typeof err }).error ?? {};
    } catch {
      // not a Quiver error body (a proxy, a crash): reported by status below
    }
    if (err.details?.sessionLost === true) {
      // What was staged is gone with the server's session: the next write starts a new one.
      this.#pending = false;
      this.#staged = 0;
    }
    throw new QuiverError(err.code ?? (r.status >= 500 ? 'io' : 'invalid_input'), err.message ?? `client: HTTP ${r.status} from ${url}`, { ...err.details, status: r.status });
  }

  async #json<T>(method: string, path: string, init: RequestParts = {}): Promise<T> {
    return (await (await this.#request(method, path, init)).json()) as T;
  }

  async #describe(): Promise<Description> {
    return this.#json<Description>('GET', '');
  }

  /** Reads the branch again (version, schema, rowCount, indexes) and returns its head. */
  async refresh(): Promise<Commit> {
    this.#desc = await this.#describe();
    return this.#desc.version;
  }

  /** Stages records on the server (in this handle's session) for the next `commit`. */
  async append(records: RecordInput | readonly RecordInput[]): Promise<AppendResult> {
    const list = Array.isArray(records) ? records : [records];
    const r = await this.#json<{ rows: number; rowIds: string[] }>('POST', '/append', { body: { records: list.map(toTagged) } });
    this.#staged += r.rows;
    this.#pending = true;
    return { rows: r.rows, rowIds: r.rowIds.map(toBig) };
  }

  /** Publishes what this handle staged as one commit (the server records the token's name as author). */
  async commit(message: string, options: CommitOptions = {}): Promise<Commit> {
    const c = commitOf(await this.#json('POST', '/commit', { body: { message, ...(options.meta ? { meta: options.meta } : {}) } }));
    this.#staged = 0;
    this.#pending = false;
    await this.refresh();
    return c;
  }

  /** Drops what this handle staged. */
  async discard(): Promise<void> {
    await this.#request('POST', '/discard');
    this.#staged = 0;
    this.#pending = false;
  }

  async query(sql: string, params: readonly Param[] = []): Promise<Record<string, unknown>[]> {
    const r = await this.#json<{ rows: Record<string, unknown>[]; types: Record<string, WireType> }>('POST', '/query', { body: { sql, params: params.map(toTagged) } });
    return rowsFromWire(r.rows, r.types);
  }

  async queryArrow(sql: string, params: readonly Param[] = []): Promise<arrow.Table> {
    const r = await this.#request('POST', '/query', { body: { sql, params: params.map(toTagged) }, accept: ARROW_STREAM });
    return arrow.tableFromIPC(new Uint8Array(await r.arrayBuffer()));
  }

  async explain(sql: string, params: readonly Param[] = []): Promise<Record<string, unknown>> {
    return this.#json('POST', '/explain', { body: { sql, params: params.map(toTagged) } });
  }

  /** `Dataset.nearDuplicates` on the server, at most `limit` (default 1,000) pairs; bounded there by the request deadline. */
  async nearDuplicates(column: string, options: { threshold?: number; k?: number; limit?: number } = {}): Promise<{ a: bigint; b: bigint; similarity: number }[]> {
    const r = await this.#json<{ pairs: { a: string; b: string; similarity: number }[] }>('POST', '/near-duplicates', { body: { column, ...options } });
    return r.pairs.map((p) => ({ a: BigInt(p.a), b: BigInt(p.b), similarity: p.similarity }));
  }

  async versions(): Promise<Commit[]> {
    return (await this.#json<{ versions: Commit[] }>('GET', '/versions')).versions;
  }

  async *log(options: { from?: string; limit?: number } = {}): AsyncGenerator<Commit> {
    yield* (await this.#json<{ commits: Commit[] }>('GET', '/log', { query: { from: options.from, limit: options.limit === undefined ? undefined : String(options.limit) } })).commits;
  }

  async branches(): Promise<{ name: string; commit: string }[]> {
    return (await this.#json<{ branches: { name: string; commit: string }[] }>('GET', '/branches')).branches;
  }

  /** Creates branch `name` and returns a handle on it. */
  async branch(name: string, options: { from?: string } = {}): Promise<RemoteDataset> {
    await this.#request('POST', '/branches', { body: { name, ...options } });
    return RemoteDataset.open(`${this.#base}/${encodeURIComponent(this.name)}/${name}`, { token: this.#token, fetch: this.#fetch });
  }

  async deleteBranch(name: string): Promise<void> {
    await this.#request('DELETE', `/branches/${encodeURIComponent(name)}`);
  }

  async tags(): Promise<{ name: string; commit: string }[]> {
    return (await this.#json<{ tags: { name: string; commit: string }[] }>('GET', '/tags')).tags;
  }

  async tag(name: string, options: { at?: string } = {}): Promise<Commit> {
    return (await this.#json<{ commit: Commit }>('POST', '/tags', { body: { name, ...options } })).commit;
  }

  async deleteTag(name: string): Promise<void> {
    await this.#request('DELETE', `/tags/${encodeURIComponent(name)}`);
  }

  async diff(from: string, to?: string, options: { sinceBase?: boolean; largeValues?: boolean } = {}): Promise<RemoteVersionDiff> {
    const r = await this.#request('GET', '/diff', { query: { from, to, sinceBase: options.sinceBase ? 'true' : undefined, largeValues: options.largeValues ? 'true' : undefined } });
    const lines = ndjsonLines(r.body!);
    const head = (await lines.next()).value as Record<string, unknown> & { type: string };
    if (head?.type === 'error') throw new QuiverError((head.error as { code: ErrorCode }).code, (head.error as { message: string }).message);
    return {
      ...(head as unknown as Omit<RemoteVersionDiff, 'rows'>),
      async *rows() {
        for await (const l of lines) {
          if (l.type === 'end') return;
          if (l.type === 'error') throw new QuiverError((l.error as { code: ErrorCode }).code, (l.error as { message: string }).message);
          const { type: _type, ...row } = l;
          yield { ...row, rowId: toBig(row.rowId) } as unknown as DiffRow;
        }
        throw new QuiverError('io', 'client: the diff stream ended without its end line');
      },
    };
  }

  async merge(source: string, options: MergeOptions = {}): Promise<MergeResult> {
    const r = await this.#json<MergeResult>('POST', '/merge', { body: { source, ...options } });
    await this.refresh();
    return r;
  }

  /** Stages an update in this handle's session (like embedded `update`); `commit` publishes it. */
  async update(spec: UpdateSpec | RowsUpdate): Promise<{ rows: number }> {
    const body = 'rows' in spec ? { rows: spec.rows.map(toTagged) } : { ...selectorBody(spec), set: toTagged(spec.set) };
    const r = await this.#json<{ rows: number }>('POST', '/update', { body });
    this.#pending = true;
    return r;
  }

  /** Stages a delete in this handle's session; `commit` publishes it. */
  async delete(sel: RowSelector): Promise<{ rows: number }> {
    const r = await this.#json<{ rows: number }>('POST', '/delete', { body: selectorBody(sel) });
    this.#pending = true;
    return r;
  }

  async curate(predicate: string, message: string, params: readonly Param[] = []): Promise<Commit> {
    const c = commitOf(await this.#json('POST', '/curate', { body: { predicate, message, params: params.map(toTagged) } }));
    await this.refresh();
    return c;
  }

  async createIndex(column: string, spec: IndexSpec): Promise<Commit> {
    const c = commitOf(await this.#json('POST', '/indexes', { body: { column, spec } }));
    await this.refresh();
    return c;
  }

  /** The bytes of row `rowId`'s `column` (an image or binary), or a thumbnail with `{ w, h }`. */
  async cell(rowId: bigint | number, column: string, thumb: { w?: number; h?: number } = {}): Promise<{ bytes: Uint8Array; type: string }> {
    const r = await this.#request('GET', `/rows/${rowId}/${encodeURIComponent(column)}`, { query: { w: thumb.w?.toString(), h: thumb.h?.toString() } });
    return { bytes: new Uint8Array(await r.arrayBuffer()), type: r.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /**
   * Training batches as embedded `ds.stream(options)` yields them (StreamBatch: row ids, tensors
   * of their dtype and shape, decoded images where `decode` asks, text and bytes lists), read
   * from the server's npy frames. `state()` is the cursor after the last batch yielded.
   */
  stream(options: StreamOptions = {}): RemoteStream {
    let cursor: StreamCursor | undefined = options.resume;
    const request = () => this.#request('GET', '/stream', { query: { ...streamQuery(options), format: 'npy' } });
    return {
      state: () => cursor,
      async *[Symbol.asyncIterator]() {
        const r = await request();
        for await (const f of readFrames(r.body as unknown as AsyncIterable<Uint8Array>)) {
          cursor = f.cursor;
          yield f.batch;
        }
      },
    };
  }

  /** Training batches as Arrow record batches (the server's `format=arrow`), for Arrow consumers. */
  async *streamArrow(options: StreamOptions = {}): AsyncGenerator<arrow.RecordBatch> {
    const r = await this.#request('GET', '/stream', { query: { ...streamQuery(options), format: 'arrow' } });
    const reader = await arrow.RecordBatchReader.from(r.body as unknown as AsyncIterable<Uint8Array>);
    for await (const b of reader) yield b;
  }

  /** Drops what is staged (like a closed embedded handle) and refuses later calls. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#staged > 0 && !this.readOnly) await this.discard().catch(() => undefined);
    this.#closed = true;
  }
}

function selectorBody(sel: RowSelector): Record<string, unknown> {
  return { ...(sel.where !== undefined ? { where: sel.where } : {}), ...(sel.params ? { params: sel.params.map(toTagged) } : {}), ...(sel.rowIds ? { rowIds: sel.rowIds.map(String) } : {}) };
}

/** StreamOptions as the stream route's query parameters (stream-route.ts streamOptionsOf reads them back). */
function streamQuery(o: StreamOptions): Record<string, string | undefined> {
  const s = (v: unknown) => (v === undefined ? undefined : String(v));
  const j = (v: unknown) => (v === undefined ? undefined : JSON.stringify(v));
  return {
    columns: o.columns?.join(','),
    where: o.where,
    batchRows: s(o.batchRows),
    batchBytesMax: s(o.batchBytesMax),
    seed: s(o.shuffle?.seed),
    blockRows: s(o.shuffle?.blockRows),
    windowBlocks: s(o.shuffle?.windowBlocks),
    epoch: s(o.epoch),
    rank: s(o.shard?.rank),
    worldSize: s(o.shard?.worldSize),
    worker: s(o.shard?.worker),
    workers: s(o.shard?.workers),
    remainder: o.remainder,
    decode: j(o.decode),
    onUndecodable: o.onUndecodable,
    prefetchBatches: s(o.prefetchBatches),
    resume: j(o.resume),
  };
}
