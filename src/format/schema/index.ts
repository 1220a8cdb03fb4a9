export * from './column-type.js';
export { readImageHeader, imageDefect, type ImageInfo } from './image-header.js';
export { columnize, setRowIds, parquetColumn, describeValue, VALUE_BYTES_MAX, type ColumnizedBatch, type ColumnizeLimits, type RecordInput } from './columnize.js';
