// The fault tests' scenario: one writer walks every write path (create, append with early
// fragment flushes, commit, tag, update, delete, branch, merge, compact, delete branch, vacuum)
// in a fixed order, so a clean run issues the same writes every time and "write N" names one
// point of the commit protocol. It also gives a dataset's visible state as a comparable string.

import * as quiver from '../../src/index.js';
import { isQuiverError } from '../../src/errors.js';
import type { ObjectStore } from '../../src/storage/index.js';
import type { FaultStore } from '../helpers/fault-store.js';
import { prng } from '../helpers/tmp.js';

export const PHASES = ['create', 'append', 'commit', 'tag', 'update', 'delete', 'branch', 'merge', 'compact', 'vacuum'] as const;
export type Phase = (typeof PHASES)[number];

/** QUIVER_FAULT_SWEEP=full faults every write; by default a seeded `QUIVER_FAULT_PER_PHASE` (1) per phase. */
export const FULL = process.env.QUIVER_FAULT_SWEEP === 'full';
const PER_PHASE = Number(process.env.QUIVER_FAULT_PER_PHASE ?? 1);

export const schema = { seq: 'int64', rating: 'int', tag: 'text', emb: 'emb-4', blob: 'binary' };
// A small staging bound makes appends write fragments before commit, the path vacuum races.
const write = { stagedBytesMax: 4096, autoCompact: false as const };

export function rows(from: number, n: number, rating = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: from + i,
    rating,
    tag: `t${from + i}`,
    emb: new Float32Array(4).fill(from + i),
    blob: new Uint8Array(600).fill((from + i) & 255),
  }));
}

/**
 * Runs the scenario on `store`, calling `checkpoint(label)` after each step whose effect is
 * durable (it returned). The caller reads the state there from another handle.
 */
export async function runScenario(store: FaultStore, checkpoint: (label: string) => Promise<void>): Promise<void> {
  const at = (p: Phase) => (store.phase = p);
  at('create');
  const ds = await quiver.create(store, { schema, write });
  try {
    await checkpoint('created');
    for (const [i, from] of [0, 20].entries()) {
      at('append');
      await ds.append(rows(from, 10));
      await ds.append(rows(from + 10, 10));
      at('commit');
      await ds.commit(`append ${i}`);
      await checkpoint(`append ${i}`);
    }
    at('tag');
    await ds.tag('v1');
    await checkpoint('tag v1');
    at('update');
    await ds.update({ where: 'seq % 3 = 0', set: { rating: 7, blob: new Uint8Array(50).fill(7) } });
    await ds.commit('update');
    await checkpoint('update');
    at('delete');
    await ds.delete({ where: 'seq % 5 = 1' });
    await ds.commit('delete');
    await checkpoint('delete');
    at('branch');
    const side = await ds.branch('side');
    await checkpoint('branch side');
    await side.update({ where: 'seq % 4 = 0', set: { rating: -1 } });
    await side.append(rows(100, 3, 5));
    await side.commit('side');
    await checkpoint('side commit');
    await ds.update({ where: 'seq % 4 = 2', set: { tag: 'main' } });
    await ds.commit('main edit');
    await checkpoint('main edit');
    at('merge');
    await ds.merge('side', { onConflict: 'theirs' });
    await checkpoint('merge');
    await side.close();
    at('compact');
    await ds.compact();
    await checkpoint('compact');
    at('branch');
    const scratch = await ds.branch('scratch');
    await checkpoint('branch scratch');
    await scratch.append(rows(200, 5));
    await scratch.commit('scratch');
    await checkpoint('scratch commit');
    await scratch.close();
    await ds.deleteBranch('scratch');
    await checkpoint('scratch deleted');
    at('vacuum');
    await ds.vacuum({ olderThan: 0 });
    await checkpoint('vacuum');
  } finally {
    await ds.close();
  }
}

/** Rows of one version as a count and a digest of every value; checks the count its commit records. */
export async function versionState(h: quiver.Dataset): Promise<string> {
  const digest = "coalesce(md5(string_agg(hash(row_id, seq, rating, tag, emb, blob)::varchar, ',' order by row_id)), '')";
  const [r] = await h.query(`select count(*) as n, count(distinct row_id) as d, ${digest} as h from dataset`);
  if (r.n !== r.d) throw new Error(`fault: duplicate row ids in ${h.version.id}`);
  if (Number(r.n) !== h.version.stats.rows) throw new Error(`fault: ${r.n} rows but commit ${h.version.id} records ${h.version.stats.rows}`);
  return `${r.n}:${r.h}`;
}

/**
 * Every branch and tag with the rows it shows, or 'absent' when there is no dataset. Opening and
 * reading must work: any error other than "no dataset" propagates and fails the caller.
 */
export async function datasetState(store: ObjectStore): Promise<string> {
  let main: quiver.Dataset;
  try {
    main = await quiver.open(store);
  } catch (e) {
    if (isQuiverError(e, 'not_found') && /no dataset|never fully created/.test((e as Error).message)) return 'absent';
    throw e;
  }
  try {
    const parts: string[] = [];
    for (const b of (await main.branches()).sort((x, y) => x.name.localeCompare(y.name))) {
      const h = await main.checkout(b.name);
      parts.push(`branch ${b.name} ${await versionState(h)}`);
      await h.close();
    }
    for (const t of (await main.tags()).sort((x, y) => x.name.localeCompare(y.name))) {
      const h = await main.checkout({ tag: t.name });
      parts.push(`tag ${t.name} ${await versionState(h)}`);
      await h.close();
    }
    return parts.join('; ');
  } finally {
    await main.close();
  }
}

/** After a fault the dataset must still take commits: a stale lock or half-made ref would stop it. */
export async function stillWritable(store: ObjectStore): Promise<void> {
  const ds = await quiver.open(store);
  try {
    await ds.append(rows(1000, 1));
    await ds.commit('after the fault');
  } finally {
    await ds.close();
  }
}

export interface Checkpoint {
  label: string;
  /** Writes issued when the step returned. */
  writes: number;
  state: string;
}

/** A clean run: every checkpoint with its write count and state, and the phase of each write. */
export async function cleanRun(make: () => FaultStore): Promise<{ checkpoints: Checkpoint[]; phases: string[] }> {
  const store = make();
  const checkpoints: Checkpoint[] = [{ label: 'nothing', writes: 0, state: 'absent' }];
  await runScenario(store, async (label) => {
    checkpoints.push({ label, writes: store.writes, state: await datasetState(store.inner) });
  });
  return { checkpoints, phases: store.log.map((w) => w.phase) };
}

/**
 * The states a fault before write `n` may leave: the last step that returned, or the one in
 * flight if its last write had landed before the fault.
 */
export function allowedStates(checkpoints: Checkpoint[], n: number): Checkpoint[] {
  let i = 0;
  while (i + 1 < checkpoints.length && checkpoints[i + 1].writes <= n - 1) i++;
  return checkpoints.slice(i, i + 2);
}

/** The writes (1-based) of `phase` to fault: all of them in a full sweep, else a seeded few. */
export function pickWrites(phases: string[], phase: string, seed: number): number[] {
  const all = phases.flatMap((p, i) => (p === phase ? [i + 1] : []));
  if (FULL || all.length <= PER_PHASE) return all;
  const rand = prng(seed);
  const left = [...all];
  return Array.from({ length: PER_PHASE }, () => left.splice(Math.floor(rand() * left.length), 1)[0]).sort((a, b) => a - b);
}

