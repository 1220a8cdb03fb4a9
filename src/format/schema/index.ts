export * from './column-type.js';
export { readImageHeader, type ImageInfo } from './image-header.js';
export { columnize, parquetColumn, type ColumnizedBatch, type RecordInput } from './columnize.js';
