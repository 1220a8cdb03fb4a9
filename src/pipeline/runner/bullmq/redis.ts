// Redis connections of the bullmq runner. The first connection fails fast with a clear error
// (an unreachable Redis is a condition, not a hang); later ones reconnect forever, as BullMQ
// requires (`maxRetriesPerRequest: null`), and the coordinator's watchdog bounds the outage.

import { Redis } from 'ioredis';
import { QuiverError } from '../../../errors.js';

/** Connects once, without retrying; throws `io` naming the URL when Redis does not answer. */
export async function checkReachable(url: string, who: string, connectTimeoutMs = 5000): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: connectTimeoutMs, enableOfflineQueue: false });
  let last: Error | undefined;
  probe.on('error', (e: Error) => (last = e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const why = (last ?? (e as Error)).message || String(e);
    throw new QuiverError('io', `pipeline: ${who} cannot reach redis at ${url}: ${why}`, { connection: url }, { cause: e });
  } finally {
    probe.disconnect();
  }
}

/** A connection that reconnects forever (BullMQ's requirement); errors are logged by the caller's watchdog, not thrown. */
export function openRedis(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1000) });
  r.on('error', () => undefined);
  return r;
}

/** Redis's run_id: it changes when the server restarts (and, without persistence, forgets everything). */
export async function serverRunId(r: Redis): Promise<string> {
  const info = await r.info('server');
  return /run_id:(\w+)/.exec(info)?.[1] ?? '';
}

/** Deletes every key matching `pattern` (SCAN, so a large keyspace is not blocked). */
export async function deleteMatching(r: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
    cursor = next;
    if (batch.length) await r.del(...batch);
  } while (cursor !== '0');
}
