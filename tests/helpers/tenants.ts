// A two-tenant dataset for the sandbox and tenant-scoping tests: alice's rows and bob's rows,
// every one of bob's text values carrying a marker, so a leak of his rows shows in any result.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { isQuiverError, type ErrorCode } from '../../src/errors.js';
import type { StoreOptions } from '../../src/storage/index.js';

export const SECRET = 'bob-secret';
export const ALICE_ROWS = 6;
export const BOB_ROWS = 4;

export interface TenantFixture {
  ds: quiver.Dataset;
  aliceIds: bigint[];
  bobIds: bigint[];
  /** A query vector equal to one of bob's embeddings (and far from every one of alice's). */
  bobVector: Float32Array;
}

export const schema = { user_id: 'text', prompt: 'text', rating: 'int', emb: 'emb-4', image: 'image?' };

const png = (r: number) => sharp({ create: { width: 2, height: 2, channels: 3, background: { r, g: 0, b: 0 } } }).png().toBuffer();

/** Creates the dataset at `url`: alice's rows and bob's in one commit, then a vector index. */
export async function tenantFixture(url: string, storage?: StoreOptions): Promise<TenantFixture> {
  const ds = await quiver.create(url, { schema, tenant: 'user_id', ...(storage ? { storage } : {}) });
  const image = new Uint8Array(await png(200));
  const alice = Array.from({ length: ALICE_ROWS }, (_, i) => ({ user_id: 'alice', prompt: `alice red car ${i}`, rating: i % 5, emb: Float32Array.of(1, i / 10, 0, 0), image }));
  const bob = Array.from({ length: BOB_ROWS }, (_, i) => ({ user_id: 'bob', prompt: `${SECRET} red car ${i}`, rating: 5, emb: Float32Array.of(0, 0, 1, i / 10), image }));
  const a = await ds.append(alice);
  const b = await ds.append(bob);
  await ds.commit('two tenants');
  await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
  return { ds, aliceIds: a.rowIds, bobIds: b.rowIds, bobVector: Float32Array.of(0, 0, 1, 0) };
}

const json = (v: unknown): string => String(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array || x instanceof Float32Array ? Array.from(x) : x)));

/** Whether a result shows anything of bob's: his marker, or one of his row ids in a row-id field. */
export function leaked(result: unknown, f: TenantFixture): boolean {
  const text = json(result);
  if (text.includes(SECRET) || text.includes("'bob'") || text.includes('"bob"')) return true;
  const bob = new Set(f.bobIds.map(String));
  let found = false;
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (['row_id', 'a', 'b', 'rowId', 'id'].includes(k) && (typeof x === 'bigint' || typeof x === 'number') && bob.has(String(x))) found = true;
      visit(x);
    }
  };
  visit(result);
  return found;
}

/** One attempt: what it tries, and either the typed error it must get or a check of its (leak-free) result. */
export interface Attempt<H> {
  name: string;
  run(h: H, f: TenantFixture): Promise<unknown>;
  /** The error code the attempt must fail with; absent when it may succeed (seeing only alice's rows). */
  error?: ErrorCode;
  check?(result: unknown, f: TenantFixture): void;
}

/** Runs every attempt, asserting each; returns how many ran and how many leaked (printed by the caller). */
export async function runAttempts<H>(h: H, f: TenantFixture, attempts: readonly Attempt<H>[]): Promise<{ attempts: number; leaks: number; failures: string[] }> {
  let leaks = 0;
  const failures: string[] = [];
  for (const a of attempts) {
    let result: unknown;
    let error: unknown;
    try {
      result = await a.run(h, f);
    } catch (e) {
      error = e;
    }
    if (result !== undefined && leaked(result, f)) {
      leaks++;
      failures.push(`${a.name}: leaked ${json(result).slice(0, 200)}`);
      continue;
    }
    if (error !== undefined && leaked(String((error as Error).message), f)) {
      leaks++;
      failures.push(`${a.name}: its error leaked: ${(error as Error).message}`);
      continue;
    }
    try {
      if (a.error) {
        assert.ok(error !== undefined, `expected ${a.error}, got a result ${json(result).slice(0, 200)}`);
        assert.ok(isQuiverError(error), `expected a QuiverError ${a.error}, got ${String(error)}`);
        assert.equal(error.code, a.error, error.message);
      } else {
        if (error !== undefined) throw error;
        a.check?.(result, f);
      }
    } catch (e) {
      failures.push(`${a.name}: ${(e as Error).message}`);
    }
  }
  return { attempts: attempts.length, leaks, failures };
}
