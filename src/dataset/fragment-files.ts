// Fragments written by a process that does not commit them (a cluster worker): it opens the
// dataset read-only at the version the committing handle started from, takes row ids from the
// dataset's own lease (so no two writers share one), writes the fragment and its large-column
// files put-if-absent, and hands back only their metadata. The committing handle stages that
// metadata (`Dataset.stageWritten`) and publishes it in its one commit. Files of an attempt whose
// metadata is never staged (a re-run job's loser) are unreferenced: vacuum removes them.

import { QuiverError } from '../errors.js';
import { columnize, RowIdAllocator, setRowIds, writeFragment, type ColumnDef, type RecordInput, type WrittenFragment } from '../format/index.js';
import type { ObjectStore } from '../storage/index.js';
import type { Dataset } from './dataset.js';
import { PendingStore } from './pending-store.js';

/** What a writer returns for one batch: the fragment's metadata and the schema it was written under. */
export interface FragmentFiles {
  schema: ColumnDef[];
  fragment: WrittenFragment;
}

/**
 * Writes fragments of one dataset from another process. Its files are listed in its own pending
 * marker before they are written (vacuum keeps them while it holds them); `release` drops the
 * marker, after which vacuum's grace period (`olderThan`, 1 h by default) protects them until
 * the commit that names them.
 */
export class FragmentWriter {
  readonly #store: PendingStore;
  readonly #rowIds: RowIdAllocator;

  constructor(private readonly ds: Dataset) {
    this.#store = PendingStore.of(ds.store);
    this.#rowIds = new RowIdAllocator(this.#store);
  }

  /** Validates the records against the dataset's schema (at the handle's version), gives them fresh row ids and writes them as one fragment. */
  async write(records: readonly RecordInput[]): Promise<FragmentFiles> {
    if (records.length === 0) throw new QuiverError('invalid_input', 'dataset: a fragment needs at least one row');
    const schema = this.ds.schema;
    // Validated with placeholder ids first, so bad input costs no lease.
    const batch = columnize(schema, records, new BigInt64Array(records.length));
    setRowIds(batch, Array.from(await this.#rowIds.take(records.length)));
    return { schema, fragment: await writeFragment(this.#store as ObjectStore, batch) };
  }

  /** Drops this writer's pending marker (see the class comment). */
  release(): Promise<void> {
    return this.#store.release();
  }
}
