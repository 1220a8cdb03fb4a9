// The `quiver` program: runs the command line and exits with its status.
// Started by bin/quiver.mjs (under tsx from source, or plain node once built).

import { main } from './commands.js';

process.exitCode = await main(process.argv.slice(2));
