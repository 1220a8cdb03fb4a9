// Serves an app over HTTP with @hono/node-server on one port of one host; `close()` stops
// accepting and ends open connections, so a test or a CLI can shut down without waiting.

import { serve as honoServe } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

export interface ServeOptions {
  /** Default 7700; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function serve(app: Hono, options: ServeOptions = {}): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = honoServe({ fetch: app.fetch, port: options.port ?? 7700, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
