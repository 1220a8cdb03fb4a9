export { writeParquet, OFFSET_INDEX_PARTS_KEY, type ParquetColumn, type ParquetLeaf, type ParquetWriteOptions } from './writer.js';
export { openRanged, openRangedByParts, planRowReads, readRowsRanged, type PageLocation, type RangedFile, type RowRead } from './ranged-reader.js';
export { decodeFooter, decodePageHeader, openFile, readFooter, readInt64Column, readRows, readVectorColumn, visitByteArrays, bytesHash, type FooterColumn, type ParquetFooter, type PageHeader, type RandomAccess } from './reader.js';
