// The query layer's public face.
export { Engine, Session, quoteIdent, quoteString, arrowTypeFromSql, sqlTypeFromArrow, type EngineOptions, type ColumnInfo, type ResultRows, type Param } from './engine.js';
