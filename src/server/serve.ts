// Serves an app over HTTP with @hono/node-server on one port of one host; `close()` stops
// accepting, ends open connections and closes the app's dataset handles, so a test or a CLI can
// shut down without waiting. `serve({ root })` builds the app too, and on a root with no live
// admin token makes one and hands it over once (the bootstrap; docs/server.md).

import { serve as honoServe } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions, type QuiverApp } from './app.js';
import { createToken, listTokens } from './auth/index.js';

export interface ServeOptions {
  /** Default 7700; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
}

export interface ServeRootOptions extends AppOptions, ServeOptions {
  /**
   * Called once with a new admin token when the root has no live admin token (its only showing:
   * only the hash is stored). Default: printed to stderr. `false`: make none.
   */
  onBootstrapToken?: ((token: string) => void) | false;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The admin token made at start on a root that had none (see ServeRootOptions.onBootstrapToken). */
  bootstrapToken?: string;
  close(): Promise<void>;
}

/** Makes the first admin token of `root` when it has no live one; returns it, or undefined. */
export async function bootstrapAdminToken(app: QuiverApp): Promise<string | undefined> {
  const live = (await listTokens(app.quiver.root.store)).filter((t) => t.role === 'admin' && !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > Date.now()));
  if (live.length > 0) return undefined;
  return (await createToken(app.quiver.root.store, 'bootstrap-admin', { role: 'admin' })).token;
}

/**
 * Serves Quiver over HTTP: `serve({ root, port })` over a root, or `serve(app, { port })` for an
 * app made with createApp.
 *
 * @example
 * const server = await serve({ root: 's3://gen', port: 7700 });   // prints an admin token on a new root
 * await server.close();
 */
export async function serve(options: ServeRootOptions): Promise<RunningServer>;
export async function serve(app: Hono | QuiverApp, options?: ServeOptions): Promise<RunningServer>;
export async function serve(appOrOptions: Hono | QuiverApp | ServeRootOptions, options: ServeOptions = {}): Promise<RunningServer> {
  if (!('fetch' in appOrOptions)) {
    const o = appOrOptions;
    const app = createApp(o);
    let bootstrapToken: string | undefined;
    if (o.onBootstrapToken !== false) {
      bootstrapToken = await bootstrapAdminToken(app);
      if (bootstrapToken) (o.onBootstrapToken ?? ((t: string) => process.stderr.write(`quiver: no admin token on ${app.quiver.root.url}; made one (shown once):\n${t}\n`)))(bootstrapToken);
    }
    const running = await listen(app, o);
    return { ...running, ...(bootstrapToken ? { bootstrapToken } : {}) };
  }
  return listen(appOrOptions, options);
}

function listen(app: Hono | QuiverApp, options: ServeOptions): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = honoServe({ fetch: app.fetch, port: options.port ?? 7700, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        port: info.port,
        close: async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          });
          await (app as Partial<QuiverApp>).close?.();
        },
      });
    });
    server.once('error', reject);
  });
}
