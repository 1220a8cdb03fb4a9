// Quiver's public API: one versioned multimodal dataset, and SQL-first pipelines.
export { create, open, Dataset, type CreateOptions, type OpenOptions, type WriteOptions, type AppendResult, type CommitOptions } from './dataset/index.js';
export { t, TypeSpec, type ColumnDef, type ColumnType, type SchemaInput, type Commit, type CommitStats } from './format/index.js';
export { QuiverError, isQuiverError, type ErrorCode } from './errors.js';
export { LocalStore, MemoryStore, CountingStore, type ObjectStore } from './storage/index.js';
