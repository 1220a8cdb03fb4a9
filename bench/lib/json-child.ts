// Runs a bench child script in a fresh Node process (tsx loaded) with one JSON argument and
// resolves with the JSON of its last stdout line; a non-zero exit rejects with its stderr's tail.

import { spawn } from 'node:child_process';

export function runJsonChild<T>(script: string, arg: unknown, what: string, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as T);
      else reject(new Error(`bench: ${what} exited ${code}: ${err.trim().slice(-2000)}`));
    });
  });
}
