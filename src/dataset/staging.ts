// Rows appended but not yet committed. Validated batches wait in memory until they reach
// `stagedBytesMax`, then are written as a fragment; commit writes what is left. A batch leaves
// memory only once its fragment is written.

import { writeFragment, type ColumnizedBatch, type ParquetColumn, type WrittenFragment } from '../format/index.js';
import type { ObjectStore } from '../storage/index.js';

function concatColumns(batches: ColumnizedBatch[], pick: (b: ColumnizedBatch) => ParquetColumn[]): ParquetColumn[] {
  const first = pick(batches[0]);
  return first.map((c, i) => ({ ...c, values: batches.flatMap((b) => pick(b)[i].values as unknown[]) }));
}

export function mergeBatches(batches: ColumnizedBatch[]): ColumnizedBatch {
  if (batches.length === 1) return batches[0];
  const large = new Map<string, ParquetColumn[]>();
  for (const name of batches[0].large.keys()) large.set(name, concatColumns(batches, (b) => b.large.get(name)!));
  return {
    rows: batches.reduce((n, b) => n + b.rows, 0),
    scalar: concatColumns(batches, (b) => b.scalar),
    large,
    bytes: batches.reduce((n, b) => n + b.bytes, 0),
  };
}

export class Staging {
  private batches: ColumnizedBatch[] = [];
  private bytes = 0;
  readonly written: WrittenFragment[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly stagedBytesMax: number,
    private readonly fragmentRowsMax: number,
  ) {}

  get rows(): number {
    return this.batches.reduce((n, b) => n + b.rows, 0) + this.written.reduce((n, w) => n + w.fragment.rows, 0);
  }

  async add(batch: ColumnizedBatch): Promise<void> {
    this.batches.push(batch);
    this.bytes += batch.bytes;
    if (this.bytes >= this.stagedBytesMax || this.batches.reduce((n, b) => n + b.rows, 0) >= this.fragmentRowsMax) await this.flush();
  }

  /** Writes every waiting batch as one fragment. If the write fails (a full disk), the batches stay staged for a retry. */
  async flush(): Promise<void> {
    if (this.batches.length === 0) return;
    const taken = this.batches;
    const fragment = await writeFragment(this.store, mergeBatches(taken));
    this.batches = this.batches.slice(taken.length);
    this.bytes = this.batches.reduce((n, b) => n + b.bytes, 0);
    this.written.push(fragment);
  }

  clear(): void {
    this.batches = [];
    this.bytes = 0;
    this.written.length = 0;
  }
}
