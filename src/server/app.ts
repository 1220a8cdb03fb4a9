// The HTTP server's app factory: a Hono app with the routes Quiver serves and the one error
// table. Routes are added by one function per area (`addStreamRoutes`), so the server issue's
// auth, tenants and other routes extend the same app. Invariant: every error a route throws is
// answered through error-status.ts.

import { Hono } from 'hono';
import type { ObjectStore } from '../storage/index.js';
import { errorResponse } from './error-status.js';
import { addStreamRoutes, type DatasetResolver } from './stream-route.js';
import { addStaticRoutes } from './static-route.js';
import { addUiRoutes, type UiRoutesOptions } from './ui-routes.js';

export interface AppOptions {
  /** The datasets served, by name: a map of name → URL or store, or a function. */
  datasets: Record<string, string | ObjectStore> | DatasetResolver;
  /** The built web UI's folder, served at `/`; false serves no UI. Default dist/web of the package. */
  webDir?: string | false;
  /** Who may write from the web UI (thumbs and ratings); by default nobody. */
  ui?: Pick<UiRoutesOptions, 'authorizeWrite'>;
}

/**
 * The Quiver HTTP app. Serve it with `serve()` (serve.ts) or any fetch-based host.
 *
 * @example
 * const app = createApp({ datasets: { gen: 's3://gen/main' } });
 * const server = await serve(app, { port: 7700 });
 */
export function createApp(options: AppOptions): Hono {
  const d = options.datasets;
  const resolve: DatasetResolver = typeof d === 'function' ? d : (name) => (Object.hasOwn(d, name) ? d[name] : undefined);
  const app = new Hono();
  app.onError((e, c) => {
    const { status, body } = errorResponse(e);
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `server: no route ${c.req.method} ${c.req.path}` } }, 404));
  addStreamRoutes(app, resolve);
  addUiRoutes(app, resolve, { datasetNames: typeof d === 'function' ? [] : Object.keys(d), ...options.ui });
  // Last: the UI's files answer only paths no API route took.
  if (options.webDir !== false) addStaticRoutes(app, options.webDir);
  return app;
}
