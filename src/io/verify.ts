// `verify`: walks every object a dataset's refs reach (branches, tags, every commit in their
// history, manifests, fragment, large-column, fill and deletes files, index files) and checks
// each against what names it: envelope hashes, whole-file and per-page CRC-32s, row counts.
// Invariant: it only reads; every problem is reported by key, none stops the walk.

import { crc32 } from 'node:zlib';
import { QuiverError, isQuiverError } from '../errors.js';
import { decodeFooter, decodePageHeader, decodeMetadata, layout, liveRows, readCommit, readManifest, scalarIndexKeys, textSegmentKeys, type Commit, type Manifest, type PageHeader, type ParquetFooter } from '../format/index.js';
import { bytesGet, decodeScalarFile, readIndexPack, TextSegment } from '../index/index.js';
import { decodeVectorIndexFile } from '../query/index.js';
import { openStore, type ObjectStore, type StoreOptions } from '../storage/index.js';

export interface VerifyProblem {
  /** The object's key under the dataset's root. */
  key: string;
  problem: 'missing' | 'corrupt';
  reason: string;
  /** What names the object (a ref, a commit, a manifest), so the damage can be traced. */
  via: string;
}

export interface VerifyReport {
  url: string;
  ok: boolean;
  refs: number;
  commits: number;
  manifests: number;
  /** Data, deletes and index files checked, and their bytes. */
  files: number;
  bytes: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  storage?: StoreOptions;
  /** Called as files are checked, with how many are done and how many the manifests name. */
  onProgress?: (files: number, filesTotal: number) => void;
}

/** Bytes read per request while checksumming a file. */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;
/** The tail read first for a Parquet footer (one read for a small file). */
const FOOTER_GUESS_BYTES = 64 * 1024;
const PAGE_HEADER_GUESS_BYTES = 256;

/** A file a manifest names, with what the manifest says about it. */
interface FileClaim {
  key: string;
  via: string;
  /** `derived`: a per-fragment index file found by derived key, written lazily, so absent is not a problem. */
  kind: 'parquet' | 'index' | 'derived';
  rows?: number;
  crc32?: number;
}

/**
 * Checks a whole dataset and reports what is missing or corrupt, by key. Reads every object
 * once (data files twice: once for the whole-file CRC, once page by page).
 *
 * @example
 * const report = await verify('./gen');
 * if (!report.ok) for (const p of report.problems) console.error(p.problem, p.key, p.reason);
 */
export async function verify(url: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const store = openStore(url, options.storage);
  const problems: VerifyProblem[] = [];
  const note = (key: string, e: unknown, via: string) => problems.push({ key, via, problem: isQuiverError(e, 'not_found') ? 'missing' : 'corrupt', reason: (e as Error).message });
  await checkMetadata(store, 'marker', layout.marker, note);
  await checkMetadata(store, 'lease', layout.rowIdLease, note);
  const heads = await readRefs(store, note);
  const { commits, manifests } = await walkCommits(store, heads, note);
  const claims = new Map<string, FileClaim>();
  for (const [id, { m, via }] of manifests) for (const c of fileClaims(m, `manifest ${id} (${via})`)) if (!claims.has(c.key)) claims.set(c.key, c);
  let files = 0;
  let bytes = 0;
  for (const claim of claims.values()) {
    try {
      const size = await checkFile(store, claim);
      if (size === null) continue;
      bytes += size;
    } catch (e) {
      note(claim.key, e, claim.via);
    }
    files++;
    options.onProgress?.(files, claims.size);
  }
  return { url: store.url, ok: problems.length === 0, refs: heads.length, commits, manifests: manifests.size, files, bytes, problems };
}

type Note = (key: string, e: unknown, via: string) => void;

async function checkMetadata(store: ObjectStore, kind: 'marker' | 'lease', key: string, note: Note): Promise<void> {
  try {
    decodeMetadata(kind, key, await store.get(key));
  } catch (e) {
    note(key, e, 'the dataset root');
  }
}

/** Every branch and tag with the commit it names; a ref that does not decode is a problem. */
async function readRefs(store: ObjectStore, note: Note): Promise<{ ref: string; commit: string }[]> {
  const out: { ref: string; commit: string }[] = [];
  for (const prefix of [layout.branchesPrefix, layout.tagsPrefix]) {
    for await (const info of store.list(prefix)) {
      try {
        out.push({ ref: info.key, commit: decodeMetadata<{ commit: string }>('ref', info.key, await store.get(info.key)).body.commit });
      } catch (e) {
        note(info.key, e, 'the ref list');
      }
    }
  }
  return out.sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

/** Every commit the refs reach (all parents) and their manifests, each read once. */
async function walkCommits(store: ObjectStore, heads: readonly { ref: string; commit: string }[], note: Note): Promise<{ commits: number; manifests: Map<string, { m: Manifest; via: string }> }> {
  const seen = new Set<string>();
  const manifests = new Map<string, { m: Manifest; via: string }>();
  const queue = heads.map((h) => ({ id: h.commit, via: h.ref }));
  while (queue.length > 0) {
    const { id, via } = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    let c: Commit;
    try {
      c = await readCommit(store, id);
    } catch (e) {
      note(layout.commit(id), e, via);
      continue;
    }
    for (const p of c.parents) queue.push({ id: p, via: `commit ${id}` });
    if (manifests.has(c.manifest)) continue;
    try {
      const m = await readManifest(store, c.manifest);
      manifests.set(c.manifest, { m, via: `commit ${id}` });
      const live = liveRows(m);
      if (c.stats.rows !== live) note(layout.manifest(c.manifest), new Error(`verify: commit ${id} records ${c.stats.rows} rows, its manifest holds ${live}`), `commit ${id}`);
    } catch (e) {
      note(layout.manifest(c.manifest), e, `commit ${id}`);
    }
  }
  return { commits: seen.size, manifests };
}

/** Every file a manifest names, with the row count and checksum it records. */
function fileClaims(m: Manifest, via: string): FileClaim[] {
  const out: FileClaim[] = [];
  const add = (key: string, rows: number, crc: number | undefined) => out.push({ key, via, kind: 'parquet', rows, ...(crc !== undefined ? { crc32: crc } : {}) });
  for (const f of m.fragments) {
    add(f.key, f.rows, f.crc32);
    if (f.deletes) add(f.deletes.key, f.deletes.count, f.deletes.crc32);
  }
  for (const files of Object.values(m.groups)) for (const g of files) add(g.key, g.rows, g.crc32);
  for (const fill of Object.values(m.evolution?.fills ?? {})) for (const g of fill.files) add(g.key, g.rows, g.crc32);
  for (const p of m.patches ?? []) add(p.key, p.rows, p.crc32);
  for (const ix of m.indexes) if (ix.key) out.push({ key: ix.key, via, kind: 'index' });
  for (const key of [...textSegmentKeys(m), ...scalarIndexKeys(m)]) out.push({ key, via, kind: 'derived' });
  return out;
}

/** Checks one file and returns its size (null: a derived index file not written yet); throws what is wrong with it. */
async function checkFile(store: ObjectStore, claim: FileClaim): Promise<number | null> {
  const info = await store.head(claim.key);
  if (!info && claim.kind === 'derived') return null;
  if (!info) throw notFound(claim.key);
  if (claim.kind === 'derived') {
    const bytes = await store.get(claim.key);
    if (claim.key.endsWith('.qfts')) TextSegment.deserialize(bytes);
    else await decodeScalarFile(bytes);
    return info.size;
  }
  if (claim.kind === 'index') {
    const bytes = await store.get(claim.key);
    if (claim.key.endsWith('.qpak')) {
      // A pack of scalar index files: its own checksums, then every copy decoded as its file is.
      const files = await readIndexPack(bytesGet(bytes));
      for (const copy of files.values()) await decodeScalarFile(copy);
    } else decodeVectorIndexFile(bytes, claim.key);
    return info.size;
  }
  // Pages first: a flip inside a page is then named by its page; the whole-file CRC catches the rest (footer, indexes).
  const read = (offset: number, length: number) => store.get(claim.key, { offset, length });
  const footer = await footerOf(read, info.size, claim.key);
  if (claim.rows !== undefined && footer.rows !== claim.rows) throw corrupt(`verify: ${claim.key} holds ${footer.rows} rows, the manifest recorded ${claim.rows}`);
  await checkPages(read, footer, claim.key);
  if (claim.crc32 !== undefined) {
    const actual = await crc32OfObject(store, claim.key, info.size);
    if (actual !== claim.crc32) throw corrupt(`verify: ${claim.key} has crc32 ${hex(actual)}, the manifest recorded ${hex(claim.crc32)}`);
  }
  return info.size;
}

async function crc32OfObject(store: ObjectStore, key: string, size: number): Promise<number> {
  let c = 0;
  for (let at = 0; at < size; at += READ_CHUNK_BYTES) c = crc32(await store.get(key, { offset: at, length: Math.min(READ_CHUNK_BYTES, size - at) }), c);
  return c;
}

type Read = (offset: number, length: number) => Promise<Uint8Array>;

async function footerOf(read: Read, size: number, key: string): Promise<ParquetFooter> {
  if (size < 12) throw corrupt(`verify: ${key} is ${size} bytes, too short to be Parquet`);
  let tail = await read(size - Math.min(size, FOOTER_GUESS_BYTES), Math.min(size, FOOTER_GUESS_BYTES));
  if (Buffer.from(tail.subarray(tail.length - 4)).toString('latin1') !== 'PAR1') throw corrupt(`verify: ${key} has no Parquet magic at its end`);
  const len = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(tail.length - 8, true);
  if (len + 12 > size) throw corrupt(`verify: ${key} has a footer length ${len} beyond its ${size} bytes`);
  if (len + 8 > tail.length) tail = await read(size - 8 - len, len + 8);
  try {
    return decodeFooter(tail.subarray(tail.length - 8 - len, tail.length - 8));
  } catch (e) {
    throw corrupt(`verify: ${key}: ${(e as Error).message}`);
  }
}

/** Walks every page of every column chunk: each header decodes, each body matches its CRC-32, and plain columns hold their row group's rows. */
async function checkPages(read: Read, footer: ParquetFooter, key: string): Promise<void> {
  const groupRows = footer.rowGroups.reduce((n, g) => n + g.rows, 0);
  if (groupRows !== footer.rows) throw corrupt(`verify: ${key}'s row groups hold ${groupRows} rows, its footer says ${footer.rows}`);
  for (const [g, group] of footer.rowGroups.entries()) {
    for (const [c, chunk] of group.chunks.entries()) {
      let values = 0;
      for (let at = chunk.offset; at < chunk.offset + chunk.size; ) {
        const where = `verify: ${key}: row group ${g}, column "${footer.columns[c].name}", page at ${at}`;
        const head = await pageHeaderAt(read, at, chunk.offset + chunk.size, where);
        const body = await read(at + head.headerBytes, head.bodyBytes);
        if (body.length !== head.bodyBytes) throw corrupt(`${where}: the file ends inside the page`);
        if (head.crc !== undefined && (crc32(body) | 0) !== head.crc) throw corrupt(`${where}: its crc32 is ${hex(crc32(body))}, the page header recorded ${hex(head.crc)}`);
        values += head.values;
        at += head.headerBytes + head.bodyBytes;
      }
      if (footer.columns[c].listDepth === 0 && values !== group.rows) throw corrupt(`verify: ${key}: row group ${g}, column "${footer.columns[c].name}" holds ${values} values for ${group.rows} rows`);
    }
  }
}

/** The page header at `at`, read with a small guess first and a larger one if that was short. */
async function pageHeaderAt(read: Read, at: number, end: number, where: string): Promise<PageHeader> {
  let last: unknown;
  for (const guess of [PAGE_HEADER_GUESS_BYTES, 64 * 1024]) {
    try {
      return decodePageHeader(await read(at, Math.min(guess, end - at)));
    } catch (e) {
      last = e;
    }
  }
  throw corrupt(`${where}: its header does not decode (${(last as Error).message})`);
}

const hex = (crc: number) => (crc >>> 0).toString(16).padStart(8, '0');
const corrupt = (message: string) => new QuiverError('corrupt', message);
const notFound = (key: string) => new QuiverError('not_found', `verify: ${key} is named by a manifest but absent from the store`, { key });
