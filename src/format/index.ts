// The format layer's public face: schema and columnizing, Parquet writing, manifests,
// commits and refs, row-id leases, and the key layout.
export * from './schema/index.js';
export { openRanged, openRangedByParts, planRowReads, readRowsRanged, type PageLocation, type RangedFile, type RowRead } from './parquet/index.js';
export { writeParquet, decodeFooter, decodePageHeader, openFile, readFooter, readInt64Column, readRows, readVectorColumn, visitByteArrays, bytesHash, type ParquetColumn, type ParquetLeaf, type ParquetWriteOptions, type FooterColumn, type ParquetFooter, type PageHeader, type RandomAccess } from './parquet/index.js';
export { layout, FORMAT_VERSION, validRefName, randomId, immutableKey } from './layout.js';
export { encodeMetadata, decodeMetadata, readMetadata, writeMetadata, stableStringify, sha256Hex } from './metadata.js';
export { manifestSegmentKeys, SEGMENT_ENTRIES } from './manifest-segments.js';
export { emptyManifest, manifestKeys, textSegmentKey, textSegmentKeys, scalarIndexKey, scalarIndexKeys, denseRowIds, fillDenseIds, hasDenseRowIds, isRecordedTail, liveRows, livePatches, patchedColumns, manifestBytes, type PatchMeta, type Manifest, type FragmentMeta, type GroupFileMeta, type IndexMeta, type SchemaEvolution } from './manifest.js';
export {
  writeManifest,
  readManifest,
  writeCommit,
  readCommit,
  readRef,
  createRef,
  moveRef,
  listRefs,
  refKey,
  type Commit,
  type CommitBody,
  type CommitStats,
  type RefKind,
} from './commit-graph.js';
export { RowIdAllocator, createRowIdLease, type RowIdLeaseOptions } from './row-ids.js';
export { PENDING_LEASE_MS, PENDING_PREFIXES, isPendingKey, readPendingMarkers, writePendingMarker, type PendingMarker } from './pending.js';
export { writeFragment, writeDeletes, putDataFile, groupFileMeta, largeFileOptions, SCALAR_ROW_GROUP_ROWS, SCALAR_FILE_OPTIONS, LARGE_ROW_GROUP_ROWS, type WrittenFragment } from './fragment-writer.js';
export { crc32Of, crc32OfFile, checkCrc32, dataFileError, expectedChecksum, noteChecksums, forgetChecksums, manifestChecksums, CHECKSUM_KEYS_MAX } from './checksums.js';
