// An HTTP proxy in front of a real test server that injects faults into chosen requests: never
// answer, drop the connection before forwarding, forward and then drop the answer (the write landed but the client
// never hears), answer 503 itself, or turn the server's 412/409 refusal into success (what an
// endpoint that ignores conditional headers looks like). Bytes pass unchanged, so signatures hold.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'drop-before' | 'drop-after' | 'unavailable' | 'ignore-conditions' | 'hang';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface FaultProxy {
  /** The proxy's URL, to use as the store's endpoint (same path layout as the target). */
  url: string;
  /** Every request seen, in order. */
  seen: SeenRequest[];
  /** Decides each request's fault (it may first do something, e.g. let a rival write); replace it between steps. */
  rule: (r: SeenRequest) => Fault | Promise<Fault>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const proxy: FaultProxy = { url: '', seen: [], rule: () => 'pass', close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const seen = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    proxy.seen.push(seen);
    const fault = await proxy.rule(seen);
    if (fault === 'drop-before') {
      req.resume();
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      req.resume(); // never answer; the proxy's close ends the connection
      return;
    }
    if (fault === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' }).end('<Error><Code>SlowDown</Code><Message>injected</Message></Error>');
      return;
    }
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (fault === 'drop-after') {
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      const status = answer.statusCode ?? 502;
      if (fault === 'ignore-conditions' && (status === 412 || status === 409) && req.method === 'PUT') {
        // The refused PUT "succeeds", with no error body (SDKs read an error body even under 2xx):
        // 201 is Azure's answer to an upload, 200 S3's.
        answer.resume();
        const headers = { ...answer.headers, etag: '"0123456789abcdef0123456789abcdef"', 'last-modified': new Date().toUTCString() };
        delete headers['content-length'];
        delete headers['content-type'];
        res.writeHead(req.headers['x-ms-version'] ? 201 : 200, headers).end();
        return;
      }
      res.writeHead(status, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}${t.pathname === '/' ? '' : t.pathname}`;
  proxy.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  server.on('connection', (s) => s.unref());
  return proxy;
}
