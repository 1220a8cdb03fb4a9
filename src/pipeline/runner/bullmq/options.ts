// The bullmq runner's options, checked once by `configure` and resolved to numbers with their
// defaults when a run starts. Every bound carries its unit.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { QuiverError } from '../../../errors.js';

/** Options of `configure({ runner: { kind: 'bullmq', ...options } })`. */
export interface BullmqRunnerOptions {
  /** The Redis URL every worker also connects to, e.g. 'redis://10.0.0.5:6379'. Required. */
  connection: string;
  /**
   * The object store batches travel through (file://, s3://, az://); workers open the same URL
   * with their own credentials. Default: a folder under the OS temp dir (workers on this machine only).
   */
  store?: string;
  /** Redis key prefix of queues, runs and worker records. Default 'quiver'. */
  prefix?: string;
  /** How long a stage waits for a live worker offering its resources before the run fails. Default 60,000 ms. */
  workerWaitMs?: number;
  /** Batches up to this size travel inside the job; larger ones through the store. Default 65,536 bytes. */
  inlineBytesMax?: number;
  /** How often the coordinator checks Redis, its workers and its pending jobs. Default 500 ms. */
  watchIntervalMs?: number;
  /**
   * The run's announcement lapses this long after the coordinator last refreshed it; then workers
   * leave the run and sweep its queues (a coordinator that died). Default max(10 × watchIntervalMs, 5,000 ms).
   */
  announcementTtlMs?: number;
  /** A run fails when Redis has not answered for this long. Default 30,000 ms. */
  redisDownMsMax?: number;
}

export type ResolvedOptions = Required<BullmqRunnerOptions>;

const numeric = ['workerWaitMs', 'inlineBytesMax', 'watchIntervalMs', 'announcementTtlMs', 'redisDownMsMax'] as const;
const known = new Set(['connection', 'store', 'prefix', ...numeric]);

/** Checks the options; throws `invalid_input` naming the first bad one. */
export function resolveOptions(o: Readonly<Record<string, unknown>>): ResolvedOptions {
  const bad = (msg: string) => new QuiverError('invalid_input', `pipeline: bullmq runner ${msg}`);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(`has no option "${k}"; known: ${[...known].join(', ')}`);
  if (typeof o.connection !== 'string' || !/^rediss?:\/\//.test(o.connection)) throw bad(`needs connection: a redis:// URL, got ${JSON.stringify(o.connection)}`);
  for (const k of numeric) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0)) throw bad(`option ${k} must be an integer >= 0, got ${String(v)}`);
  }
  if (o.store !== undefined && typeof o.store !== 'string') throw bad(`option store must be a URL, got ${String(o.store)}`);
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !/^[a-z0-9_-]+$/i.test(o.prefix))) throw bad(`option prefix must be letters, digits, - or _, got ${String(o.prefix)}`);
  return {
    connection: o.connection,
    store: (o.store as string | undefined) ?? pathToFileURL(join(tmpdir(), 'quiver-cluster')).href,
    prefix: (o.prefix as string | undefined) ?? 'quiver',
    workerWaitMs: (o.workerWaitMs as number | undefined) ?? 60_000,
    inlineBytesMax: (o.inlineBytesMax as number | undefined) ?? 65_536,
    watchIntervalMs: (o.watchIntervalMs as number | undefined) || 500,
    announcementTtlMs: (o.announcementTtlMs as number | undefined) ?? 0,
    redisDownMsMax: (o.redisDownMsMax as number | undefined) ?? 30_000,
  };
}
