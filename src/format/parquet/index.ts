export { writeParquet, type ParquetColumn, type ParquetLeaf, type ParquetWriteOptions } from './writer.js';
export { decodeFooter, openFile, readFooter, readInt64Column, readRows, type FooterColumn, type ParquetFooter, type RandomAccess } from './reader.js';
