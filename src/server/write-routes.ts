// Routes that change a branch: append (JSON with base64 media, Arrow IPC, or multipart with
// image bytes), commit and discard of a write session, update, delete, curate, merge and
// createIndex. Invariant: without `x-quiver-session` a write is committed before the response
// (so an acknowledged write is in the branch); with one it is staged on that session's handle
// until its commit. Every commit made here (append, commit, update, delete, curate, a three-way
// merge, createIndex) records the token's name as `meta.author`; a fast-forward makes no commit.

import type { OpenAPIHono } from '@hono/zod-openapi';
import * as arrow from 'apache-arrow';
import type { Context } from 'hono';
import { QuiverError } from '../errors.js';
import type { ColumnDef } from '../format/index.js';
import type { IndexSpec, RowSelector } from '../dataset/index.js';
import type { ServerContext, ServerEnv } from './app.js';
import { checkRequest, datasetFor, unscoped, withDataset, type Lease } from './scope.js';
import { AtQuery, DatasetPath, MessageQuery, Params, authorMeta, input, paramsOf, requestOf, route, wireJson, z } from './route-kit.js';
import { fromTagged, recordFromWire } from './wire.js';

const ARROW_TYPES = ['application/vnd.apache.arrow.stream', 'application/vnd.apache.arrow.file'];
const WriteQuery = AtQuery.merge(MessageQuery);

const AppendJson = z.object({ records: z.array(z.record(z.string(), z.unknown())).max(1_000_000) }).openapi('AppendRecords');
const AppendForm = z.record(z.string(), z.unknown()).openapi({ description: 'field `records` (a JSON array of records) and file parts named `<row index>.<column>` with the bytes of that cell' });
const Selector = z.object({ where: z.string().max(65_536).optional(), params: Params, rowIds: z.array(z.union([z.string(), z.number()])).max(1_000_000).optional() });
const UpdateBody = Selector.extend({ set: z.record(z.string(), z.unknown()).optional(), rows: z.array(z.record(z.string(), z.unknown())).max(1_000_000).optional() }).openapi('Update');
const CommitBody = z.object({ message: z.string().max(4096), meta: z.record(z.string(), z.unknown()).optional() }).openapi('Commit');
const CurateBody = z.object({ predicate: z.string().min(1).max(65_536), message: z.string().max(4096), params: Params }).openapi('Curate');
const MergeBody = z.object({ source: z.string().min(1).max(256), onConflict: z.enum(['fail', 'ours', 'theirs']).optional(), dryRun: z.boolean().optional(), message: z.string().max(4096).optional() }).openapi('Merge');
const IndexBody = z.object({ column: z.string().min(1).max(256), spec: z.object({ kind: z.enum(['vector', 'fulltext', 'scalar']) }).catchall(z.unknown()) }).openapi('CreateIndex');

const json = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });

/** Rows of an Arrow IPC table as plain records (vectors become typed arrays, structs objects). */
function recordsFromArrow(bytes: Uint8Array): Record<string, unknown>[] {
  const table = arrow.tableFromIPC(bytes);
  const plain = (v: unknown): unknown => {
    if (v instanceof arrow.Vector) return v.toArray();
    if (v !== null && typeof v === 'object' && 'toJSON' in v && !(v instanceof Uint8Array) && !(v instanceof Date)) return Object.fromEntries(Object.entries((v as { toJSON(): object }).toJSON()).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  return table.toArray().map((row) => Object.fromEntries(table.schema.fields.map((f) => [f.name, plain(row[f.name])])));
}

/** Records of a multipart body: the `records` JSON field with file parts `<i>.<column>` set into it. */
async function recordsFromForm(schema: readonly ColumnDef[], form: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  if (typeof form.records !== 'string') throw new QuiverError('invalid_input', 'server: a multipart append needs a field "records" holding a JSON array');
  let list: unknown;
  try {
    list = JSON.parse(form.records);
  } catch {
    throw new QuiverError('invalid_input', 'server: multipart field "records" is not JSON');
  }
  if (!Array.isArray(list)) throw new QuiverError('invalid_input', 'server: multipart field "records" must be a JSON array');
  const records = list.map((r) => recordFromWire(schema, r as Record<string, unknown>));
  for (const [name, v] of Object.entries(form)) {
    if (name === 'records') continue;
    const m = /^(\d+)\.(.+)$/.exec(name);
    if (!m || !(v instanceof Blob)) throw new QuiverError('invalid_input', `server: a multipart part must be a file named <row index>.<column>, got ${JSON.stringify(name)}`);
    const i = Number(m[1]);
    if (i >= records.length) throw new QuiverError('invalid_input', `server: multipart part ${JSON.stringify(name)} names row ${i} of ${records.length}`);
    records[i][m[2]] = new Uint8Array(await v.arrayBuffer());
  }
  return records;
}

async function appendedRecords(c: Context<ServerEnv>, schema: readonly ColumnDef[]): Promise<Record<string, unknown>[]> {
  const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (ARROW_TYPES.includes(type)) return recordsFromArrow(new Uint8Array(await c.req.arrayBuffer()));
  if (type === 'multipart/form-data') return recordsFromForm(schema, input<Record<string, unknown>>(c, 'form' as 'json'));
  if (type !== 'application/json') throw new QuiverError('invalid_input', `server: append takes application/json, multipart/form-data or ${ARROW_TYPES.join(' or ')}, got ${JSON.stringify(type)}`);
  return input<z.infer<typeof AppendJson>>(c, 'json').records.map((r) => recordFromWire(schema, r));
}

/**
 * Runs a staging write: in a session, on the session's handle; without one, queued with the
 * token's other one-shot writes to the branch and committed with them, with the author
 * (write-batcher.ts), answering once the commit holding it is published.
 */
async function stagedWrite(c: Context<ServerEnv>, sx: ServerContext, name: string, fallback: string, stage: (lease: Lease) => Promise<object>): Promise<Response> {
  const req = requestOf(c, 'write');
  const { message } = input<{ message?: string }>(c, 'query');
  if (req.session !== undefined) return withDataset(sx.pool, c.get('token'), name, req, async (lease) => wireJson(c, await stage(lease)));
  // Checked before queueing (scopes, name, branch): a refused request never joins a batch.
  const token = c.get('token');
  const key = `${token.id}\0${name}\0${checkRequest(token, name, req)}`;
  const { result, commit } = await sx.writes.submit(key, () => datasetFor(sx.pool, token, name, req), authorMeta(c), message ?? fallback, stage);
  return wireJson(c, { ...result, commit });
}

function selectorOf(schema: readonly ColumnDef[], b: z.infer<typeof Selector>): RowSelector {
  const rowIds = b.rowIds?.map((v) => {
    if (typeof v === 'string' && !/^\d+$/.test(v)) throw new QuiverError('invalid_input', `server: a row id is a decimal integer, got ${JSON.stringify(v)}`);
    return BigInt(v);
  });
  void schema;
  return { ...(b.where !== undefined ? { where: b.where } : {}), ...(b.params ? { params: paramsOf(b.params) } : {}), ...(rowIds ? { rowIds } : {}) };
}

export function addWriteRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  const dsName = (c: Context<ServerEnv>) => input<{ dataset: string }>(c, 'param').dataset;
  route(
    app,
    {
      method: 'post',
      path: '/v1/datasets/{dataset}/append',
      summary: 'Append records (committed at once unless in a write session)',
      request: {
        params: DatasetPath,
        query: WriteQuery,
        // Not `required`: a required body is validated as JSON whatever its type; this way JSON is
        // validated when sent as JSON, and Arrow and multipart bodies are read by the handler.
        body: { content: { 'application/json': { schema: AppendJson }, 'multipart/form-data': { schema: AppendForm }, 'application/vnd.apache.arrow.stream': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } } },
      },
      ok: '{ rows, rowIds, commit? }',
    },
    (c) => stagedWrite(c, sx, dsName(c), 'append', async ({ ds }) => ds.append(await appendedRecords(c, ds.schema))),
  );

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/commit', summary: 'Commit the write session\u2019s staged changes', request: { params: DatasetPath, query: AtQuery, ...json(CommitBody) }, ok: 'the commit' }, async (c) => {
    const req = requestOf(c, 'write');
    if (req.session === undefined) throw new QuiverError('invalid_input', 'server: commit needs the x-quiver-session header of the writes it commits');
    const body = input<z.infer<typeof CommitBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), req, async ({ ds }) => wireJson(c, await ds.commit(body.message, { meta: authorMeta(c, body.meta) })));
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/discard', summary: 'Drop the write session\u2019s staged changes', request: { params: DatasetPath, query: AtQuery } }, async (c) => {
    const req = requestOf(c, 'write');
    if (req.session === undefined) throw new QuiverError('invalid_input', 'server: discard needs the x-quiver-session header of the writes it drops');
    return withDataset(sx.pool, c.get('token'), dsName(c), req, async ({ ds }) => (await ds.discard(), c.json({ discarded: true })));
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/update', summary: 'Update rows by predicate or row ids (`set`), or per row (`rows`)', request: { params: DatasetPath, query: WriteQuery, ...json(UpdateBody) } }, (c) =>
    stagedWrite(c, sx, dsName(c), 'update', async ({ ds }) => {
      const b = input<z.infer<typeof UpdateBody>>(c, 'json');
      if (b.rows) return ds.update({ rows: b.rows.map((r) => recordFromWire([...ds.schema, { name: 'row_id', type: { kind: 'int64' }, nullable: false }], r)) });
      if (!b.set) throw new QuiverError('invalid_input', 'server: update needs `set` (with where or rowIds) or `rows`');
      return ds.update({ ...selectorOf(ds.schema, b), set: recordFromWire(ds.schema, b.set) });
    }),
  );

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/delete', summary: 'Delete rows by predicate or row ids', request: { params: DatasetPath, query: WriteQuery, ...json(Selector.openapi('Delete')) } }, (c) =>
    stagedWrite(c, sx, dsName(c), 'delete', async ({ ds }) => ds.delete(selectorOf(ds.schema, input<z.infer<typeof Selector>>(c, 'json')))),
  );

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/curate', summary: 'Keep only rows matching a predicate, as one commit', request: { params: DatasetPath, query: AtQuery, ...json(CurateBody) } }, async (c) => {
    const b = input<z.infer<typeof CurateBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'write'), async (lease) => wireJson(c, await unscoped(lease, c.get('token'), 'curate').curate(b.predicate, b.message, paramsOf(b.params), { meta: authorMeta(c) })));
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/merge', summary: 'Merge a branch, tag or commit into the branch', request: { params: DatasetPath, query: AtQuery, ...json(MergeBody) } }, async (c) => {
    const { source, ...options } = input<z.infer<typeof MergeBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'write'), async (lease) => wireJson(c, await unscoped(lease, c.get('token'), 'merge').merge(source, { ...options, meta: authorMeta(c) })));
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/indexes', summary: 'Build (or extend) an index on a column, as one commit', request: { params: DatasetPath, query: AtQuery, ...json(IndexBody) } }, async (c) => {
    const b = input<z.infer<typeof IndexBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'write'), async (lease) => wireJson(c, await unscoped(lease, c.get('token'), 'createIndex').createIndex(b.column, fromTagged(b.spec) as IndexSpec, { meta: authorMeta(c) })));
  });
}
