// The routes the web UI calls that the server's dataset API does not have yet (interim: the lead
// folds them into the server's route files). All under `/v1/ui/datasets/:dataset/…`, so they never
// collide with the API's own. A request names its version by `branch`, `tag` or `version` query
// parameters. Invariants: every handle a request opens is closed in `finally`; every 64-bit
// integer leaves as a string; writes need a token `authorizeWrite` accepts (none by default).

import type { Context, Hono } from 'hono';
import sharp from 'sharp';
import { QuiverError } from '../errors.js';
import type { Dataset } from '../dataset/index.js';
import type { Param } from '../query/index.js';
import { openDataset, type DatasetResolver } from './stream-route.js';

export interface UiRoutesOptions {
  /** The names the UI offers in its dataset picker (a resolver function cannot be listed). Default none. */
  datasetNames?: string[];
  /** Whether `token` (from `Authorization: Bearer …`) may write to `dataset`. Default: nothing may. */
  authorizeWrite?: (token: string | undefined, dataset: string) => boolean | Promise<boolean>;
}

/** Rows one UI query returns at most; the grid pages with `limit/offset` far below it. */
const queryRowsMax = 10_000;
/** Widest thumbnail a request may ask for, in pixels. */
const thumbWidthMax = 1024;
/** Commits one log request lists at most. */
const logCommitsMax = 500;
/** Changed rows one diff request lists at most (the counts cover all). */
const diffRowsMax = 1000;

const bad = (message: string) => new QuiverError('invalid_input', `server: ${message}`);

/** `v` as JSON can carry it: bigints as strings, typed arrays as arrays, bytes as their length, dates as ISO text. */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return { bytes: v.byteLength };
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, jsonValue);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

/** Runs `fn` on the dataset and version the request names, closing the handle afterwards. */
async function withDataset<T>(resolve: DatasetResolver, c: Context, fn: (ds: Dataset) => Promise<T>): Promise<T> {
  const ds = await openDataset(resolve, c.req.param('dataset')!, c.req.query());
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}

function rowIdOf(text: string | undefined): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text)) throw bad(`a row id must be a non-negative integer, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

async function bodyOf(c: Context): Promise<Record<string, unknown>> {
  try {
    const b = await c.req.json();
    if (b && typeof b === 'object' && !Array.isArray(b)) return b as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw bad('the request body must be a JSON object');
}

function tokenOf(c: Context): string | undefined {
  const h = c.req.header('authorization');
  return h?.startsWith('Bearer ') ? h.slice('Bearer '.length) : undefined;
}

/** The image (or its thumbnail, `w` pixels wide) of one row, with its content type. */
async function rowImage(ds: Dataset, rowId: bigint, column: string, width: number | undefined): Promise<{ bytes: Uint8Array; type: string }> {
  const def = ds.schema.find((d) => d.name === column);
  if (!def || def.type.kind !== 'image') throw bad(`column ${JSON.stringify(column)} is not an image column`);
  const [row] = await ds.query(`select "${column}" as v, "${column}_format" as f from dataset where row_id = ${rowId}`);
  if (!row) throw new QuiverError('not_found', `server: no row ${rowId}`, { rowId: rowId.toString() });
  if (!(row.v instanceof Uint8Array)) throw new QuiverError('not_found', `server: row ${rowId} has no ${column}`, { rowId: rowId.toString() });
  if (width === undefined) return { bytes: row.v, type: `image/${String(row.f ?? 'png')}` };
  const thumb = await sharp(row.v).resize({ width, withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
  return { bytes: new Uint8Array(thumb), type: 'image/webp' };
}

function widthOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const w = Number(text);
  if (!Number.isInteger(w) || w < 1 || w > thumbWidthMax) throw bad(`w must be an integer from 1 to ${thumbWidthMax}, got ${JSON.stringify(text)}`);
  return w;
}

/** Adds the UI's routes to `app`. */
export function addUiRoutes(app: Hono, resolve: DatasetResolver, options: UiRoutesOptions = {}): void {
  const base = '/v1/ui/datasets/:dataset';
  app.get('/v1/ui/datasets', (c) => c.json({ datasets: options.datasetNames ?? [] }));
  app.get(base, (c) =>
    withDataset(resolve, c, async (ds) =>
      c.json(jsonValue({ version: ds.version, branch: ds.branchName, readOnly: ds.readOnly, rowCount: ds.rowCount, schema: ds.schema, indexes: ds.indexes })),
    ),
  );
  app.post(`${base}/query`, async (c) => {
    const body = await bodyOf(c);
    if (typeof body.sql !== 'string') throw bad('query needs { sql: string, params?: [] }');
    const params = (Array.isArray(body.params) ? body.params : []) as Param[];
    const rows = await withDataset(resolve, c, (ds) => ds.query(body.sql as string, params));
    if (rows.length > queryRowsMax) throw bad(`a query returns at most ${queryRowsMax} rows, got ${rows.length}`);
    return c.json({ rows: jsonValue(rows) });
  });
  app.get(`${base}/refs`, (c) => withDataset(resolve, c, async (ds) => c.json({ branches: await ds.branches(), tags: await ds.tags() })));
  app.get(`${base}/log`, (c) =>
    withDataset(resolve, c, async (ds) => {
      const limit = Math.min(Number(c.req.query('limit') ?? 100) || 100, logCommitsMax);
      const commits = [];
      for await (const commit of ds.log({ limit })) commits.push(commit);
      return c.json({ commits: jsonValue(commits) });
    }),
  );
  app.get(`${base}/diff`, (c) =>
    withDataset(resolve, c, async (ds) => {
      const from = c.req.query('from');
      const to = c.req.query('to');
      if (!from || !to) throw bad('diff needs from and to');
      const d = await ds.diff(from, to);
      const rows = [];
      for await (const r of d.rows()) {
        if (rows.length === diffRowsMax) break;
        rows.push(r);
      }
      return c.json(jsonValue({ from: d.from, to: d.to, base: d.base, counts: d.counts, schema: d.schema, rows }));
    }),
  );
  app.get(`${base}/rows/:rowId/image`, (c) =>
    withDataset(resolve, c, async (ds) => {
      const img = await rowImage(ds, rowIdOf(c.req.param('rowId')), c.req.query('column') ?? 'image', widthOf(c.req.query('w')));
      return new Response(new Uint8Array(img.bytes), { headers: { 'content-type': img.type, 'cache-control': 'private, max-age=60' } });
    }),
  );
  app.post(`${base}/rows/:rowId/feedback`, async (c) => {
    const dataset = c.req.param('dataset')!;
    if (!(await (options.authorizeWrite?.(tokenOf(c), dataset) ?? false))) throw new QuiverError('read_only', `server: feedback needs a write token for ${JSON.stringify(dataset)}`);
    const rowId = rowIdOf(c.req.param('rowId'));
    const body = await bodyOf(c);
    const set = body.set as Record<string, unknown> | undefined;
    if (!set || typeof set !== 'object' || Object.keys(set).length === 0) throw bad('feedback needs { set: { column: value } }');
    return withDataset(resolve, c, async (ds) => {
      await ds.update({ rows: [{ row_id: rowId, ...set }] });
      const commit = await ds.commit(`feedback: row ${rowId} ${Object.entries(set).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`, { meta: { source: 'web ui' } });
      return c.json(jsonValue({ commit }));
    });
  });
}
