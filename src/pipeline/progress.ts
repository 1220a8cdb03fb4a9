// Progress for long runs: an `onProgress` callback for programs, and a few live lines on
// stderr (rows, batches and rows/s per stage) only when stderr is a TTY and the run has taken
// longer than `progressDelayMs`. Both are throttled to one update per `progressIntervalMs`.

import type { RunReport } from './report.js';

export interface ProgressOptions {
  onProgress?: (report: RunReport) => void;
  /** 'auto': on a TTY only. Default 'auto'. */
  terminal?: 'auto' | 'on' | 'off';
  /** Minimum time between updates. Default 200 ms. */
  progressIntervalMs?: number;
  /** Runs shorter than this draw nothing on the terminal. Default 1000 ms. */
  progressDelayMs?: number;
}

export interface Progress {
  update(report: RunReport): void;
  finish(report: RunReport): void;
}

function rate(n: number, ms: number): string {
  return ms > 0 ? `${Math.round((n * 1000) / ms)} rows/s` : '-';
}

/** The terminal lines for a report, one per stage plus the sink. */
export function progressLines(r: RunReport): string[] {
  const lines = r.stages.map((s) => {
    const extra = [s.skippedRows && `${s.skippedRows} skipped`, s.nulledRows && `${s.nulledRows} nulled`, s.retries && `${s.retries} retries`, s.restarts && `${s.restarts} restarts`].filter(Boolean);
    return `stage ${s.index} ${s.name} [${s.backend}]: ${s.rowsOut} rows, ${s.batchesOut} batches, ${rate(s.rowsOut, r.elapsedMs)}${extra.length ? `, ${extra.join(', ')}` : ''}`;
  });
  lines.push(`output: ${r.rowsOut} rows in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  return lines;
}

export function createProgress(o: ProgressOptions): Progress {
  const intervalMs = o.progressIntervalMs ?? 200;
  const delayMs = o.progressDelayMs ?? 1000;
  const tty = o.terminal === 'on' || ((o.terminal ?? 'auto') === 'auto' && process.stderr.isTTY === true);
  let last = 0;
  let drawn = 0;
  const draw = (r: RunReport) => {
    if (!tty || r.elapsedMs < delayMs) return;
    const lines = progressLines(r);
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const l of lines) out += `\x1b[2K${l}\n`;
    process.stderr.write(out);
    drawn = lines.length;
  };
  const emit = (r: RunReport, force: boolean) => {
    r.elapsedMs = Date.now() - r.startedAt;
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    o.onProgress?.(structuredClone(r));
    draw(r);
  };
  return { update: (r) => emit(r, false), finish: (r) => emit(r, true) };
}
