// The bullmq runner tests' parts: `quiver worker` child processes (ready when they say so),
// a private redis-server a test may kill and restart, and a configured runner per test with its
// own key prefix, so test files sharing the test Redis never serve each other's runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configure } from '../../../../src/pipeline/index.js';

const cli = resolve('src/cli/main.ts');
const tsx = import.meta.resolve('tsx');

export interface WorkerProcess {
  proc: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `quiver worker` (after importing `preload`, a module URL, when given) and resolves once it prints "ready" (rejects with its output if it exits first). */
export function startWorkerProcess(redis: string, args: string[], o: { cwd?: string; env?: Record<string, string>; preload?: string } = {}): Promise<WorkerProcess> {
  const preload = o.preload ? ['--import', o.preload] : [];
  const proc = spawn(process.execPath, ['--import', tsx, ...preload, cli, 'worker', '--redis', redis, ...args], {
    cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const w: WorkerProcess = {
    proc,
    pid: proc.pid!,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((ok, fail) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/: ready\n/.test(out)) ok(w);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => fail(new Error(`worker exited with ${code} before ready:\n${out}`)));
  });
}

/** Starts coordinator-process.ts (the held pipeline on the bullmq runner); resolves once it says "started". */
export function startCoordinatorProcess(redis: string, prefix: string, store: string, announcementTtlMs: number): Promise<{ proc: ChildProcess; kill(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', tsx, resolve('tests/pipeline/runner/bullmq/coordinator-process.ts'), redis, prefix, store, String(announcementTtlMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let out = '';
  return new Promise((ok, fail) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started')) ok({ proc, kill: async () => void (proc.kill('SIGKILL'), await exited) });
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => fail(new Error(`coordinator exited with ${code} before it started:\n${out}`)));
  });
}

/** A suite's teardown: the local runner back, the connection closed, its workers stopped, its temp folder removed. */
export async function tearDown(restore: () => void, con: { close(): Promise<void> } | undefined, workers: WorkerProcess[], tmp: { dispose(): void }): Promise<void> {
  restore();
  await con?.close();
  await Promise.all(workers.map((w) => w.stop()));
  tmp.dispose();
}

export function uniquePrefix(): string {
  return `t${process.pid}${Math.random().toString(36).slice(2, 8)}`;
}

/** A temp folder (markers, the run store) removed by `dispose`. */
export function tempDir(label: string): { path: string; url: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), `quiver-${label}-`));
  return { path, url: pathToFileURL(path).href, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** Configures the bullmq runner for a test; returns the function that puts `local` back. */
export function useCluster(connection: string, prefix: string, store: string, extra: Record<string, unknown> = {}): () => void {
  configure({ runner: { kind: 'bullmq', connection, prefix, store, watchIntervalMs: 100, ...extra }, progress: 'off' });
  return () => void configure({ runner: 'local' });
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  /** Kills the server (SIGKILL: it keeps nothing) and starts a new empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of this test's own, on a free loopback port, without persistence. */
export async function privateRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess;
  const boot = () =>
    new Promise<void>((ok, fail) => {
      proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) ok();
      });
      proc.once('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  const kill = () =>
    new Promise<void>((ok) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return ok();
      proc.once('exit', () => ok());
      proc.kill('SIGKILL');
    });
  await boot();
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill();
      await boot();
    },
    stop: kill,
  };
}
