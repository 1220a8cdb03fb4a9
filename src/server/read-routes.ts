// Routes that read: query, explain and near-duplicates (JSON with 64-bit integers as strings, or Arrow IPC when
// `Accept` asks for it), versions, log, and diff streamed as NDJSON. Invariant: a streamed
// response holds its dataset lease until the last line is read or the client goes away.

import type { OpenAPIHono } from '@hono/zod-openapi';
import * as arrow from 'apache-arrow';
import type { Context } from 'hono';
import type { ServerContext, ServerEnv } from './app.js';
import { ScopedDataset } from '../dataset/index.js';
import { datasetFor, withDataset } from './scope.js';
import { errorResponse } from './error-status.js';
import { streamedResponse } from './stream-route.js';
import { AtQuery, DatasetPath, Params, input, paramsOf, requestOf, route, wireJson, z } from './route-kit.js';
import { rowsToWire, toWire } from './wire.js';

export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';
/** Commits one log request returns at most. */
const LOG_LIMIT_MAX = 10_000;

const QueryBody = z.object({ sql: z.string().min(1).max(1_048_576).openapi({ example: 'select prompt, rating from dataset where rating >= $1 limit 10' }), params: Params }).openapi('Query');
const LogQuery = AtQuery.extend({ from: z.string().min(1).max(256).optional(), limit: z.coerce.number().int().min(1).max(LOG_LIMIT_MAX).optional() });
const DiffQuery = AtQuery.extend({ from: z.string().min(1).max(256), to: z.string().min(1).max(256).optional(), sinceBase: z.enum(['true', 'false']).optional(), largeValues: z.enum(['true', 'false']).optional() });

/** Pairs one near-duplicates answer holds at most; the pairs are most similar first, so the rest are the weakest. */
const NEAR_DUPLICATES_LIMIT_MAX = 100_000;
const NearDuplicatesBody = z
  .object({ column: z.string().min(1).max(256), threshold: z.number().min(-1).max(1).optional(), k: z.number().int().min(1).max(100).optional(), limit: z.number().int().min(1).max(NEAR_DUPLICATES_LIMIT_MAX).optional() })
  .openapi('NearDuplicates');

const json = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });
const wantsArrow = (c: Context<ServerEnv>) => (c.req.header('accept') ?? '').includes(ARROW_STREAM);

/** Each value of `lines` as one line of JSON; a failure midway is a last `{ "type": "error" }` line. */
async function* ndjson(lines: AsyncIterable<object>): AsyncGenerator<Uint8Array[]> {
  const enc = new TextEncoder();
  try {
    for await (const l of lines) yield [enc.encode(`${JSON.stringify(toWire(l))}\n`)];
  } catch (e) {
    yield [enc.encode(`${JSON.stringify({ type: 'error', ...errorResponse(e).body })}\n`)];
  }
}

export function addReadRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  const dsName = (c: Context<ServerEnv>) => input<{ dataset: string }>(c, 'param').dataset;

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/query', summary: 'Run one SELECT over the `dataset` view', description: `JSON { rows, types } by default (types names columns whose values are bigint, bytes, float32[] or date strings); Arrow IPC with Accept: ${ARROW_STREAM}`, request: { params: DatasetPath, query: AtQuery, ...json(QueryBody) } }, async (c) => {
    const b = input<z.infer<typeof QueryBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'), async ({ ds }) => {
      if (wantsArrow(c)) return new Response(arrow.tableToIPC(await ds.queryArrow(b.sql, paramsOf(b.params)), 'stream') as Uint8Array<ArrayBuffer>, { headers: { 'content-type': ARROW_STREAM } });
      return c.json(rowsToWire(await ds.query(b.sql, paramsOf(b.params))));
    });
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/explain', summary: 'How a query would run', request: { params: DatasetPath, query: AtQuery, ...json(QueryBody) } }, async (c) => {
    const b = input<z.infer<typeof QueryBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'), async ({ ds }) => wireJson(c, await ds.explain(b.sql, paramsOf(b.params))));
  });

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/near-duplicates', summary: 'Pairs of rows whose embeddings are near-duplicates, most similar first', description: '{ pairs: [{ a, b, similarity }], truncated }: each pair once (a < b), cosine similarity >= threshold (default 0.95) among each row\'s k (default 10) nearest; at most limit (default 1,000) pairs. One search per row, bounded by the request deadline.', request: { params: DatasetPath, query: AtQuery, ...json(NearDuplicatesBody) } }, async (c) => {
    const b = input<z.infer<typeof NearDuplicatesBody>>(c, 'json');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'), async ({ ds }) => {
      const pairs = await ds.nearDuplicates(b.column, { threshold: b.threshold, k: b.k, signal: c.get('deadline') });
      const limit = b.limit ?? 1_000;
      return wireJson(c, { pairs: pairs.slice(0, limit), truncated: pairs.length > limit });
    });
  });

  route(app, { method: 'get', path: '/v1/datasets/{dataset}/versions', summary: 'The versions of the branch (first parents), oldest first', request: { params: DatasetPath, query: AtQuery } }, async (c) =>
    withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'), async ({ ds }) => {
      const deadline = c.get('deadline');
      // A tenant's versions count its rows per version: that walk checks the deadline per version.
      const versions = ds instanceof ScopedDataset ? await ds.versions({ signal: deadline }) : await ds.versions();
      deadline.throwIfAborted();
      return wireJson(c, { versions });
    }),
  );

  route(app, { method: 'get', path: '/v1/datasets/{dataset}/log', summary: 'Commits reachable from the version (or `from`), newest first', request: { params: DatasetPath, query: LogQuery } }, async (c) => {
    const q = input<z.infer<typeof LogQuery>>(c, 'query');
    return withDataset(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'), async ({ ds }) => {
      const commits = [];
      const deadline = c.get('deadline');
      for await (const commit of ds.log({ from: q.from, limit: q.limit ?? 100 })) {
        deadline.throwIfAborted();
        commits.push(commit);
      }
      return wireJson(c, { commits });
    });
  });

  route(app, { method: 'get', path: '/v1/datasets/{dataset}/diff', summary: 'Rows added, removed and changed between two versions, as NDJSON', description: 'First line { type: "summary", from, to, base, counts, schema }, then one { type: "row", rowId, change, row?, columns? } per row, then { type: "end" } (or { type: "error", error }).', request: { params: DatasetPath, query: DiffQuery }, ok: 'application/x-ndjson' }, async (c) => {
    const q = input<z.infer<typeof DiffQuery>>(c, 'query');
    const lease = await datasetFor(sx.pool, c.get('token'), dsName(c), requestOf(c, 'read'));
    try {
      const deadline = c.get('deadline');
      const d = await lease.ds.diff(q.from, q.to, { sinceBase: q.sinceBase === 'true', largeValues: q.largeValues === 'true' });
      // Past the deadline before the first byte: a 504; after it, a last { type: "error" } line.
      deadline.throwIfAborted();
      async function* lines(): AsyncGenerator<object> {
        yield { type: 'summary', from: d.from, to: d.to, base: d.base, counts: d.counts, schema: d.schema };
        for await (const r of d.rows()) {
          deadline.throwIfAborted();
          yield { type: 'row', ...r };
        }
        yield { type: 'end' };
      }
      return streamedResponse(c, ndjson(lines()), lease, 'application/x-ndjson');
    } catch (e) {
      await lease.release();
      throw e;
    }
  });
}
