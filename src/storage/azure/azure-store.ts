// An ObjectStore over Azure Blob Storage (block blobs) at `az://container/prefix`. Conditional
// puts map to Azure's own `ifNoneMatch: '*'` and `ifMatch`; a large put stages blocks and commits
// the block list under the condition, so it stays atomic. Writes wait for the once-per-process
// probe (remote-store.ts).

import type { BlobServiceClient, BlockBlobClient, ContainerClient, ContainerListBlobFlatSegmentResponse } from '@azure/storage-blob';
import { QuiverError } from '../../errors.js';
import type { ByteRange, ObjectInfo, PutCondition, StoredObject } from '../object-store.js';
import { splitRemoteUrl, type RemoteStoreOptions } from '../remote/remote-options.js';
import { RemoteStore, type ListPage } from '../remote/remote-store.js';
import { azureError, classifyAzure, type AzureWhere } from './azure-errors.js';

export interface AzureStoreOptions extends RemoteStoreOptions {
  /** A storage account connection string (includes the endpoint and key or SAS). */
  connectionString?: string;
  /** Account name, with `accountKey` or `sasToken` when no connection string is given. */
  accountName?: string;
  accountKey?: string;
  /** A SAS token (with or without the leading '?'). */
  sasToken?: string;
  /** Blob service URL. Default: https://<accountName>.blob.core.windows.net. */
  endpoint?: string;
}

type AzureSdk = typeof import('@azure/storage-blob');
/** The SDK loads on first use (it costs seconds of startup), once per process. */
let sdkLoad: Promise<AzureSdk> | undefined;
const loadSdk = () => (sdkLoad ??= import('@azure/storage-blob'));

/** The blob endpoint a connection string names: BlobEndpoint, else built from account and suffix. */
function connectionEndpoint(cs: string): string {
  const f = Object.fromEntries(cs.split(';').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (f.BlobEndpoint) return f.BlobEndpoint.replace(/\/$/, '');
  return `${f.DefaultEndpointsProtocol ?? 'https'}://${f.AccountName}.blob.${f.EndpointSuffix ?? 'core.windows.net'}`;
}

/** Checks the options now (so a bad one fails at open) and returns the endpoint and a client maker. */
function serviceClient(url: string, o: AzureStoreOptions): { endpoint: string; make: (sdk: AzureSdk) => BlobServiceClient } {
  // Our runner retries; the SDK's own policy would retry conditional puts blindly.
  const pipeline = { retryOptions: { maxTries: 1 } };
  const cs = o.connectionString;
  if (cs) return { endpoint: connectionEndpoint(cs), make: (sdk) => sdk.BlobServiceClient.fromConnectionString(cs, pipeline) };
  const { accountName, accountKey, sasToken } = o;
  if (!accountName) throw new QuiverError('invalid_input', `storage: ${url} needs storage.connectionString, or storage.accountName with accountKey or sasToken`, { url });
  const endpoint = (o.endpoint ?? `https://${accountName}.blob.core.windows.net`).replace(/\/$/, '');
  if (accountKey) return { endpoint, make: (sdk) => new sdk.BlobServiceClient(endpoint, new sdk.StorageSharedKeyCredential(accountName, accountKey), pipeline) };
  if (sasToken) return { endpoint, make: (sdk) => new sdk.BlobServiceClient(`${endpoint}?${sasToken.replace(/^\?/, '')}`, undefined, pipeline) };
  throw new QuiverError('invalid_input', `storage: ${url} needs storage.accountKey or storage.sasToken with accountName "${accountName}"`, { url });
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

export class AzureStore extends RemoteStore {
  readonly url: string;
  protected readonly endpoint: string;
  protected readonly root: string;
  private readonly makeClient: (sdk: AzureSdk) => BlobServiceClient;
  private containerClient?: Promise<ContainerClient>;
  private readonly where: AzureWhere;

  constructor(url: string, options: AzureStoreOptions = {}) {
    const parts = splitRemoteUrl(url, 'az');
    if (!parts) throw new QuiverError('invalid_input', `storage: an Azure URL looks like az://container/prefix, got "${url}"`, { url });
    super(parts.prefix, options, classifyAzure);
    this.url = url.replace(/\/+$/, '');
    this.root = parts.root;
    const { endpoint, make } = serviceClient(this.url, options);
    this.makeClient = make;
    this.endpoint = endpoint;
    this.where = { url: this.url, endpoint, container: parts.root };
  }

  private container(): Promise<ContainerClient> {
    return (this.containerClient ??= loadSdk().then((sdk) => this.makeClient(sdk).getContainerClient(this.root)));
  }

  private async blob(name: string): Promise<BlockBlobClient> {
    return (await this.container()).getBlockBlobClient(name);
  }

  protected error(op: string, key: string, e: unknown): QuiverError {
    return azureError(this.where, op, key, e);
  }

  protected isRangePastEnd(e: unknown): boolean {
    return (e as { statusCode?: number })?.statusCode === 416;
  }

  protected async fetch(name: string, range: ByteRange | undefined, abortSignal: AbortSignal): Promise<StoredObject> {
    const r = await (await this.blob(name)).download(range?.offset ?? 0, range?.length, { abortSignal });
    const data = await readAll(r.readableStreamBody);
    return { data, info: { key: name, size: data.length, etag: r.etag ?? '', lastModified: r.lastModified?.getTime() ?? 0 } };
  }

  protected async stat(name: string, abortSignal: AbortSignal): Promise<Omit<ObjectInfo, 'key'>> {
    const r = await (await this.blob(name)).getProperties({ abortSignal });
    return { size: r.contentLength ?? 0, etag: r.etag ?? '', lastModified: r.lastModified?.getTime() ?? 0 };
  }

  protected async listPage(namePrefix: string, token: string | undefined, abortSignal: AbortSignal): Promise<ListPage> {
    const pages = (await this.container()).listBlobsFlat({ prefix: namePrefix, abortSignal }).byPage({ maxPageSize: this.o.listPageKeysMax, continuationToken: token });
    const next = await pages.next();
    const page: ContainerListBlobFlatSegmentResponse | undefined = next.done ? undefined : next.value;
    return {
      items: (page?.segment.blobItems ?? []).map((b) => ({ key: b.name, size: b.properties.contentLength ?? 0, etag: b.properties.etag ?? '', lastModified: b.properties.lastModified?.getTime() ?? 0 })),
      next: page?.continuationToken || undefined,
    };
  }

  private conditions(condition?: PutCondition): { ifNoneMatch?: string; ifMatch?: string } {
    if (!condition) return {};
    return 'ifAbsent' in condition ? { ifNoneMatch: '*' } : { ifMatch: condition.ifMatch };
  }

  protected putOnce(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>> {
    return this.runner.once(async (abortSignal) => {
      const r = await (await this.blob(name)).upload(bytes, bytes.length, { conditions: this.conditions(condition), abortSignal });
      return { size: bytes.length, etag: r.etag ?? '', lastModified: r.lastModified?.getTime() ?? Date.now() };
    });
  }

  /** Blocks are staged in parallel (bounded by the runner); the block-list commit carries the condition. */
  protected async putParts(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>> {
    const blob = await this.blob(name);
    const count = Math.ceil(bytes.length / this.o.partBytes);
    // Block ids must be equal-length base64; a random tag keeps racing writers' blocks apart.
    const tag = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
    const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${String(i).padStart(6, '0')}`).toString('base64'));
    await Promise.all(
      ids.map((id, i) =>
        this.runner.idempotent((abortSignal) => {
          const part = bytes.subarray(i * this.o.partBytes, Math.min(bytes.length, (i + 1) * this.o.partBytes));
          return blob.stageBlock(id, part, part.length, { abortSignal });
        }),
      ),
    );
    const r = await this.runner.once((abortSignal) => blob.commitBlockList(ids, { conditions: this.conditions(condition), abortSignal }));
    return { size: bytes.length, etag: r.etag ?? '', lastModified: r.lastModified?.getTime() ?? Date.now() };
  }

  protected async remove(name: string, abortSignal: AbortSignal): Promise<void> {
    await (await this.blob(name)).deleteIfExists({ abortSignal });
  }

  /** A block-list commit is checked by the same conditions as a single upload. */
  protected partsKeepConditions(): boolean {
    return true;
  }

  protected async probeFacts(): Promise<Record<string, boolean>> {
    return {};
  }
}
