// `npm start`: plays an image-generation product on a local Quiver dataset. Requests arrive one
// at a time and are appended as they come; the writer commits every few hundred; then the
// product's questions are answered in SQL over the one dataset, and we travel back in time.
// Usage: npx tsx demo/main.ts [--rows 3000] [--seed 1]

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { create, open, type Dataset } from '../src/index.js';
import { generateRequests, makeImagePool, type GenRequest } from '../bench/lib/records.js';
import { printTable } from './print-table.js';
import { productQuestions } from './questions.js';

const DATA_DIR = 'demo/.data/gen-main';

/** One request per record: the prompt, its 1–4 images and their embeddings, and the feedback. */
const SCHEMA = {
  request_id: 'text!',
  prompt: 'text',
  prompt_emb: 'emb-384',
  images: 'list<image>',
  image_embs: 'list<emb-256>',
  rating: 'int',
  thumbs: 'bool',
  tags: 'list<text>',
  user_id: 'text',
  parent_id: 'text?',
  created_at: 'timestamp',
};

interface Args {
  rows: number;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: 3000, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if ((flag === '--rows' || flag === '--seed') && Number.isInteger(value) && value > 0) {
      args[flag === '--rows' ? 'rows' : 'seed'] = value;
      i++;
    } else throw new Error(`demo: unknown or invalid argument "${flag}" (use --rows N, --seed N)`);
  }
  return args;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

function timingRow(op: string, ms: number[], records: number): Record<string, unknown> {
  const sorted = [...ms].sort((a, b) => a - b);
  const total = ms.reduce((a, b) => a + b, 0);
  return {
    operation: op,
    calls: ms.length,
    total_s: total / 1000,
    mean_ms: total / Math.max(1, ms.length),
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    max_ms: sorted[sorted.length - 1] ?? 0,
    records_per_s: Math.round(records / (total / 1000)),
  };
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    n += st.isDirectory() ? folderBytes(p) : st.size;
  }
  return n;
}

/** Appends each request as it arrives and commits every `commitEvery`; returns per-call timings. */
async function playLiveProduct(ds: Dataset, requests: GenRequest[], commitEvery: number): Promise<{ appendMs: number[]; commitMs: number[] }> {
  const appendMs: number[] = [];
  const commitMs: number[] = [];
  for (let i = 0; i < requests.length; i++) {
    const t0 = performance.now();
    await ds.append({ ...requests[i] });
    appendMs.push(performance.now() - t0);
    if ((i + 1) % commitEvery === 0 || i === requests.length - 1) {
      const t1 = performance.now();
      await ds.commit(`requests ${i + 2 - ((i % commitEvery) + 1)}..${i + 1}`, { meta: { source: 'demo live writer' } });
      commitMs.push(performance.now() - t1);
    }
  }
  return { appendMs, commitMs };
}

async function timeTravel(ds: Dataset): Promise<void> {
  const versions = await ds.versions();
  const first = versions[1];
  const middle = versions[Math.floor(versions.length / 2)];
  const atFirst = await open(DATA_DIR, { version: first.id });
  const atMiddle = await open(DATA_DIR, { asOf: new Date(middle.time) });
  try {
    const count = async (h: Dataset) => Number((await h.query('select count(*) as n from dataset'))[0].n);
    printTable('6. Time travel: the same question at three versions', [
      { opened_with: `{ version: '${first.id.slice(0, 12)}…' }`, message: first.message, requests: await count(atFirst), images: await imagesOf(atFirst) },
      { opened_with: `{ asOf: ${middle.time} }`, message: atMiddle.version.message, requests: await count(atMiddle), images: await imagesOf(atMiddle) },
      { opened_with: "{ branch: 'main' } (now)", message: ds.version.message, requests: await count(ds), images: await imagesOf(ds) },
    ]);
  } finally {
    await atFirst.close();
    await atMiddle.close();
  }
  printTable(
    '7. ds.versions()',
    versions.map((v) => ({ version: v.id.slice(0, 12), time: v.time.slice(11, 23), operation: v.operation, message: v.message, rows_added: v.stats.rowsAdded, rows: v.stats.rows, mb_written: v.stats.bytesWritten / 1e6 })),
  );
}

/**
 * Closes the loop the seed describes: late feedback updates a rating in place (a new version),
 * then a fine-tuning set is curated on its own branch without copying any data.
 */
async function feedbackAndCuration(ds: Dataset): Promise<void> {
  const [late] = await ds.query("select request_id from dataset where rating is null and not list_contains(tags, 'unsafe') order by created_at desc limit 1");
  const updated = await ds.update({ where: 'request_id = $1', params: [late.request_id as string], set: { rating: 5, thumbs: true } });
  await ds.commit(`late feedback on ${late.request_id}`);
  const ft = await ds.branch('ft-v1');
  try {
    await ft.curate("rating >= 4 and not list_contains(tags, 'unsafe')", 'fine-tune set v1: rating >= 4, safe only');
    await ft.tag('ft-v1-frozen');
    const summary = async (h: Dataset, name: string) => {
      const [r] = await h.query("select count(*) as requests, sum(len(images_format)) as images, round(avg(rating), 2) as avg_rating, count(*) filter (where list_contains(tags, 'unsafe')) as unsafe from dataset");
      return { branch: name, version: h.version.id.slice(0, 12), message: h.version.message, ...r };
    };
    printTable(`8. Late feedback (${updated.rows} row updated), then a fine-tuning set curated on branch ft-v1`, [await summary(ds, 'main'), await summary(ft, 'ft-v1')]);
  } finally {
    await ft.close();
  }
}

async function imagesOf(h: Dataset): Promise<number> {
  return Number((await h.query('select sum(len(images_format)) as n from dataset'))[0].n ?? 0);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const now = new Date();
  console.log(`Quiver demo: an image-generation product, ${args.rows} requests (seed ${args.seed}) -> ${DATA_DIR}`);

  const t0 = performance.now();
  const pool = await makeImagePool({ seed: args.seed, size: 48, targetBytes: 8_000, noise: 8 });
  const requests = generateRequests({ seed: args.seed, count: args.rows, promptDim: 384, imageDim: 256, now }, pool);
  const images = requests.reduce((n, r) => n + r.images.length, 0);
  console.log(`generated ${requests.length} requests, ${images} PNGs (pool of ${pool.images.length}, ~${Math.round(pool.meanBytes)} B each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  rmSync(DATA_DIR, { recursive: true, force: true });
  const ds = await create(DATA_DIR, { schema: SCHEMA });
  try {
    const commitEvery = Math.max(50, Math.ceil(args.rows / 10));
    const t1 = performance.now();
    const { appendMs, commitMs } = await playLiveProduct(ds, requests, commitEvery);
    const wallS = (performance.now() - t1) / 1000;
    printTable(`Live writes: one append per request, a commit every ${commitEvery} (${wallS.toFixed(1)} s wall, ${(folderBytes(DATA_DIR) / 1e6).toFixed(1)} MB on disk)`, [
      timingRow('ds.append(request)', appendMs, requests.length),
      timingRow('ds.commit(message)', commitMs, requests.length),
    ]);

    const probe = requests.find((r) => r.prompt.startsWith('a dragon'))?.prompt_emb ?? requests[0].prompt_emb;
    for (const q of productQuestions(now, probe)) {
      const t = performance.now();
      const rows = await ds.query(q.sql, q.params);
      printTable(`${q.title}  [${(performance.now() - t).toFixed(0)} ms]`, rows);
    }
    await timeTravel(ds);
    await feedbackAndCuration(ds);
  } finally {
    await ds.close();
  }
  console.log(`\ndemo done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
