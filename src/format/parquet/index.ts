export { writeParquet, type ParquetColumn, type ParquetLeaf, type ParquetWriteOptions } from './writer.js';
