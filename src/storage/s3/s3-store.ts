// An ObjectStore over S3 or any S3-compatible endpoint (AWS SDK v3) at `s3://bucket/prefix`.
// Conditional puts map to S3's own: put-if-absent is `If-None-Match: *`, put-if-match is
// `If-Match: <etag>`; writes wait for the once-per-process probe (remote-store.ts). Etags are
// kept without quotes, the only form radosgw's If-Match matches. Data reads (whole and ranged
// GETs) take the lean path in lean-get.ts; every other request goes through the SDK.

import { crc32 } from 'node:zlib';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { QuiverError } from '../../errors.js';
import type { ByteRange, ObjectInfo, PutCondition, StoredObject } from '../object-store.js';
import { refused, type ProbeResult } from '../remote/condition-probe.js';
import { splitRemoteUrl, type RemoteStoreOptions } from '../remote/remote-options.js';
import { RemoteStore, type ListPage } from '../remote/remote-store.js';
import { LeanGetter, resolveLeanTarget } from './lean-get.js';
import { classifyS3, s3Error, type S3Where } from './s3-errors.js';

export interface S3StoreOptions extends RemoteStoreOptions {
  /** AWS region. Default: AWS_REGION, else 'us-east-1'. */
  region?: string;
  /** An S3-compatible endpoint URL (e.g. 'http://127.0.0.1:7480'). Default: AWS for the region. */
  endpoint?: string;
  /** Access key and secret (or a provider). Default: the standard AWS credential chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`. Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
}

/** HEAD's Last-Modified has whole seconds, listings may carry milliseconds: keep seconds everywhere. */
const modifiedMs = (d: Date | undefined): number => (d ? Math.floor(d.getTime() / 1000) * 1000 : 0);

type S3Sdk = typeof import('@aws-sdk/client-s3');
/** The SDK loads on first use (it costs seconds of startup), once per process. */
let sdkLoad: Promise<S3Sdk> | undefined;
const loadSdk = () => (sdkLoad ??= import('@aws-sdk/client-s3'));

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

/**
 * The `x-amz-checksum-crc32` value of `bytes` (big-endian CRC-32, base64), computed natively.
 * Without it the SDK computes the same header in JavaScript on every put: ~40 ms per 6 MB file
 * quiet and ~300 ms at load 20 (measured against a local sink), against ~1 ms here; that was the
 * largest CPU cost of an append + commit. AWS checks the bytes against it; radosgw 16 ignores it
 * (as it ignored the SDK's), and readers still check each data file's CRC-32 from the manifest.
 */
export function crc32Checksum(bytes: Uint8Array): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(bytes) >>> 0);
  return b.toString('base64');
}

export class S3Store extends RemoteStore {
  readonly url: string;
  protected readonly endpoint: string;
  protected readonly root: string;
  private readonly config: S3ClientConfig;
  private client?: Promise<{ sdk: S3Sdk; client: S3Client }>;
  private lean?: Promise<LeanGetter>;
  private readonly where: S3Where;

  constructor(url: string, options: S3StoreOptions = {}) {
    const parts = splitRemoteUrl(url, 's3');
    if (!parts) throw new QuiverError('invalid_input', `storage: an S3 URL looks like s3://bucket/prefix, got "${url}"`, { url });
    super(parts.prefix, options, classifyS3);
    this.url = url.replace(/\/+$/, '');
    this.root = parts.root;
    const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.config = {
      region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      maxAttempts: 1, // our runner retries, and never a conditional put blindly
      // Data GETs take the lean path (fetch below); this covers what still goes through the SDK.
      // Its default checked a response checksum on every GET in JavaScript (54 ms of a 665 ms
      // cold vector + filter query's CPU before the lean path). Quiver checks every data file it
      // uses against the CRC-32 its manifest holds (metadata is in a sha256 envelope), so only an
      // operation that requires a check gets the SDK's too.
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.endpoint = options.endpoint ?? `https://s3.${region}.amazonaws.com`;
    this.where = { url: this.url, endpoint: this.endpoint, bucket: this.root };
  }

  private s3(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    return (this.client ??= loadSdk().then((sdk) => ({ sdk, client: new sdk.S3Client(this.config) })));
  }

  /** The data reads' path (lean-get.ts); built from the SDK client's own endpoint and credentials. */
  private leanGetter(): Promise<LeanGetter> {
    if (this.lean) return this.lean;
    const lean = this.s3().then(async ({ sdk, client }) => new LeanGetter(client, await resolveLeanTarget(client, sdk.GetObjectCommand, this.root)));
    lean.catch(() => this.lean === lean && (this.lean = undefined)); // a failed build is retried by the next read
    return (this.lean = lean);
  }

  protected error(op: string, key: string, e: unknown): QuiverError {
    return s3Error(this.where, op, key, e);
  }

  protected isRangePastEnd(e: unknown): boolean {
    return (e as { name?: string })?.name === 'InvalidRange';
  }

  protected async fetch(name: string, range: ByteRange | undefined, abortSignal: AbortSignal): Promise<StoredObject> {
    const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    const r = await (await this.leanGetter()).get(name, Range, abortSignal);
    return { data: r.data, info: { key: name, size: r.data.length, etag: unquote(r.etag), lastModified: modifiedMs(r.lastModified) } };
  }

  protected async stat(name: string, abortSignal: AbortSignal): Promise<Omit<ObjectInfo, 'key'>> {
    const { sdk, client } = await this.s3();
    const r = await client.send(new sdk.HeadObjectCommand({ Bucket: this.root, Key: name }), { abortSignal });
    return { size: r.ContentLength ?? 0, etag: unquote(r.ETag), lastModified: modifiedMs(r.LastModified) };
  }

  protected async listPage(namePrefix: string, token: string | undefined, abortSignal: AbortSignal): Promise<ListPage> {
    const { sdk, client } = await this.s3();
    const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.root, Prefix: namePrefix, ContinuationToken: token, MaxKeys: this.o.listPageKeysMax }), { abortSignal });
    return {
      items: (page.Contents ?? []).map((c) => ({ key: c.Key!, size: c.Size ?? 0, etag: unquote(c.ETag), lastModified: modifiedMs(c.LastModified) })),
      next: page.IsTruncated ? page.NextContinuationToken : undefined,
    };
  }

  private conditionHeaders(condition?: PutCondition): { IfNoneMatch?: string; IfMatch?: string } {
    if (!condition) return {};
    // radosgw matches If-Match only against the etag without quotes; AWS accepts that form too.
    return 'ifAbsent' in condition ? { IfNoneMatch: '*' } : { IfMatch: condition.ifMatch };
  }

  protected putOnce(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>> {
    return this.runner.once(async (abortSignal) => {
      const { sdk, client } = await this.s3();
      const r = await client.send(new sdk.PutObjectCommand({ Bucket: this.root, Key: name, Body: bytes, ChecksumCRC32: crc32Checksum(bytes), ...this.conditionHeaders(condition) }), { abortSignal });
      // PutObject answers no modification time; the writer's clock stands in for it.
      return { size: bytes.length, etag: unquote(r.ETag), lastModified: Date.now() };
    });
  }

  /** Parts go up in parallel (bounded by the runner); the complete carries the condition. */
  protected async putParts(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>> {
    const where = { Bucket: this.root, Key: name };
    const { sdk, client } = await this.s3();
    const { UploadId } = await this.runner.idempotent((abortSignal) => client.send(new sdk.CreateMultipartUploadCommand(where), { abortSignal }));
    try {
      const count = Math.ceil(bytes.length / this.o.partBytes);
      const parts = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          this.runner.idempotent(async (abortSignal) => {
            const Body = bytes.subarray(i * this.o.partBytes, Math.min(bytes.length, (i + 1) * this.o.partBytes));
            const r = await client.send(new sdk.UploadPartCommand({ ...where, UploadId, PartNumber: i + 1, Body, ChecksumCRC32: crc32Checksum(Body) }), { abortSignal });
            return { ETag: r.ETag, PartNumber: i + 1 };
          }),
        ),
      );
      const r = await this.runner.once((abortSignal) =>
        client.send(new sdk.CompleteMultipartUploadCommand({ ...where, UploadId, MultipartUpload: { Parts: parts }, ...this.conditionHeaders(condition) }), { abortSignal }),
      );
      return { size: bytes.length, etag: unquote(r.ETag), lastModified: Date.now() };
    } catch (e) {
      await this.runner.once((abortSignal) => client.send(new sdk.AbortMultipartUploadCommand({ ...where, UploadId }), { abortSignal })).catch(() => undefined);
      throw e;
    }
  }

  protected async remove(name: string, abortSignal: AbortSignal): Promise<void> {
    const { sdk, client } = await this.s3();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.root, Key: name }), { abortSignal });
  }

  /**
   * Conditions on CompleteMultipartUpload are newer than on PutObject (radosgw 16 ignores them),
   * so a large conditional put goes in parts only where the probe saw them enforced; elsewhere it
   * is one PutObject, which S3 takes up to 5 GiB.
   */
  protected partsKeepConditions(probe: ProbeResult): boolean {
    return probe.facts.multipartConditional === true;
  }

  protected async probeFacts(name: string): Promise<Record<string, boolean>> {
    const one = new Uint8Array([1]);
    return { multipartConditional: await refused(this.mapped('probe', name, () => this.putParts(name, one, { ifAbsent: true }))) };
  }
}
