// Load on the HTTP server over loopback (issue 13): 16 concurrent autocannon connections for a
// bounded time, mixing vector searches, SQL queries and one-shot appends (each committed before
// its answer), p50/p99 latency and errors per route; afterwards, every acknowledged append's row
// id must be in the dataset. Its peer is the same calls embedded, measured in the same run
// (requests per second through HTTP vs the in-process API, one connection each).
//
//   flock /tmp/quiver-bench.lock npx tsx bench/server.ts [--rows 2000] [--seconds 20] [--dim 64]

import autocannon from 'autocannon';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as quiver from '../src/index.js';
import { createToken, serve } from '../src/server/index.js';
import { rng } from './lib/datagen.js';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter((x): x is [string, string] => x !== null));
const ROWS = Number(args.rows ?? 2000);
const SECONDS = Number(args.seconds ?? 20);
const DIM = Number(args.dim ?? 64);
/** Connections per route: 16 in all. */
const MIX = { search: 6, query: 6, append: 4 };

function vector(r: () => number): number[] {
  return Array.from({ length: DIM }, () => r() * 2 - 1);
}

async function seed(root: string): Promise<void> {
  const ds = await quiver.create(join(root, 'load'), { schema: { prompt: 'text', rating: 'int32', emb: `emb-${DIM}`, who: 'text' } });
  const r = rng(7);
  const recs = Array.from({ length: ROWS }, (_, i) => ({ prompt: `seed prompt ${i}`, rating: i % 5, emb: new Float32Array(vector(r)), who: 'seed' }));
  await ds.append(recs);
  await ds.commit('seed');
  await ds.close();
}

interface RouteResult {
  route: string;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function run(url: string, token: string, route: keyof typeof MIX, acked: Set<string>): Promise<RouteResult> {
  const r = rng(route.length * 101);
  let n = 0;
  const path = `/v1/datasets/load/${route === 'search' || route === 'query' ? 'query' : 'append'}`;
  const body = (): string => {
    if (route === 'search') return JSON.stringify({ sql: 'select row_id, prompt from dataset order by cosine_similarity(emb, $1) desc limit 10', params: [{ $f32: vector(r) }] });
    if (route === 'query') return JSON.stringify({ sql: 'select rating, count(*) as n from dataset where rating >= $1 group by rating order by rating', params: [Math.floor(r() * 5)] });
    return JSON.stringify({ records: [{ prompt: `load ${n++}`, rating: 1, emb: vector(r), who: 'load' }] });
  };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: MIX[route],
        duration: SECONDS,
        // Under a loaded machine a commit can take seconds; a client timeout would hide whether the server answered.
        timeout: 30,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            path,
            setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }),
            onResponse: (status: number, text: string) => {
              if (route === 'append' && status === 200) for (const id of (JSON.parse(text) as { rowIds: string[] }).rowIds) acked.add(id);
            },
          },
        ],
      },
      (err: Error | null, res: autocannon.Result) => {
        if (err) return reject(err);
        resolve({ route, connections: MIX[route], requests: res.requests.total, rps: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, errors: res.errors + res.timeouts, non2xx: res.non2xx });
      },
    );
  });
}

/** The same search and query embedded, one caller, for `seconds`: calls per second. */
async function embedded(root: string, seconds: number): Promise<{ search: number; query: number }> {
  const ds = await quiver.open(join(root, 'load'));
  const r = rng(3);
  const rate = async (f: () => Promise<unknown>) => {
    let n = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await f();
      n++;
    }
    return n / seconds;
  };
  const search = await rate(() => ds.query('select row_id, prompt from dataset order by cosine_similarity(emb, $1) desc limit 10', [new Float32Array(vector(r))]));
  const query = await rate(() => ds.query('select rating, count(*) as n from dataset where rating >= $1 group by rating order by rating', [Math.floor(r() * 5)]));
  await ds.close();
  return { search, query };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'quiver-bench-server-'));
  try {
    await seed(root);
    const server = await serve({ root, port: 0, onBootstrapToken: false, tokenRequestsMax: 64 });
    const { token } = await createToken(root, 'bench', { role: 'write' });
    const acked = new Set<string>();
    const t0 = performance.now();
    const results = await Promise.all((Object.keys(MIX) as (keyof typeof MIX)[]).map((route) => run(server.url, token, route, acked)));
    const wall = (performance.now() - t0) / 1000;
    await server.close();
    const ds = await quiver.open(join(root, 'load'));
    const present = new Set((await ds.query("select row_id from dataset where who = 'load'")).map((x) => String(x.row_id)));
    const missing = [...acked].filter((id) => !present.has(id));
    await ds.close();
    console.log(`server load: ${ROWS} seed rows, emb-${DIM}, 16 connections for ${SECONDS} s (${wall.toFixed(1)} s wall), loopback, 2 shared cores`);
    console.log('| route | connections | requests | req/s | p50 ms | p99 ms | errors | non-2xx |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of results) console.log(`| ${r.route} | ${r.connections} | ${r.requests} | ${r.rps.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
    console.log(`acknowledged appends: ${acked.size}; present afterwards: ${acked.size - missing.length}; missing: ${missing.length}`);
    const alone = await embedded(root, Math.min(5, SECONDS));
    console.log(`embedded, one caller: search ${alone.search.toFixed(1)}/s, query ${alone.query.toFixed(1)}/s`);
    if (missing.length) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
