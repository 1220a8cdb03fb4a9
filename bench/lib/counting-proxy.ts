// A loopback HTTP proxy in front of an S3 server that records every exchange (method, key, range,
// status, bytes each way), so two different clients pointed at it are measured by one meter.
// Invariant: bytes pass through unchanged (SigV4 signatures hold) and every exchange is recorded
// once, when its answer has been fully sent to the client.

import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type S3Op = 'get' | 'head' | 'put' | 'post' | 'delete' | 'list' | 'other';

/** One request and its answer, as the proxy forwarded them. */
export interface Exchange {
  op: S3Op;
  method: string;
  bucket: string;
  /** The object key (path-style URL, percent-decoded); '' for bucket-level requests. */
  key: string;
  /** The Range header, when the client sent one. */
  range?: string;
  status: number;
  /** Request body bytes (what a put uploaded). */
  sentBytes: number;
  /** Answer body bytes (what a get downloaded). */
  receivedBytes: number;
  /** When the request arrived and when its answer was fully sent, ms since the epoch (fractional): a timeline across processes. */
  startMs: number;
  endMs: number;
}

export interface CountingProxy {
  /** The proxy's URL, to give both clients as their S3 endpoint. */
  url: string;
  /** Every exchange so far, in the order the answers finished. */
  readonly log: Exchange[];
  /** The exchanges after a `log.length` taken earlier. */
  since(mark: number): Exchange[];
  close(): Promise<void>;
}

/** Parses a path-style S3 request line into its bucket, key and operation. */
export function classify(method: string, url: string, headers: IncomingMessage['headers']): Pick<Exchange, 'op' | 'bucket' | 'key' | 'range'> {
  const u = new URL(url, 'http://proxy');
  const [, bucket = '', ...rest] = u.pathname.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const range = typeof headers.range === 'string' ? headers.range : undefined;
  const m = method.toUpperCase();
  let op: S3Op = 'other';
  if (m === 'GET') op = key === '' ? 'list' : 'get';
  else if (m === 'HEAD') op = 'head';
  else if (m === 'PUT') op = 'put';
  else if (m === 'POST') op = 'post';
  else if (m === 'DELETE') op = 'delete';
  return { op, bucket: decodeURIComponent(bucket), key, range };
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  const log: Exchange[] = [];
  // Keep-alive upstream, so the proxy adds one loopback hop per request and no handshakes.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const seen = classify(method, req.url ?? '/', req.headers);
    const startMs = performance.timeOrigin + performance.now();
    let sentBytes = 0;
    let receivedBytes = 0;
    req.on('data', (c: Buffer) => (sentBytes += c.length));
    const up = request({ host: t.hostname, port: t.port, method, path: req.url, headers: req.headers, agent }, (answer) => {
      const status = answer.statusCode ?? 502;
      answer.on('data', (c: Buffer) => (receivedBytes += c.length));
      res.on('finish', () => log.push({ ...seen, method, status, sentBytes, receivedBytes, startMs, endMs: performance.timeOrigin + performance.now() }));
      res.writeHead(status, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    since: (mark) => log.slice(mark),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => r());
      }),
  };
}
