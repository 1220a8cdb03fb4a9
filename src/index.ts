// Quiver's public API: one versioned multimodal dataset, and SQL-first multimodal pipelines.
export * from './dataset/index.js';
export { t, TypeSpec, type ColumnDef, type ColumnType, type SchemaInput, type Commit, type CommitStats, type RecordInput, VALUE_BYTES_MAX } from './format/index.js';
export { QuiverError, isQuiverError, type ErrorCode } from './errors.js';
export { createRuntime, configureRuntime, defaultRuntime, Runtime, MEMORY_SHARES, type RuntimeOptions, type RuntimeMemory } from './runtime/index.js';
export { LocalStore, MemoryStore, CountingStore, type ObjectStore, type ObjectInfo } from './storage/index.js';
export { SANDBOX_DEFAULTS, type Param, type SandboxLimits } from './query/index.js';
export * from './pipeline/index.js';
export { Stream, type StreamOptions, type StreamCursor, type StreamBatch, type BatchColumn, type StreamInfo, type StreamStats, type ImageDecode } from './stream/index.js';
export { importFiles, exportVersion, verify, parseAddress, type ImportOptions, type ImportReport, type ImportProgress, type BadItem, type ExportOptions, type ExportReport, type ExportFormat, type VerifyOptions, type VerifyReport, type VerifyProblem, type SourceFormat } from './io/index.js';
export { createApp, serve, STATUS_OF, createToken, listTokens, revokeToken, type AppOptions, type ServeOptions, type ServeRootOptions, type RunningServer, type TokenInfo, type TokenScopes, type TokenRole } from './server/index.js';
export { RemoteDataset, type RemoteOpenOptions, type RemoteVersionDiff } from './server/client/index.js';
import { open as openEmbedded, type Dataset, type OpenOptions } from './dataset/index.js';
import { isRemoteUrl, openRemote, type RemoteDataset, type RemoteOpenOptions } from './server/client/index.js';
import type { ObjectStore } from './storage/index.js';

/**
 * Opens a dataset. An `http(s)://host:port/<dataset>/<branch>` URL opens it on a Quiver server
 * (a RemoteDataset with the same API, `{ token }` in options); anything else opens it embedded
 * (docs/datasets.md): its main branch by default, or a branch, tag, version or time.
 *
 * @example
 * const local = await quiver.open('./gen/main');
 * const remote = await quiver.open('http://localhost:7700/gen/main', { token: process.env.QUIVER_TOKEN });
 */
export function open(url: `http://${string}` | `https://${string}`, options?: RemoteOpenOptions): Promise<RemoteDataset>;
export function open(url: string | ObjectStore, options?: OpenOptions): Promise<Dataset>;
export function open(url: string | ObjectStore, options?: OpenOptions | RemoteOpenOptions): Promise<Dataset | RemoteDataset> {
  return isRemoteUrl(url) ? openRemote(url, options as RemoteOpenOptions) : openEmbedded(url, options as OpenOptions);
}
