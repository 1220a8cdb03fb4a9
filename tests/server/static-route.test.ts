// The web UI's static route over real HTTP (raw request paths, so `..` and its encodings reach
// the server as a browser or curl --path-as-is would send them): files of the UI folder with
// their content types, nothing outside it, the API routes not shadowed, and a UI folder without
// a build answered with how to build it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, serve, type RunningServer } from '../../src/server/index.js';
import { staticFileOf } from '../../src/server/static-route.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'not-for-the-web-7f3a';
let built: RunningServer;
let unbuilt: RunningServer;
let webDir: string;

/** GET `path` exactly as written (no URL normalisation). */
function get(server: RunningServer, path: string): Promise<{ status: number; type: string; cache: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), cache: String(res.headers['cache-control'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  const top = tempDir('quiver-static-');
  webDir = join(top, 'web');
  mkdirSync(join(webDir, 'assets'), { recursive: true });
  writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>ui</title>');
  writeFileSync(join(webDir, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(webDir, 'assets', 'app-1234.css'), 'body{}');
  writeFileSync(join(top, 'secret.txt'), SECRET);
  writeFileSync(join(top, 'web-secret.txt'), SECRET);
  const root = join(top, 'root');
  mkdirSync(root);
  built = await serve(createApp({ root, webDir }), { port: 0 });
  const empty = join(top, 'empty');
  mkdirSync(empty);
  unbuilt = await serve(createApp({ root, webDir: empty }), { port: 0 });
});
after(async () => {
  await built.close();
  await unbuilt.close();
});

describe('static route', () => {
  it('serves index.html at / and assets with their content type, assets cached as immutable', async () => {
    const index = await get(built, '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.equal(index.cache, 'no-cache');
    const js = await get(built, '/assets/app-1234.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
    assert.match(js.cache, /immutable/);
    assert.match((await get(built, '/assets/app-1234.css')).type, /^text\/css/);
  });

  it('never serves a file outside the UI folder, however the path spells its way out', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/%2e%2e%2fweb-secret.txt',
      '/.%2e/secret.txt',
      '/index.html%00.js',
      '/%252e%252e/secret.txt',
      '/assets//../../secret.txt',
      `/${encodeURIComponent(join(webDir, '..', 'secret.txt'))}`,
    ];
    for (const path of attempts) {
      const r = await get(built, path);
      assert.ok(r.status === 404 || r.status === 400, `${path} answered ${r.status}`);
      assert.ok(!r.body.includes(SECRET), `${path} leaked the file`);
    }
  });

  it('answers a directory or a missing file with 404', async () => {
    assert.equal((await get(built, '/assets')).status, 404);
    assert.equal((await get(built, '/assets/')).status, 404);
    assert.equal((await get(built, '/nothing.js')).status, 404);
  });

  it('leaves the API routes to the API: /v1 needs a token and /openapi.json is the document', async () => {
    assert.equal((await get(built, '/v1/datasets')).status, 401);
    const doc = await get(built, '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(JSON.parse(doc.body).openapi, '3.1.0');
  });

  it('says how to build the UI when its folder has no build', async () => {
    const r = await get(unbuilt, '/');
    assert.equal(r.status, 404);
    assert.match(r.body, /npm run build:web/);
  });
});

describe('staticFileOf', () => {
  it('maps a path to a file inside the folder and refuses every other', () => {
    assert.equal(staticFileOf('/srv/web', '/'), '/srv/web/index.html');
    assert.equal(staticFileOf('/srv/web', '/assets/a.js'), '/srv/web/assets/a.js');
    for (const p of ['/../x', '/a/../../x', '/%2e%2e/x', '/a%2f..%2f..%2fx', '/%5c..', '/a\0', '/%E0%A4%A', '//etc/passwd']) assert.equal(staticFileOf('/srv/web', p), null, p);
  });
});
