// The stream route: `GET /v1/datasets/:dataset/stream` streams ds.stream() batches as npy frames
// (npy-frames.ts; the default, for Python) or one Arrow IPC stream (`format=arrow`, for JS);
// `GET …/stream/info` answers the epoch's size. Query parameters spell StreamOptions (below).
// Invariants: every option and the `where` are checked before the status line, so a bad input
// is a 4xx; the response is pulled batch by batch, so a slow client holds back the reading;
// the dataset comes from scope.ts's datasetFor like every other route's.

import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { QuiverError } from '../errors.js';
import { batchToArrow, type Stream, type StreamOptions } from '../stream/index.js';
import type { ServerContext, ServerEnv } from './app.js';
import { datasetFor, type Lease } from './scope.js';
import { DatasetPath, z } from './route-kit.js';
import { errorResponse } from './error-status.js';
import { batchFrame, endFrame, errorFrame } from './npy-frames.js';
import { arrowStreamParts } from './arrow-ipc.js';

const bad = (message: string) => new QuiverError('invalid_input', `server: ${message}`);

function num(q: Record<string, string>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw bad(`query parameter ${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

function json<T>(q: Record<string, string>, name: string): T | undefined {
  if (q[name] === undefined) return undefined;
  try {
    return JSON.parse(q[name]) as T;
  } catch {
    throw bad(`query parameter ${name} must be JSON, got ${JSON.stringify(q[name])}`);
  }
}

/**
 * StreamOptions from query parameters: columns (comma-separated), where, batchRows,
 * batchBytesMax, seed (+ blockRows, windowBlocks), epoch, rank, worldSize, worker, workers,
 * remainder, decode (JSON), onUndecodable, prefetchBatches, resume (a cursor, JSON).
 */
export function streamOptionsOf(q: Record<string, string>): StreamOptions {
  const seed = num(q, 'seed');
  const worldSize = num(q, 'worldSize');
  return {
    columns: q.columns?.split(',').map((c) => c.trim()).filter((c) => c !== ''),
    where: q.where,
    batchRows: num(q, 'batchRows'),
    batchBytesMax: num(q, 'batchBytesMax'),
    shuffle: seed === undefined ? undefined : { seed, blockRows: num(q, 'blockRows'), windowBlocks: num(q, 'windowBlocks') },
    epoch: num(q, 'epoch'),
    shard: worldSize === undefined && q.workers === undefined ? undefined : { rank: num(q, 'rank') ?? 0, worldSize: worldSize ?? 1, worker: num(q, 'worker'), workers: num(q, 'workers') },
    remainder: q.remainder as StreamOptions['remainder'],
    decode: json(q, 'decode'),
    onUndecodable: q.onUndecodable as StreamOptions['onUndecodable'],
    prefetchBatches: num(q, 'prefetchBatches'),
    resume: json(q, 'resume'),
  };
}

/** Opens the stream a request asks for and checks it whole (options, `where`), releasing the lease on failure. */
async function openStream(sx: ServerContext, c: Context<ServerEnv>): Promise<{ lease: Lease; stream: Stream }> {
  const q = c.req.query();
  const lease = await datasetFor(sx.pool, c.get('token'), c.req.param('dataset')!, { need: 'read', branch: q.branch, version: q.version, tag: q.tag });
  try {
    const stream = lease.ds.stream(streamOptionsOf(q));
    await stream.info();
    return { lease, stream };
  } catch (e) {
    await lease.release();
    throw e;
  }
}

/** Adds the stream routes to `app`. */
/** The stream routes in /openapi.json (their query parameters are read by streamOptionsOf, not zod). */
function documentStreamRoutes(app: OpenAPIHono<ServerEnv>): void {
  const query = z.object(Object.fromEntries(STREAM_PARAMS.map((k) => [k, z.string().optional()])));
  for (const [path, summary] of [
    ['/v1/datasets/{dataset}/stream', 'Training batches of one version: npy frames (default) or Arrow IPC (format=arrow); docs/training.md'],
    ['/v1/datasets/{dataset}/stream/info', 'The epoch\u2019s size and the cursor that starts it'],
  ] as const) {
    app.openAPIRegistry.registerPath({ method: 'get', path, summary, security: [{ bearer: [] }], request: { params: DatasetPath, query: query.extend({ format: z.enum(['npy', 'arrow']).optional() }) }, responses: { 200: { description: 'ok' } } });
  }
}

/** Query parameters of the stream routes (format aside): the version and StreamOptions. */
const STREAM_PARAMS = ['branch', 'version', 'tag', 'columns', 'where', 'batchRows', 'batchBytesMax', 'seed', 'blockRows', 'windowBlocks', 'epoch', 'rank', 'worldSize', 'worker', 'workers', 'remainder', 'decode', 'onUndecodable', 'prefetchBatches', 'resume'];

export function addStreamRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  documentStreamRoutes(app);
  app.get('/v1/datasets/:dataset/stream/info', async (c) => {
    const { lease, stream } = await openStream(sx, c);
    try {
      return c.json({ ...(await stream.info()), cursor: stream.state() });
    } finally {
      await lease.release();
    }
  });
  app.get('/v1/datasets/:dataset/stream', async (c) => {
    const format = c.req.query('format') ?? 'npy';
    if (format !== 'npy' && format !== 'arrow') throw bad(`format must be npy or arrow, got ${JSON.stringify(format)}`);
    const { lease, stream } = await openStream(sx, c);
    const parts = format === 'npy' ? npyParts(stream) : arrowStreamParts(stream, batchToArrow, () => stream.emptyBatch());
    const type = format === 'npy' ? 'application/x-quiver-npy-frames' : 'application/vnd.apache.arrow.stream';
    return streamedResponse(c, parts, lease, type);
  });
}

async function* npyParts(stream: Stream): AsyncGenerator<Uint8Array[]> {
  try {
    for await (const b of stream) yield batchFrame(b, stream.state());
    yield endFrame(stream.stats);
  } catch (e) {
    yield errorFrame(errorResponse(e).body);
  }
}

/**
 * The response of a streamed route: `parts` pulled as the client reads, with the lease and the
 * token's concurrency slot (app.ts) held until the body ends or the client goes away.
 */
export function streamedResponse(c: Context<ServerEnv>, parts: AsyncGenerator<Uint8Array[]>, lease: Lease, type: string): Response {
  const slot = c.get('holdSlot')();
  return new Response(pulled(parts, async () => {
    try {
      await lease.release();
    } finally {
      slot();
    }
  }), { headers: { 'content-type': type } });
}

/** A byte stream that asks `parts` for the next frame only when the client has read the last. */
export function pulled(parts: AsyncGenerator<Uint8Array[]>, done: () => Promise<void>): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    await done();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: IteratorResult<Uint8Array[]>;
        try {
          next = await parts.next();
        } catch (e) {
          // Arrow IPC has no error frame: the body is cut off (the client's read fails), and the handle is released.
          await finish();
          throw e;
        }
        if (next.done) {
          await finish();
          controller.close();
          return;
        }
        for (const p of next.value) controller.enqueue(p);
      },
      async cancel() {
        await parts.return(undefined);
        await finish();
      },
    },
    { highWaterMark: 0 },
  );
}
