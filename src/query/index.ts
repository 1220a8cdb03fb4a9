// The query layer's public face: the one DuckDB module, the dataset view planner, the file cache.
export { Engine, Session, quoteIdent, quoteString, arrowTypeFromSql, sqlTypeFromArrow, toDuckValue, type EngineOptions, type ColumnInfo, type ResultRows, type Param } from './engine.js';
export { planScan, viewSql, referencedColumns, type ScanPlan, type ScanOptions } from './dataset-view.js';
export { FileCache } from './file-cache.js';
