// The HTTP server's app factory: an OpenAPIHono app over one root with the routes Quiver serves,
// one route file per area (datasets, writes, reads, refs, images, tokens, stream). Invariants:
// every /v1 request carries a genuine, live token (auth middleware) and holds one of its
// token's bounded concurrency slots; every error is answered through error-status.ts; every
// request body is bounded; request schemas are the ones /openapi.json documents.

import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Context, Next } from 'hono';
import { QuiverError } from '../errors.js';
import type { ObjectStore, StoreOptions } from '../storage/index.js';
import { verifyToken, type TokenInfo } from './auth/index.js';
import { errorResponse } from './error-status.js';
import { Deadline, REQUEST_MS_DEFAULT } from './deadline.js';
import { ServerRoot } from './root.js';
import { HandlePool, type PoolOptions } from './scope.js';
import { WriteBatcher } from './write-batcher.js';
import { addDatasetRoutes } from './dataset-routes.js';
import { addWriteRoutes } from './write-routes.js';
import { addReadRoutes } from './read-routes.js';
import { addRefRoutes } from './ref-routes.js';
import { addImageRoute } from './image-route.js';
import { addTokenRoutes } from './token-routes.js';
import { addStreamRoutes } from './stream-route.js';
import { addStaticRoutes } from './static-route.js';

export interface AppOptions extends PoolOptions {
  /** The root the datasets live under (`file:///srv/quiver`, `s3://bucket/prefix`, a path) or its store. */
  root: string | ObjectStore;
  /** Options for the root's store (credentials, endpoint…). */
  storage?: StoreOptions;
  /** Largest request body accepted, in bytes; a larger one is `too_large` (413). Default 64 MiB. */
  requestBytesMax?: number;
  /** Requests one token may have in flight; more are `too_many_requests` (429). Default 16. */
  tokenRequestsMax?: number;
  /**
   * How long a request's non-SQL work may run (a diff and its rows, versions' row counts, a log
   * walk): checked between steps, then `timeout` (504). Default 10,000 (the sandbox's statementMs).
   * The training stream is not bounded by it: an epoch is meant to take long.
   */
  requestMs?: number;
  /** The clock deadlines read (ms). Default Date.now; tests pass their own to expire one exactly. */
  clock?: () => number;
  /** The built web UI's folder, served at `/` (docs/web-ui.md); false serves no UI. Default the package's dist/web. */
  webDir?: string | false;
}

/**
 * Hono's per-request variables: the authenticated token, and `holdSlot()`, which a route whose
 * response body streams calls as it returns: the token's concurrency slot is then given back
 * by the function it returns (when the body ends or is cancelled), not when the handler returns.
 */
export type ServerEnv = { Variables: { token: TokenInfo; holdSlot: () => () => void; deadline: Deadline } };

/** What every route file gets: the root, its handle pool and the bounds. */
export interface ServerContext {
  root: ServerRoot;
  pool: HandlePool;
  /** Group commit of one-shot writes. */
  writes: WriteBatcher;
  requestBytesMax: number;
}

/** A Hono app that also owns handles: `close()` releases them (serve() calls it). */
export type QuiverApp = OpenAPIHono<ServerEnv> & { quiver: ServerContext; close(): Promise<void> };

/** Checks the bearer token of a /v1 request and holds one of its concurrency slots while it runs. */
function authMiddleware(root: ServerRoot, tokenRequestsMax: number, requestMs: number, clock: (() => number) | undefined) {
  const inFlight = new Map<string, number>();
  return async (c: Context<ServerEnv>, next: Next) => {
    c.set('deadline', new Deadline(requestMs, clock));
    const header = c.req.header('authorization');
    const token = await verifyToken(root.store, /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1]);
    const n = inFlight.get(token.id) ?? 0;
    if (n >= tokenRequestsMax) throw new QuiverError('too_many_requests', `server: token "${token.name}" already has ${n} requests in flight (tokenRequestsMax)`, { token: token.name });
    inFlight.set(token.id, n + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inFlight.get(token.id) ?? 1) - 1;
      if (left === 0) inFlight.delete(token.id);
      else inFlight.set(token.id, left);
    };
    // A streamed response (diff, stream) keeps reading the dataset after its handler returns,
    // so it keeps its slot until its body ends: the route holds the slot and releases it then.
    let held = false;
    c.set('token', token);
    c.set('holdSlot', () => ((held = true), release));
    try {
      await next();
    } finally {
      if (!held || c.error) release();
    }
  };
}

/**
 * The Quiver HTTP app over a root. Serve it with `serve()` (serve.ts) or any fetch-based host;
 * call `app.close()` when done with it. docs/server.md lists the routes.
 *
 * @example
 * const app = createApp({ root: 's3://gen' });
 * const server = await serve(app, { port: 7700 });
 */
export function createApp(options: AppOptions): QuiverApp {
  const root = new ServerRoot(options.root, options.storage);
  const sx: ServerContext = { root, pool: new HandlePool(root, options), writes: new WriteBatcher(), requestBytesMax: options.requestBytesMax ?? 64 * 1024 * 1024 };
  const app = new OpenAPIHono<ServerEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new QuiverError('invalid_input', `server: request ${result.target} ${issue?.path.join('.') || ''} ${issue?.message ?? 'is invalid'}`.replace(/\s+/g, ' ').trim(), { issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
      }
    },
  }) as QuiverApp;
  app.onError((e, c) => {
    const { status, body } = errorResponse(e);
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `server: no route ${c.req.method} ${c.req.path}` } }, 404));
  // Auth first: no body of an unauthenticated request is read, and a slow body holds its token's slot.
  app.use('/v1/*', authMiddleware(root, options.tokenRequestsMax ?? 16, options.requestMs ?? REQUEST_MS_DEFAULT, options.clock));
  app.use('/v1/*', bodyLimit({ maxSize: sx.requestBytesMax, onError: () => { throw new QuiverError('too_large', `server: request body over requestBytesMax ${sx.requestBytesMax}`); } }));
  addDatasetRoutes(app, sx);
  addWriteRoutes(app, sx);
  addReadRoutes(app, sx);
  addRefRoutes(app, sx);
  addImageRoute(app, sx);
  addTokenRoutes(app, sx);
  addStreamRoutes(app, sx);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'A Quiver token, qv_<id>_<secret>' });
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Quiver', version: '1' }, security: [{ bearer: [] }] });
  // Last: the UI's files answer only paths no API route took (and need no token: they hold no data).
  if (options.webDir !== false) addStaticRoutes(app, options.webDir);
  app.quiver = sx;
  app.close = () => sx.pool.close();
  return app;
}
