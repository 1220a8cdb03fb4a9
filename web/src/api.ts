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

const ds = (name: string) => `v1/ui/datasets/${encodeURIComponent(name)}`;

export const api = {
  datasets: () => json<{ datasets: string[] }>('v1/ui/datasets').then((r) => r.datasets),
  info: (name: string, ref: Ref) => json<DatasetInfo>(`${ds(name)}?${refQuery(ref)}`),
  query: (name: string, ref: Ref, sql: string, params: unknown[] = []) =>
    json<{ rows: Row[] }>(`${ds(name)}/query?${refQuery(ref)}`, { method: 'POST', body: { sql, params } }).then((r) => r.rows),
  refs: (name: string) => json<{ branches: { name: string; commit: string }[]; tags: { name: string; commit: string }[] }>(`${ds(name)}/refs`),
  log: (name: string, ref: Ref, limit = 100) => json<{ commits: Commit[] }>(`${ds(name)}/log?${refQuery(ref, { limit: String(limit) })}`).then((r) => r.commits),
  diff: (name: string, from: string, to: string) => json<Diff>(`${ds(name)}/diff?${new URLSearchParams({ from, to })}`),
  /** The image of a row as an object URL (fetched with the token, which an <img src> cannot send). */
  image: async (name: string, ref: Ref, rowId: string, column: string, width?: number): Promise<string> => {
    const extra: Record<string, string> = { column };
    if (width) extra.w = String(width);
    const r = await call(`${ds(name)}/rows/${rowId}/image?${refQuery(ref, extra)}`);
    return URL.createObjectURL(await r.blob());
  },
  feedback: (name: string, branch: string, rowId: string, set: Row) =>
    json<{ commit: Commit }>(`${ds(name)}/rows/${rowId}/feedback?${refQuery({ kind: 'branch', name: branch })}`, { method: 'POST', body: { set } }).then((r) => r.commit),
};
