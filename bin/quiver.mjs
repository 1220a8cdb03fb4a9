#!/usr/bin/env node
// The `quiver` launcher (package.json "bin"). In an installed package (dist/ shipped, no src/) it
// runs the built CLI in this process. In a checkout (src/ present) it runs the TypeScript source
// under tsx in one child process, passing on its exit status and signals, so a stale dist/ left
// by an earlier `npm pack` is never what runs.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (!existsSync(source)) {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
} else {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), source, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  // Die of the child's signal as the child did: the forwarding handler must go first, or the
  // re-raised signal would only call it again and the launcher would exit 0.
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1);
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}
