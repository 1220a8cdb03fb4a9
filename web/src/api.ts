// Every call the web UI makes to the Quiver server, in one place. Versions are named by a Ref
// (branch, tag or version id) sent as a query parameter; 64-bit integers arrive as strings; the
// token from sessionStorage rides on every request as `Authorization: Bearer …`.

export type Ref = { kind: 'branch' | 'tag' | 'version'; name: string };

export interface ColumnType {
  kind: string;
  dim?: number;
  element?: ColumnType;
}
export interface ColumnDef {
  name: string;
  type: ColumnType;
  nullable: boolean;
}
export interface Commit {
  id: string;
  parents: string[];
  message: string;
  time: string;
  operation: string;
  stats: Record<string, number>;
  meta?: Record<string, unknown>;
}
export interface DatasetInfo {
  version: Commit;
  branch: string | null;
  readOnly: boolean;
  rowCount: number;
  schema: ColumnDef[];
}
export type Row = Record<string, unknown>;
export interface DiffRow {
  rowId: string;
  change: 'added' | 'removed' | 'changed';
  row?: Row;
  columns?: Record<string, { old: unknown; new: unknown; large?: true }>;
}
export interface Diff {
  from: string;
  to: string;
  base: string | null;
  counts: { added: number; removed: number; changed: number };
  schema: { added: string[]; dropped: string[]; changed: string[] };
  rows: DiffRow[];
}

const TOKEN_KEY = 'quiver.token';

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error the server answered, with its code (`invalid_sql`, `read_only`, …). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  const t = getToken();
  if (t) h.authorization = `Bearer ${t}`;
  if (json) h['content-type'] = 'application/json';
  return h;
}

async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const r = await fetch(path, { method: init.method ?? 'GET', headers: headers(init.body !== undefined), body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  if (!r.ok) {
    let code = 'http', message = `${r.status} ${r.statusText}`;
    try {
      const b = (await r.json()) as { error?: { code: string; message: string } };
      if (b.error) ({ code, message } = b.error);
    } catch {
      // not a JSON error body: keep the status line
    }
    throw new ApiError(code, message, r.status);
  }
  return r;
}

const json = async <T>(path: string, init?: { method?: string; body?: unknown }): Promise<T> => (await call(path, init)).json() as Promise<T>;

function refQuery(ref: Ref, extra: Record<string, string> = {}): string {
  return new URLSearchParams({ [ref.kind]: ref.name, ...extra }).toString();
}

const ds = (name: string) => `v1/datasets/${encodeURIComponent(name)}`;

/** Changed rows the diff view reads at most; the counts come first and cover all. */
const diffRowsMax = 1000;

/** The NDJSON lines of `r`, stopping (and cancelling the body) after `linesMax`. */
async function ndjsonLines(r: Response, linesMax: number): Promise<Record<string, unknown>[]> {
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: Record<string, unknown>[] = [];
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (rest + value).split('\n');
    rest = lines.pop()!;
    for (const l of lines) if (l.trim() !== '') out.push(JSON.parse(l) as Record<string, unknown>);
    if (out.length >= linesMax) {
      await reader.cancel();
      break;
    }
  }
  if (rest.trim() !== '' && out.length < linesMax) out.push(JSON.parse(rest) as Record<string, unknown>);
  return out;
}

export const api = {
  datasets: () => json<{ datasets: { name: string }[] }>('v1/datasets').then((r) => r.datasets.map((d) => d.name)),
  info: (name: string, ref: Ref) => json<Omit<DatasetInfo, 'readOnly'>>(`${ds(name)}?${refQuery(ref)}`).then((i): DatasetInfo => ({ ...i, readOnly: i.branch === null })),
  query: (name: string, ref: Ref, sql: string, params: unknown[] = []) =>
    json<{ rows: Row[] }>(`${ds(name)}/query?${refQuery(ref)}`, { method: 'POST', body: { sql, params } }).then((r) => r.rows),
  refs: async (name: string) => {
    const [b, t] = await Promise.all([json<{ branches: { name: string; commit: string }[] }>(`${ds(name)}/branches`), json<{ tags: { name: string; commit: string }[] }>(`${ds(name)}/tags`)]);
    return { branches: b.branches, tags: t.tags };
  },
  log: (name: string, ref: Ref, limit = 100) => json<{ commits: Commit[] }>(`${ds(name)}/log?${refQuery(ref, { limit: String(limit) })}`).then((r) => r.commits),
  /** The diff's summary and its first `diffRowsMax` rows, read from the NDJSON stream. */
  diff: async (name: string, from: string, to: string): Promise<Diff> => {
    const lines = await ndjsonLines(await call(`${ds(name)}/diff?${new URLSearchParams({ from, to })}`), diffRowsMax + 1);
    const failed = lines.find((l) => l.type === 'error') as { error?: { code: string; message: string } } | undefined;
    if (failed?.error) throw new ApiError(failed.error.code, failed.error.message, 200);
    const summary = lines[0] as unknown as Omit<Diff, 'rows'>;
    return { ...summary, rows: lines.filter((l) => l.type === 'row') as unknown as DiffRow[] };
  },
  /** The image of a row as an object URL (fetched with the token, which an <img src> cannot send). */
  image: async (name: string, ref: Ref, rowId: string, column: string, width?: number): Promise<string> => {
    const r = await call(`${ds(name)}/rows/${rowId}/${encodeURIComponent(column)}?${refQuery(ref, width ? { w: String(width) } : {})}`);
    return URL.createObjectURL(await r.blob());
  },
  /** Sets columns of one row on a branch and commits at once (the server records the token's name as author). */
  feedback: (name: string, branch: string, rowId: string, set: Row) =>
    json<{ commit: Commit }>(`${ds(name)}/update?${new URLSearchParams({ branch, message: `feedback: row ${rowId} ${Object.entries(set).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}` })}`, {
      method: 'POST',
      body: { rows: [{ row_id: rowId, ...set }] },
    }).then((r) => r.commit),
};
