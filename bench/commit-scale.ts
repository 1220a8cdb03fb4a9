// Commit cost at growing sizes: a 1-row append and a 1-row update, each committed alone, at
// 10k, 100k and 1M rows (10M with --large), compacted as autoCompact keeps a dataset, and a
// dataset left uncompacted with 2,000 fragments (a day of feedback without compaction), where
// the manifest's fragment list is long enough to be segmented. Prints milliseconds, bytes
// written per commit (data, metadata) and the largest size ÷ the smallest. Never a timed test.
//
// Usage: flock /tmp/quiver-bench.lock npx tsx bench/commit-scale.ts [--large]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as quiver from '../src/index.js';
import { encodeMetadata, readManifest, readRef, readCommit } from '../src/format/index.js';
import { CountingStore, LocalStore } from '../src/storage/index.js';
import { rng } from './lib/datagen.js';

const large = process.argv.includes('--large');
const SIZES = large ? [10_000, 100_000, 1_000_000, 10_000_000] : [10_000, 100_000, 1_000_000];
const REPEAT = 7;
const CHUNK = 100_000;
const root = mkdtempSync(join(tmpdir(), 'quiver-bench-commit-scale-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const schema = { k: 'int64', rating: 'int', tag: 'text' } as const;
const rows = (from: number, n: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({ k: from + i, rating: 1 + Math.floor(r() * 5), tag: r() < 0.1 ? 'unsafe' : 'safe' }));
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Line {
  label: string;
  fragments: number;
  appendMs: number;
  updateMs: number;
  dataBytes: number;
  metaBytes: number;
  /** What the manifest would be written as whole (no segments): the bytes a commit saves. */
  wholeManifestBytes: number;
}

async function measure(label: string, store: CountingStore, ds: quiver.Dataset, n: number): Promise<Line> {
  const appendMs: number[] = [];
  const updateMs: number[] = [];
  const data: number[] = [];
  const meta: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    store.reset();
    let t = performance.now();
    await ds.append([{ k: n + i, rating: 3, tag: 'safe' }]);
    await ds.commit('one row');
    appendMs.push(performance.now() - t);
    t = performance.now();
    await ds.update({ where: 'k = $1', params: [BigInt(i * 997)], set: { rating: 5 } });
    await ds.commit('one rating');
    updateMs.push(performance.now() - t);
    let d = 0;
    let m = 0;
    for (const [k, b] of store.keysWritten) (k.startsWith('data/') ? (d += b) : (m += b));
    data.push(d / 2);
    meta.push(m / 2);
  }
  const head = await readCommit(store, (await readRef(store, 'branch', 'main'))!.commit);
  const manifest = await readManifest(store, head.manifest);
  return { label, fragments: manifest.fragments.length, appendMs: median(appendMs), updateMs: median(updateMs), dataBytes: median(data), metaBytes: median(meta), wholeManifestBytes: encodeMetadata('manifest', manifest).bytes.length };
}

const lines: Line[] = [];
for (const n of SIZES) {
  const dir = join(root, `c${n}`);
  const store = new CountingStore(new LocalStore(dir));
  const ds = await quiver.create(store, { schema });
  for (let at = 0; at < n; at += CHUNK) await ds.append(rows(at, Math.min(CHUNK, n - at), at));
  await ds.commit('load');
  lines.push(await measure(`${n.toLocaleString('en')} rows, compacted`, store, ds, n));
  await ds.close();
  rmSync(dir, { recursive: true, force: true });
}
{
  // 2,000 fragments of 50 rows: what a feedback stream leaves with autoCompact off.
  const dir = join(root, 'frag');
  const store = new CountingStore(new LocalStore(dir));
  const ds = await quiver.create(store, { schema, write: { autoCompact: false, fragmentRowsMax: 50 } });
  for (let f = 0; f < 2_000; f++) await ds.append(rows(f * 50, 50, f));
  await ds.commit('load');
  lines.push(await measure('100,000 rows in 2,000 fragments', store, ds, 100_000));
  await ds.close();
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
console.log(`uptime: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('dataset                              fragments  1-row append+commit ms  1-row update+commit ms  data written  metadata written  whole manifest');
for (const l of lines) {
  console.log(`${l.label.padEnd(36)} ${String(l.fragments).padStart(9)}  ${l.appendMs.toFixed(1).padStart(22)}  ${l.updateMs.toFixed(1).padStart(22)}  ${kb(l.dataBytes).padStart(12)}  ${kb(l.metaBytes).padStart(16)}  ${kb(l.wholeManifestBytes).padStart(14)}`);
}
const compacted = lines.filter((l) => l.label.includes('compacted'));
const [small, big] = [compacted[0]!, compacted[compacted.length - 1]!];
console.log(`largest ÷ smallest (${big.label} ÷ ${small.label}): append ${(big.appendMs / small.appendMs).toFixed(2)}×, update ${(big.updateMs / small.updateMs).toFixed(2)}×, metadata bytes ${(big.metaBytes / small.metaBytes).toFixed(2)}×`);
const frag = lines[lines.length - 1]!;
console.log(`2,000 fragments: a commit writes ${kb(frag.metaBytes)} of metadata (root + changed segments, commit, ref) where the whole manifest is ${kb(frag.wholeManifestBytes)}: ${(frag.wholeManifestBytes / frag.metaBytes).toFixed(1)}× less`);
