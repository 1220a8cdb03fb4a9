// Long-running commands (serve, worker) run until SIGINT or SIGTERM. The handlers go in before
// the ready line is printed: a supervisor (or a test) that signals as soon as it reads the line
// would otherwise kill the process by the signal's default action, before `close` ran (seen in
// tests/cli/docs-sh.test.ts: serve exited by SIGTERM, status 128, under a load of ~17).

/** Calls `ready` once the stop signals are handled, then resolves after `close` on the first one. */
export function untilStopped(close: () => Promise<void>, ready: () => void): Promise<void> {
  return new Promise<void>((done, fail) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      close().then(done, fail);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    ready();
  });
}
