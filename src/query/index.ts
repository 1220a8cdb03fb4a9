// The query layer's public face: the one DuckDB module, the dataset view planner, the file cache.
export { Engine, Session, USER_QUERY, type EngineCounts, userMessage, quoteIdent, quoteString, arrowTypeFromSql, sqlTypeFromArrow, toDuckValue, type EngineOptions, type ColumnInfo, type ResultRows, type Param, type RunOptions, type StatementKind } from './engine.js';
export { planScan, viewSql, referencedColumns, smallColumns, type ScanPlan, type ScanOptions } from './dataset-view.js';
export { FileCache } from './file-cache.js';
export { LargeValues, TAIL_PREFETCH_FILES_MAX } from './large-values.js';
export { LARGE_TABLE_POS, LateRuntime, loadLargeTable, planLate, type LatePlan, type LateHost } from './late-columns.js';
export { CollectionCache } from './search/collections.js';
export { SearchRuntime, type SearchHost, type SearchOptions, type SearchExplain } from './search/search-exec.js';
export { mentionsSearch } from './search/search-plan.js';
export { encodeVectorIndexFile, decodeVectorIndexFile, loadVectorIndex, type VectorIndexFile, type IndexedFile } from '../index/index.js';
export { indexableType, type ScalarPredicate } from './search/scalar-index.js';
export { readVectorFile, type FileVectors } from './search/vector-load.js';
export { segmentable, writeTextSegments, CORRUPT_SEGMENT_WARNING } from './search/text-segments.js';
export { writeScalarFiles, writeScalarPack } from './search/scalar-files.js';
export { expressionTree, predicateSql, checkBoolean } from './predicate.js';
export { rowExpressionSql } from './row-expression.js';
export { inRange, RowLookup } from './row-lookup.js';
export { ordinalOf as positionOf } from './search/collections.js';
export { checkSandboxed, sandboxLimits, resultBounds, SANDBOX_DEFAULTS, type SandboxLimits } from './sandbox.js';
