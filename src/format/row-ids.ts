// Row ids are 64-bit, unique across the whole dataset (every branch), and never change. Writers
// lease ranges from one counter object with put-if-match, so concurrent processes never hand
// out the same id and a rebased commit keeps the ids its files were written with.

import { QuiverError } from '../errors.js';
import type { ObjectStore } from '../storage/index.js';
import { layout } from './layout.js';
import { decodeMetadata, writeMetadata } from './metadata.js';

export interface RowIdLeaseOptions {
  /** Ids taken per lease. Default 65,536. */
  leaseSize?: number;
  /** Attempts before giving up under contention. Default 100. */
  retriesMax?: number;
}

/**
 * The lease object is written when a dataset is created, so a dataset with data files and no
 * lease has lost it: starting again at 0 would silently duplicate live rows' ids.
 */
async function refuseMissingLease(store: ObjectStore): Promise<void> {
  for await (const _ of store.list(layout.dataPrefix)) {
    throw new QuiverError('corrupt', `format: ${layout.rowIdLease} is missing but the dataset has data files; row ids would restart at 0 and repeat live rows' ids (restore it with "next" above every row id in use)`, { key: layout.rowIdLease });
  }
}

/** Writes the lease of a new dataset: ids start at 0. A lease already there is left alone. */
export async function createRowIdLease(store: ObjectStore): Promise<void> {
  try {
    await writeMetadata(store, 'lease', layout.rowIdLease, { next: '0' }, { ifAbsent: true });
  } catch (e) {
    if (!(e instanceof QuiverError && e.code === 'conflict')) throw e;
  }
}

export class RowIdAllocator {
  private next = 0n;
  private end = 0n;
  private readonly leaseSize: bigint;
  private readonly retriesMax: number;

  constructor(
    private readonly store: ObjectStore,
    options: RowIdLeaseOptions = {},
  ) {
    this.leaseSize = BigInt(options.leaseSize ?? 65_536);
    this.retriesMax = options.retriesMax ?? 100;
  }

  /** Returns `n` fresh row ids (possibly from several leases), in increasing order: a later lease starts past every earlier one. */
  async take(n: number): Promise<BigInt64Array> {
    const out = new BigInt64Array(n);
    let i = 0;
    while (i < n) {
      if (this.next >= this.end) await this.lease(BigInt(n - i));
      while (i < n && this.next < this.end) out[i++] = this.next++;
    }
    return out;
  }

  private async lease(atLeast: bigint): Promise<void> {
    // Whole leases: a take larger than one lease leaves the rest of its last lease for the
    // takes after it. Leasing exactly what a 100k-row load asked for left none, so the first
    // upsert after it waited on a lease round trip of its own (a get and a put-if-match with
    // fsync, ~2-4 ms here; one more request on object storage). Ids are plentiful; gaps are fine.
    const size = ((atLeast + this.leaseSize - 1n) / this.leaseSize) * this.leaseSize;
    for (let attempt = 0; attempt < this.retriesMax; attempt++) {
      // One request: the etag describes exactly the bytes read, so the put-if-match below is safe.
      const read = await this.store.getWithInfo(layout.rowIdLease).catch((e) => {
        if (e instanceof QuiverError && e.code === 'not_found') return null;
        throw e;
      });
      if (!read) await refuseMissingLease(this.store);
      const info = read?.info;
      const start = read ? BigInt(decodeMetadata<{ next: string }>('lease', layout.rowIdLease, read.data).body.next) : 0n;
      try {
        await writeMetadata(this.store, 'lease', layout.rowIdLease, { next: (start + size).toString() }, info ? { ifMatch: info.etag } : { ifAbsent: true });
        this.next = start;
        this.end = start + size;
        return;
      } catch (e) {
        if (!(e instanceof QuiverError && e.code === 'conflict')) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
    throw new QuiverError('conflict', 'format: could not lease row ids (too much contention)');
  }
}
