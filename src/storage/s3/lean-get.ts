// The data reads of S3Store (whole-object and byte-range GETs) without the AWS SDK's middleware
// stack: signed by the SDK's own SigV4 signer and sent over a keep-alive node:http(s) Agent.
// Why: an 8 KB ranged GET through `S3Client.send` + `transformToByteArray` cost ~2.4–2.9 ms CPU
// here, the same GET this way ~1.0 ms (issue 11; figures in docs/storage.md), and a cold vector
// query makes ~98 of them with the client CPU as its limit. Everything else stays on the SDK.
//
// What it keeps from the SDK: the credentials come from the client's own resolved provider
// (`config.credentials()`: the standard chain, session tokens, refresh); the URL prefix, signing
// region and signing name come from the SDK itself, which builds one GetObject request once per
// store (stopped before it is signed or sent), so region, endpoint and path-style vs
// virtual-hosted addressing are exactly the SDK's. Keys are encoded as the SDK encodes its greedy
// `{Key+}` label. Failures become errors shaped like the SDK's (`name` = the S3 error code,
// `$metadata.httpStatusCode`), so s3-errors.ts maps and classifies both paths the same way.

import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** Where a store's GETs go and how they are signed, as the SDK resolved it. */
export interface LeanTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  port?: number;
  /** The path before the key: '' for virtual-hosted, '/bucket' for path-style. */
  basePath: string;
  query: Record<string, string>;
  signingRegion: string;
  signingName: string;
}

/** What one GET answered. */
export interface LeanResponse {
  data: Uint8Array;
  etag: string | undefined;
  lastModified: Date | undefined;
}

/** An S3 failure in the SDK's shape: `name` is S3's error code, the status in `$metadata`. */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** An error body is a few hundred bytes of XML; more than this is not read. */
const ERROR_BODY_MAX = 64 * 1024;
/** The key the SDK builds its one request for; only the part before it is kept. */
const PROBE_KEY = 'k';
const STOP = Symbol('lean-get: request built');

/** The SDK's encoding of a greedy label: each segment URI-encoded, '/' kept, !'()* escaped too. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((s) => (/^[\w.~-]+$/.test(s) ? s : encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())))
    .join('/');
}

/**
 * Lets the SDK build (endpoint resolution + serialization, no signing, no network) one GetObject
 * for `bucket` and keeps its URL prefix and signing scope.
 */
export async function resolveLeanTarget(client: S3Client, Command: typeof GetObjectCommand, bucket: string): Promise<LeanTarget> {
  const cmd = new Command({ Bucket: bucket, Key: PROBE_KEY });
  let target: LeanTarget | undefined;
  cmd.middlewareStack.add(
    () => async (args) => {
      const r = args.request as { protocol: string; hostname: string; port?: number; path: string; query?: Record<string, string | string[] | null> };
      if (!r.path.endsWith('/' + PROBE_KEY)) throw new Error(`lean-get: the SDK built path "${r.path}" for key "${PROBE_KEY}"`);
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.query ?? {})) if (typeof v === 'string') query[k] = v;
      target = { protocol: r.protocol === 'https:' ? 'https:' : 'http:', hostname: r.hostname, port: r.port, basePath: r.path.slice(0, -(PROBE_KEY.length + 1)), query, signingRegion: '', signingName: '' };
      throw STOP;
    },
    { step: 'build', priority: 'low', name: 'quiverLeanGetTarget' },
  );
  // The endpoint's auth scheme (signing region/name) is on the context once the endpoint resolved.
  let scheme: { signingRegion?: string; signingName?: string } | undefined;
  cmd.middlewareStack.add(
    (next, context) => async (args) => {
      scheme = (context as { endpointV2?: { properties?: { authSchemes?: typeof scheme[] } } }).endpointV2?.properties?.authSchemes?.[0];
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'quiverLeanGetScheme' },
  );
  try {
    await client.send(cmd);
  } catch (e) {
    if (e !== STOP) throw e;
  }
  if (!target) throw new Error('lean-get: the SDK built no request');
  target.signingRegion = scheme?.signingRegion ?? (await client.config.region());
  target.signingName = scheme?.signingName ?? 's3';
  return target;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): BinaryLike => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

/** SigV4's hash and HMAC, natively (the signer's own default is a JavaScript sha256). */
class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

/**
 * Keep-alive agents, shared by every store in the process (idle sockets are unref'd by Node, so
 * they never hold the process open). The in-flight bound is the store's request runner's.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

export class LeanGetter {
  private readonly signer: SignatureV4;
  private readonly host: string;

  constructor(
    client: S3Client,
    private readonly t: LeanTarget,
  ) {
    this.signer = new SignatureV4({
      service: t.signingName,
      region: t.signingRegion,
      // The client's resolved provider: whatever chain, session token and refresh it has.
      credentials: () => client.config.credentials(),
      sha256: NodeSha256,
      uriEscapePath: false, // S3 signs the path as sent, not double-encoded (the SDK's disableDoubleEncoding)
      applyChecksum: false,
    });
    this.host = t.port === undefined ? t.hostname : `${t.hostname}:${t.port}`;
  }

  async get(key: string, range: string | undefined, signal: AbortSignal): Promise<LeanResponse> {
    const headers: Record<string, string> = { host: this.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (range) headers.range = range;
    const path = this.t.basePath + '/' + encodeKeyPath(key);
    const signed = await this.signer.sign({ method: 'GET', protocol: this.t.protocol, hostname: this.t.hostname, port: this.t.port, path, query: { ...this.t.query }, headers });
    const qs = new URLSearchParams(this.t.query).toString();
    return send(this.t, path + (qs ? '?' + qs : ''), signed.headers, signal);
  }
}

function send(t: LeanTarget, path: string, headers: Record<string, string>, signal: AbortSignal): Promise<LeanResponse> {
  return new Promise((resolve, reject) => {
    const mod = t.protocol === 'https:' ? https : http;
    const req = mod.request({ agent: agents[t.protocol], method: 'GET', protocol: t.protocol, hostname: t.hostname, port: t.port, path, headers, signal }, (res) => {
      const status = res.statusCode ?? 0;
      const ok = status === 200 || status === 206;
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (c: Buffer) => {
        length += c.length;
        if (ok || length <= ERROR_BODY_MAX) chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        if (!res.complete) return reject(Object.assign(new Error(`lean-get: response cut off after ${length} bytes`), { code: 'ECONNRESET' }));
        const body = Buffer.concat(chunks, ok ? length : undefined);
        if (!ok) return reject(httpError(status, body.toString('utf8')));
        const declared = res.headers['content-length'];
        if (declared !== undefined && Number(declared) !== length) {
          return reject(Object.assign(new Error(`lean-get: ${length} bytes came for a content-length of ${declared}`), { code: 'ECONNRESET' }));
        }
        const lm = res.headers['last-modified'];
        resolve({ data: new Uint8Array(body.buffer, body.byteOffset, body.length), etag: res.headers.etag, lastModified: lm ? new Date(lm) : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** S3's XML error body to the SDK's error shape; a body-less answer (HEAD-like 404s, proxies) by status. */
function httpError(status: number, body: string): S3HttpError {
  const tag = (name: string) => body.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
  const byStatus: Record<number, string> = { 403: 'Forbidden', 404: 'NotFound', 416: 'InvalidRange' };
  const code = tag('Code') ?? byStatus[status] ?? `Http${status}`;
  return new S3HttpError(code, status, tag('Message') ?? `HTTP ${status}`);
}
