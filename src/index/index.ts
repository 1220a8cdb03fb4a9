// The index layer's public face: search kernels over dense ordinals (0..n-1), with no knowledge
// of Parquet, DuckDB or row ids. The query planner maps row ids to ordinals and calls these.
// Invariant: everything the query layer may use is exported here and nowhere else.

export { Bitmap } from './bitmap.js';
export { TopK } from './top-k.js';

export type { Metric, SearchResult } from './vector/metric.js';
export { higherIsBetter, scoreOf } from './vector/metric.js';
export type { Candidates } from './vector/gather.js';
export type { RowMap } from './vector/row-map.js';
export { rowOfVector } from './vector/row-map.js';
export type { ExactSearchOptions } from './vector/exact.js';
export { exactSearch } from './vector/exact.js';
export type { VectorPlan, VectorPlanInput, VectorStrategy } from './vector/planner.js';
export { COST_NS, planVectorSearch, rerankPool } from './vector/planner.js';
export { firstRound, secondRound } from './vector/rerank-rounds.js';
export type { BuildProgress, IndexParts, VectorIndexOptions, VectorSearchOptions, VectorSearchResult } from './vector/hnsw-index.js';
export { VectorIndex } from './vector/hnsw-index.js';
export type { IndexedFile, IndexedTail, PartEntry as VectorIndexPart, VectorIndexFile } from './vector/index-file.js';
export { INDEX_HEAD_GUESS_BYTES, KERNEL_HEADER_BYTES, KERNEL_HEADER_BYTES_PER_DIM, decodeVectorIndexFile, eagerBytesGuess, encodeVectorIndexFile, loadVectorIndex, readGraphPart, readVectorIndexFile } from './vector/index-file.js';

export type { TokenizerOptions } from './fulltext/tokenizer.js';
export { Tokenizer } from './fulltext/tokenizer.js';
export type { FullTextIndexOptions } from './fulltext/segment.js';
export { TextSegment } from './fulltext/segment.js';
export type { FullTextSearchOptions, TextSearchResult, SearchPart } from './fulltext/bm25-search.js';
export type { TextSearcher } from './fulltext/bm25-index.js';
export { FullTextIndex } from './fulltext/bm25-index.js';
export { SegmentedTextIndex } from './fulltext/segmented-index.js';

export type { ColumnData, MatchPredicate, ScalarOp } from './scalar/column-match.js';
export { compareText, encode, matchInto, numberColumn } from './scalar/column-match.js';
export { decodeScalarFile, encodeScalarFile, readScalarFile, SCALAR_MAGIC, type ScalarFileInfo } from './scalar/column-file.js';
export { encodeIndexPack, PACK_BYTES_MAX, PACK_MAGIC, readIndexPack } from './pack.js';
export { bytesGet } from './codec.js';
