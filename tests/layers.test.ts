// Dependencies point one way: storage <- format <- index <- query <- stream <- runtime <- dataset <- {pipeline, loader, io} <- server <- cli (`quiver serve` wraps the server).
// This test reads every import in src/ and fails on one that points against the direction.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, it } from 'node:test';

const ORDER = ['storage', 'format', 'index', 'query', 'stream', 'runtime', 'dataset', 'pipeline', 'loader', 'io', 'server', 'cli'];
const RANK: Record<string, number> = { storage: 0, format: 1, index: 2, query: 3, stream: 3.5, runtime: 3.75, dataset: 4, pipeline: 5, loader: 5, io: 5, server: 6, cli: 7 };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string | null {
  const top = relative(resolve('src'), file).split('/')[0];
  return ORDER.includes(top) ? top : null; // src/errors.ts, src/index.ts: shared or the package face
}

describe('layering', () => {
  it('has no import that points up the layer order', () => {
    const bad: string[] = [];
    for (const f of files(resolve('src'))) {
      const from = layerOf(f);
      if (!from) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(/from\s+'(\.[^']+)'/g)) {
        const to = layerOf(resolve(dirname(f), m[1]));
        if (to && to !== from && RANK[to] >= RANK[from]) bad.push(`${relative('.', f)} -> ${m[1]}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('lets only src/query/engine.ts import DuckDB', () => {
    const users = files(resolve('src')).filter((f) => /from '@duckdb\//.test(readFileSync(f, 'utf8')));
    assert.deepEqual(users.map((f) => relative('.', f)), ['src/query/engine.ts']);
  });
});
