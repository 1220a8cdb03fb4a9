// `quiver serve --root DIR|URL --port N`: the HTTP server over every dataset under a root (a
// dataset is the folder or prefix `<root>/<name>`), until SIGINT or SIGTERM. Prints one
// "listening on URL" line once the port is bound, so scripts can wait for it.
// Invariant: a name is one path segment, so a request cannot address anything outside the root.

import { resolve } from 'node:path';
import { QuiverError } from '../../errors.js';
import { intFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';

/** A dataset name as a path segment: letters, digits, `.`, `_`, `-`, not starting with a dot. */
const datasetName = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** The URL of dataset `name` under `root`, or undefined for a name that is not one segment. */
export function datasetUnder(root: string, name: string): string | undefined {
  if (!datasetName.test(name)) return undefined;
  return `${root.replace(/\/+$/, '')}/${name}`;
}

export const serveCommand: Command = {
  summary: 'serve the datasets under a root over HTTP',
  usage: 'usage: quiver serve --root DIR|s3://bucket/prefix [--port 7700] [--host 127.0.0.1] [--json]',
  examples: ['quiver serve --root ./ --port 7700', 'quiver serve --root s3://bucket/datasets --host 0.0.0.0'],
  async run(args) {
    const { values } = parseCommand('serve', args, { root: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } }, []);
    if (typeof values.root !== 'string') throw new QuiverError('invalid_input', 'cli: serve needs --root DIR|URL');
    const root = /^[a-z][a-z0-9+.-]*:\/\//i.test(values.root) ? values.root : resolve(values.root);
    const port = intFlag('port', values.port, 7700, 0);
    // Loaded here, not at the top: the server's modules cost every other command's start-up.
    const { createApp, serve } = await import('../../server/index.js');
    const app = createApp({ datasets: (name) => datasetUnder(root, name) });
    const server = await serve(app, { port, ...(typeof values.host === 'string' ? { hostname: values.host } : {}) });
    printResult(values.json, { url: server.url, port: server.port, root }, () => `quiver serve: listening on ${server.url} (root ${root})`);
    await new Promise<void>((done) => {
      const stop = () => void server.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
