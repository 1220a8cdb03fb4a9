// Quiver's public API: one versioned multimodal dataset, and SQL-first multimodal pipelines.
export * from './dataset/index.js';
export { t, TypeSpec, type ColumnDef, type ColumnType, type SchemaInput, type Commit, type CommitStats, type RecordInput, VALUE_BYTES_MAX } from './format/index.js';
export { QuiverError, isQuiverError, type ErrorCode } from './errors.js';
export { LocalStore, MemoryStore, CountingStore, type ObjectStore, type ObjectInfo } from './storage/index.js';
export { SANDBOX_DEFAULTS, type Param, type SandboxLimits } from './query/index.js';
export * from './pipeline/index.js';
export { Stream, type StreamOptions, type StreamCursor, type StreamBatch, type BatchColumn, type StreamInfo, type StreamStats, type ImageDecode } from './stream/index.js';
export { importFiles, exportVersion, verify, parseAddress, type ImportOptions, type ImportReport, type ImportProgress, type BadItem, type ExportOptions, type ExportReport, type ExportFormat, type VerifyOptions, type VerifyReport, type VerifyProblem, type SourceFormat } from './io/index.js';
export { createApp, serve, STATUS_OF, type AppOptions, type ServeOptions, type RunningServer } from './server/index.js';
