// What the route files share: the zod schemas of common request parts (dataset path, version
// query, tagged parameters), a way to register a route from its schema (so the schema that
// validates is the one /openapi.json shows), and reading the version and write session of a request.
// Invariant: a handler sees only validated input (`input(c)`), never the raw query or body.

import { createRoute, z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Commit } from '../format/index.js';
import type { Param } from '../query/index.js';
import type { ServerEnv } from './app.js';
import type { DatasetRequest } from './scope.js';
import { fromTagged, toWire } from './wire.js';

export { z };

/** `:dataset` in a path (checked again by checkDatasetName before any use). */
export const DatasetPath = z.object({ dataset: z.string().min(1).max(128).openapi({ param: { name: 'dataset', in: 'path' }, example: 'gen' }) });

/** Which version a request reads or writes: `?branch=` (default main), `?version=` or `?tag=`. */
export const AtQuery = z.object({
  branch: z.string().min(1).max(256).optional(),
  version: z.string().min(1).max(128).optional(),
  tag: z.string().min(1).max(256).optional(),
});

/** SQL parameters: JSON values, with { $bigint }, { $bytes }, { $f32 }, { $date } for the rest. */
export const Params = z.array(z.unknown()).max(1024).optional().openapi({ description: 'values for $1, $2…; tagged objects carry bigint, bytes, float32 vectors and dates' });

/** A commit message query for one-shot writes (no session): the write is committed at once with it. */
export const MessageQuery = z.object({ message: z.string().max(4096).optional() });

export const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) }).openapi('Error');

const errors = {
  400: { description: 'invalid input', content: { 'application/json': { schema: ErrorBodySchema } } },
  401: { description: 'no, forged, expired or revoked token', content: { 'application/json': { schema: ErrorBodySchema } } },
  403: { description: 'the token\u2019s scopes do not allow this', content: { 'application/json': { schema: ErrorBodySchema } } },
  404: { description: 'no such dataset, version, branch, tag or row', content: { 'application/json': { schema: ErrorBodySchema } } },
};

/** A route's description for `route()`: RouteConfig without the boilerplate error responses. */
export type RouteSpec = Omit<RouteConfig, 'responses'> & { responses?: RouteConfig['responses']; ok?: string };

/** Registers `spec` on `app` with `handler`; validation failures become `invalid_input` (app.ts). */
export function route(app: OpenAPIHono<ServerEnv>, spec: RouteSpec, handler: (c: Context<ServerEnv>) => Promise<Response>): void {
  const { ok, responses, ...rest } = spec;
  const config = createRoute({ ...rest, security: [{ bearer: [] }], responses: { 200: { description: ok ?? 'ok' }, ...errors, ...responses } } as RouteConfig);
  app.openapi(config, handler as never);
}

/** The validated part `target` of a request. */
export function input<T>(c: Context<ServerEnv>, target: 'json' | 'query' | 'param'): T {
  return (c.req as unknown as { valid(t: string): T }).valid(target);
}

/** The dataset request a route makes: version from the query, session from `x-quiver-session`. */
export function requestOf(c: Context<ServerEnv>, need: 'read' | 'write'): DatasetRequest {
  const q = input<z.infer<typeof AtQuery>>(c, 'query');
  const session = c.req.header('x-quiver-session');
  const staged = c.req.header('x-quiver-session-staged') === 'true';
  return { need, branch: q.branch, version: q.version, tag: q.tag, ...(session !== undefined ? { session, sessionStaged: staged } : {}) };
}

/** Tagged JSON parameters as `query` takes them. */
export function paramsOf(list: unknown[] | undefined): Param[] {
  return (list ?? []).map(fromTagged) as Param[];
}

/** A JSON response of `value` in wire form (bigints as strings, bytes base64). */
export function wireJson(c: Context<ServerEnv>, value: unknown, status = 200): Response {
  return c.json(toWire(value) as object, status as 200);
}

/** The commit meta that records who wrote: the token's name as author. */
export function authorMeta(c: Context<ServerEnv>, meta?: Record<string, unknown>): Record<string, unknown> {
  return { ...meta, author: c.get('token').name };
}

export type { Commit };
