// The dataset layer's public face.
export {
  Dataset,
  create,
  open,
  type CreateOptions,
  type OpenOptions,
  type WriteOptions,
  type AppendResult,
  type CommitOptions,
  type RowsUpdate,
  type VersionDiff,
  type MergeOptions,
  type MergeResult,
} from './dataset.js';
export type { OpenTargetOptions } from './open-target.js';
export { ScopedDataset, sandboxedDataset, type ScopeOptions, type TenantValue } from './scoped.js';
export { toJsonRows, toJsonValue } from './json-rows.js';
export { FragmentWriter, type FragmentFiles } from './fragment-files.js';
export { RowMergeWriter, planRowMerge, checkRowMerge, rowMergeOp, mergesRemotely, type PieceRange, type RowMergeTask, type RowMergeChange } from './row-merge.js';
export type { CompactOptions, CompactRunOptions, AutoCompactOptions } from './versioning/compact.js';
export type { CellChange, DiffRow, DiffCounts } from './versioning/diff.js';
export type { ConflictPolicy, MergeConflict } from './versioning/merge.js';
export type { RowSelector, UpdateSpec } from './versioning/update.js';
export type { AddColumnOptions, AlterColumnOptions } from './versioning/schema-change.js';
export type { VacuumOptions, VacuumResult } from './versioning/vacuum.js';
export type { IndexSpec, VectorIndexSpec, FullTextIndexSpec, ScalarIndexSpec } from './search/create-index.js';
