#!/usr/bin/env node
// The `quiver` launcher (package.json "bin"): runs the built CLI when dist/ exists, otherwise the
// TypeScript source under tsx, in one child process whose exit status and signals it passes on.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const args = existsSync(built) ? [built] : ['--import', import.meta.resolve('tsx'), source];
const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
// Die of the child's signal as the child did: the forwarding handler must go first, or the
// re-raised signal would only call it again and the launcher would exit 0.
child.on('exit', (code, signal) => {
  if (!signal) process.exit(code ?? 1);
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
});
