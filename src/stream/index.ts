// The stream layer's public face: batches of one pinned version for training (shuffled,
// sharded, resumable, images decoded), read straight from the version's files.
export { Stream, rowBytesEstimate, type StreamSource, type StreamInfo, type StreamStats } from './stream.js';
export { resolveOptions, type StreamOptions, type ImageDecode, type ImageFit, BATCH_ROWS_DEFAULT, BATCH_BYTES_MAX_DEFAULT, PREFETCH_BATCHES_DEFAULT } from './options.js';
export type { StreamCursor } from './cursor.js';
export type { StreamBatch, BatchColumn, TensorDtype, TensorData } from './batch.js';
export { canonicalOrder, planBatches, consumerBatches, batchRowsOf, type BatchPlan } from './order.js';
export { batchToArrow } from './arrow-batch.js';
