// A served root for the server tests: a temp folder with dataset "gen" (prompt, image, rating,
// emb, big int64), a server on 127.0.0.1 port 0, and tokens of each role. `call` makes one
// request with a token and returns status and parsed body.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as quiver from '../../src/index.js';
import { createToken, serve, type RunningServer, type TokenScopes } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { pngOf } from '../stream/fixture.js';

export const genSchema = { prompt: 'text', image: 'image?', rating: 'int32?', emb: 'emb-4?', big: 'int64?' } as const;

export interface Served {
  root: string;
  server: RunningServer;
  admin: string;
  write: string;
  read: string;
  token(name: string, scopes: TokenScopes): Promise<string>;
  call(method: string, path: string, token: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** Row n of "gen": prompt `p<n>`, a PNG, rating n mod 5, an embedding pointing at n, big 2^60 + n. */
export async function genRecord(n: number) {
  return { prompt: `p${n}`, image: await pngOf(n, 40, 30), rating: n % 5, emb: new Float32Array([1, n, n % 3, 0.5]), big: 2n ** 60n + BigInt(n) };
}

export async function served(rows = 6, appOptions: Partial<quiver.ServeRootOptions> = {}): Promise<Served> {
  // The root is a folder of its own temp folder, so a test can count what is created beside it
  // without counting what other test files create in the shared temp folder at the same time.
  const root = join(tempDir('quiver-server-'), 'root');
  mkdirSync(root);
  const ds = await quiver.create(join(root, 'gen'), { schema: { ...genSchema } });
  const recs = [];
  for (let i = 0; i < rows; i++) recs.push(await genRecord(i));
  if (rows > 0) {
    await ds.append(recs);
    await ds.commit('seed rows');
  }
  await ds.close();
  const server = await serve({ root, port: 0, onBootstrapToken: false, ...appOptions });
  const token = async (name: string, scopes: TokenScopes) => (await createToken(root, name, scopes)).token;
  const call: Served['call'] = async (method, path, tok, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (tok) h.authorization = `Bearer ${tok}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData || body instanceof Uint8Array) payload = body as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const r = await fetch(`${server.url}${path}`, { method, headers: h, body: payload });
    const type = r.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? await r.json() : new Uint8Array(await r.arrayBuffer());
    return { status: r.status, body: parsed, headers: r.headers };
  };
  return {
    root,
    server,
    admin: await token('admin-alice', { role: 'admin' }),
    write: await token('writer-bob', { role: 'write' }),
    read: await token('reader-carol', { role: 'read' }),
    token,
    call,
    close: () => server.close(),
  };
}
