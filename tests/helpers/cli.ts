// Runs `quiver` as a user does: bin/quiver.mjs in a child process, stdin closed, output captured.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const QUIVER_BIN = resolve('bin/quiver.mjs');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output (Arrow). */
  bytes: Buffer;
}

/** Runs `quiver …args` in `cwd` and resolves once it exits. */
export function quiver(args: string[], cwd: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [QUIVER_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', fail);
    child.on('close', (status) => {
      const bytes = Buffer.concat(out);
      done({ status, stdout: bytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes });
    });
  });
}

/** The one JSON document a `--json` run printed, after checking it exited 0. */
export function jsonOf(r: CliRun): any {
  if (r.status !== 0) throw new Error(`quiver exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
