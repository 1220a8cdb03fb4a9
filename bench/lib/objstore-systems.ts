// The two systems bench/objstore.ts compares on one S3 server, behind one interface: open a
// dataset already written at a URL and run the three measured queries. The parent process (warm
// runs) and bench/lib/objstore-cold.ts (a fresh child per cold run) share it, so both time the
// same calls. Invariant: both systems answer the same question for each query name.

import * as lancedb from '@lancedb/lancedb';
import { open, type Dataset } from '../../src/index.js';
import { CountingStore, openStore, type StoreCounts } from '../../src/storage/index.js';

export type SystemName = 'Quiver' | 'LanceDB';
export type QueryName = 'scalar' | 'vector + filter' | '20 winners + images';
export const QUERY_NAMES: QueryName[] = ['scalar', 'vector + filter', '20 winners + images'];

/** How to reach the S3 server (the counting proxy's URL as the endpoint). */
export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Quiver's S3 store bound on requests in flight (bench/objstore.ts --in-flight); absent: its default. */
  requestsInFlightMax?: number;
}

/** What a query returned, enough to check both systems answered alike. */
export interface QueryAnswer {
  rows: number;
  /** Bytes of the images returned (the 20-winner query), else 0. */
  imageBytes: number;
  /** The images returned, for recall against the exact answer. */
  images: Uint8Array[];
}

/** An open dataset of one system; `counts` is Quiver's CountingStore view (undefined for LanceDB). */
export interface OpenSystem {
  run(query: QueryName, vector: Float32Array): Promise<QueryAnswer>;
  counts(): StoreCounts | undefined;
  resetCounts(): void;
  close(): Promise<void>;
}

const FILTER_SQL = "rating >= 4 and not list_contains(tags, 'unsafe')";
const FILTER_LANCE = "rating >= 4 AND NOT array_has(tags, 'unsafe')";
export const QUIVER_SQL: Record<QueryName, string> = {
  scalar: 'select user_id, avg(rating) as avg_rating from dataset group by user_id',
  'vector + filter': `select row_id, prompt from dataset where ${FILTER_SQL} order by cosine_similarity(image_emb, $1) desc limit 20`,
  '20 winners + images': `select row_id, image from dataset where ${FILTER_SQL} order by cosine_similarity(image_emb, $1) desc limit 20`,
};
export const LANCE_TABLE = 'gen';

export function quiverStorage(s3: S3Target) {
  const bound = s3.requestsInFlightMax ? { requestsInFlightMax: s3.requestsInFlightMax } : {};
  return { endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, ...bound };
}

export function lanceStorage(s3: S3Target): Record<string, string> {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    allow_http: 'true',
    aws_access_key_id: s3.accessKeyId,
    aws_secret_access_key: s3.secretAccessKey,
    aws_virtual_hosted_style_request: 'false',
  };
}

function answerOf(rows: Record<string, unknown>[]): QueryAnswer {
  const images = rows.map((r) => r.image).filter((x): x is Uint8Array => x instanceof Uint8Array);
  return { rows: rows.length, imageBytes: images.reduce((n, b) => n + b.length, 0), images };
}

export async function openQuiver(url: string, s3: S3Target): Promise<OpenSystem> {
  const store = new CountingStore(openStore(url, quiverStorage(s3)));
  const ds: Dataset = await open(store);
  return {
    run: async (q, vector) => answerOf(await ds.query(QUIVER_SQL[q], q === 'scalar' ? [] : [vector])),
    counts: () => ({ ...store.counts }),
    resetCounts: () => store.reset(),
    close: () => ds.close(),
  };
}

export async function openLance(url: string, s3: S3Target): Promise<OpenSystem> {
  const db = await lancedb.connect(url, { storageOptions: lanceStorage(s3) });
  const table = await db.openTable(LANCE_TABLE);
  return {
    run: (q, vector) => runLance(table, q, vector),
    counts: () => undefined,
    resetCounts: () => undefined,
    close: async () => {
      table.close();
      db.close();
    },
  };
}

async function runLance(table: lancedb.Table, q: QueryName, vector: Float32Array): Promise<QueryAnswer> {
  if (q === 'scalar') {
    // LanceDB's JS API has no SQL aggregation: read the two columns, group in JS (as bench/append.ts).
    const t = await table.query().select(['user_id', 'rating']).toArrow();
    const users = t.getChild('user_id')!;
    const ratings = t.getChild('rating')!;
    const sums = new Map<string, [number, number]>();
    for (let i = 0; i < t.numRows; i++) {
      const s = sums.get(users.get(i)) ?? [0, 0];
      const rating = ratings.get(i) as number | null;
      if (rating !== null) (s[0] += rating), s[1]++;
      sums.set(users.get(i), s);
    }
    return { rows: sums.size, imageBytes: 0, images: [] };
  }
  // `_distance` is named so LanceDB does not warn that it adds it on its own.
  const columns = [q === 'vector + filter' ? 'prompt' : 'image', '_distance'];
  const rows = await table.vectorSearch(vector).distanceType('cosine').where(FILTER_LANCE).select(columns).limit(20).toArray();
  return answerOf(rows as Record<string, unknown>[]);
}

export function openSystem(system: SystemName, url: string, s3: S3Target): Promise<OpenSystem> {
  return system === 'Quiver' ? openQuiver(url, s3) : openLance(url, s3);
}
