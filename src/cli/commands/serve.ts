// `quiver serve --root DIR|URL --port N`: the HTTP server (src/server) over every dataset under a
// root, until SIGINT or SIGTERM. Prints one "listening on URL" line (or, with --json, one JSON
// line) once the port is bound, so scripts can wait for it; on a root with no admin token the
// server makes one, shown in that line's --json form or on stderr, once (docs/server.md).

import { QuiverError } from '../../errors.js';
import { intFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';
import { untilStopped } from '../until-stopped.js';

export const serveCommand: Command = {
  summary: 'serve the datasets under a root over HTTP',
  usage: 'usage: quiver serve --root DIR|s3://bucket/prefix [--port 7700] [--host 127.0.0.1] [--json]',
  examples: ['quiver serve --root ./ --port 7700', 'quiver serve --root s3://bucket/datasets --host 0.0.0.0'],
  async run(args) {
    const { values } = parseCommand('serve', args, { root: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } }, []);
    if (typeof values.root !== 'string') throw new QuiverError('invalid_input', 'cli: serve needs --root DIR|URL');
    const port = intFlag('port', values.port, 7700, 0);
    // Loaded here, not at the top: the server's modules cost every other command's start-up.
    const { serve } = await import('../../server/index.js');
    const server = await serve({
      root: values.root,
      port,
      ...(typeof values.host === 'string' ? { hostname: values.host } : {}),
      // With --json the token goes into the one JSON line; without, serve prints it on stderr.
      ...(values.json ? { onBootstrapToken: () => undefined } : {}),
    });
    await untilStopped(() => server.close(), () =>
      printResult(values.json, { url: server.url, port: server.port, root: values.root, bootstrapToken: server.bootstrapToken ?? null },
        () => `quiver serve: listening on ${server.url} (root ${values.root})`));
    return 0;
  },
};
