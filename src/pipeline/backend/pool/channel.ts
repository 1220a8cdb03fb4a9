// A channel to one UDF host: a worker thread or a child process behind the same three calls.
// Children get the parent's execArgv (minus test, inspect and eval flags), so a parent started
// with `--import tsx` runs TypeScript UDF modules in its children too.

import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transferable } from '../../ipc.js';
import type { HostMessage, ParentMessage } from '../host/protocol.js';

export interface Channel {
  send(m: ParentMessage): void;
  /** Registers the handlers; `onExit` fires once when the host dies or is killed. */
  listen(onMessage: (m: HostMessage) => void, onExit: (reason: string) => void): void;
  kill(): void;
}

export type ChannelFactory = () => Channel;

/** The host entry next to this file: `.ts` when running from source under tsx, `.js` when built. */
function hostUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`../host/udf-host${ext}`, import.meta.url);
}

const droppedFlag = /^--(test|inspect|eval|print|watch|experimental-test)|^-[ep]$/;
const moduleFlag = /^(--import|--loader|--experimental-loader|--require|-r)$/;
/** The working directory Node resolved `--import` and friends from, before any chdir. */
const startCwd = process.cwd();

/** A bare `--import` specifier made absolute, so children resolve it wherever the parent has chdir'd to. */
function absoluteSpecifier(spec: string): string {
  if (/^(\.|\/|file:|node:|data:)/.test(spec)) return spec.startsWith('.') ? pathToFileURL(join(startCwd, spec)).href : spec;
  try {
    return pathToFileURL(createRequire(join(startCwd, 'noop.js')).resolve(spec)).href;
  } catch {
    try {
      return import.meta.resolve(spec);
    } catch {
      return spec;
    }
  }
}

/** The parent's execArgv without the flags that must not be inherited by a UDF host. */
export function childExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (droppedFlag.test(argv[i])) {
      if (/^(-e|-p|--eval|--print)$/.test(argv[i])) i++;
      continue;
    }
    if (moduleFlag.test(argv[i]) && i + 1 < argv.length) {
      out.push(argv[i], absoluteSpecifier(argv[++i]));
      continue;
    }
    const eq = /^(--import|--loader|--experimental-loader|--require)=(.*)$/.exec(argv[i]);
    out.push(eq ? `${eq[1]}=${absoluteSpecifier(eq[2])}` : argv[i]);
  }
  return out;
}

export const processChannel: ChannelFactory = () => {
  const child = fork(fileURLToPath(hostUrl()), [], {
    execArgv: childExecArgv(),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    send: (m) => child.send(m),
    listen(onMessage, onExit) {
      child.on('message', (m) => onMessage(m as HostMessage));
      let done = false;
      const exit = (why: string) => {
        if (!done) (done = true), onExit(why);
      };
      child.on('exit', (code, signal) => exit(signal ? `killed by ${signal}` : `exited with code ${code}`));
      child.on('error', (e) => exit(e.message));
    },
    kill: () => void child.kill('SIGKILL'),
  };
};

/** A URL for tsx's ESM API when this process runs TypeScript through tsx, else undefined. */
function tsxApiUrl(): string | undefined {
  if (!import.meta.url.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx'))) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

export const threadChannel: ChannelFactory = () => {
  // Node 20 does not carry module hooks into workers, so the worker registers tsx itself first.
  const tsx = tsxApiUrl();
  const host = JSON.stringify(hostUrl().href);
  const code = tsx
    ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${host}); });`
    : `import(${host});`;
  const worker = new Worker(code, { eval: true });
  return {
    send(m) {
      if (m.t !== 'call') return worker.postMessage(m);
      const t = transferable(m.ipc);
      worker.postMessage({ ...m, ipc: t.bytes }, [t.buffer]);
    },
    listen(onMessage, onExit) {
      worker.on('message', onMessage);
      let done = false;
      const exit = (why: string) => {
        if (!done) (done = true), onExit(why);
      };
      worker.on('error', (e) => exit(`worker error: ${e.message}`));
      worker.on('exit', (code) => exit(`exited with code ${code}`));
    },
    kill: () => void worker.terminate(),
  };
};
