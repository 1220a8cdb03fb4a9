// Progress of long CLI work (import, export, index build, compact, vacuum, verify): a bar with
// count, rate and ETA when the stream is a terminal, nothing at all when it is not (pipes and
// scripts get only the command's result, as JSON with --json). One seam so every command draws
// the same bar and always ends it, so a failed command leaves the terminal on a clean line.

import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the amount of work once known (a bar without it counts up without a percentage). */
  setTotal(total: number): void;
  /** Adds `n` done units. */
  tick(n?: number): void;
  /** Ends the bar: draws its last state and moves to a new line. Safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted, plural: "images", "rows", "objects". */
  unit: string;
  total?: number;
  /** Where to draw; a bar is drawn only if it is a TTY. Default process.stderr. */
  stream?: NodeJS.WriteStream;
}

/** A progress bar for `label`, or a silent one when the stream is not a terminal. */
export function progress(label: string, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return silent();
  // A format function rather than a template, so a total learnt later turns the counter into a bar.
  const format: cliProgress.GenericFormatter = (opts, params, payload: { unit: string; rate: string }) => {
    const head = `${label} | ${params.value} ${payload.unit} | ${payload.rate} ${payload.unit}/s`;
    if (!params.total) return head;
    const width = opts.barsize ?? 30;
    const full = Math.round(Math.min(1, params.progress) * width);
    const bar = (opts.barCompleteString ?? '#').slice(0, full) + (opts.barIncompleteString ?? '-').slice(0, width - full);
    const eta = Number.isFinite(params.eta) ? `${params.eta} s` : '…';
    return `${label} [${bar}] ${Math.floor(params.progress * 100)}% | ${params.value}/${params.total} ${payload.unit} | ${payload.rate} ${payload.unit}/s | ETA ${eta}`;
  };
  const bar = new cliProgress.SingleBar(
    { stream, format, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 10, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  const startedMs = Date.now();
  let value = 0;
  let stopped = false;
  const payload = () => ({ unit: options.unit, rate: (value / Math.max(0.001, (Date.now() - startedMs) / 1000)).toFixed(1) });
  bar.start(options.total ?? 0, 0, payload());
  return {
    setTotal(total) {
      bar.setTotal(total);
    },
    tick(n = 1) {
      value += n;
      bar.update(value, payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.update(value, payload());
      bar.stop();
    },
  };
}

/**
 * Runs `fn` with a bar for `label` counting `unit`; `fn` gets the library's `onProgress(done,
 * total)` shape (export, verify, compact, vacuum) and the bar ends however `fn` ends.
 */
export async function withBar<T>(label: string, unit: string, fn: (onProgress: (done: number, total: number) => void) => Promise<T>): Promise<T> {
  const bar = progress(label, { unit });
  let last = 0;
  try {
    return await fn((done, total) => {
      bar.setTotal(total);
      bar.tick(done - last);
      last = done;
    });
  } finally {
    bar.stop();
  }
}

function silent(): Progress {
  return { setTotal() {}, tick() {}, stop() {} };
}
