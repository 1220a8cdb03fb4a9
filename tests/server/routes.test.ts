// Every route of the dataset API over real HTTP on 127.0.0.1: what each answers, that writes
// are committed (with the token's name as author) or staged in a session until its commit, and
// that /openapi.json is generated from the schemas that validate the requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import sharp from 'sharp';
import { served, genRecord, type Served } from './fixture.js';

let s: Served;
before(async () => {
  s = await served();
});
after(() => s.close());

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const count = async (where = 'true') => (await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: `select count(*)::int as n from dataset where ${where}` })).body.rows[0].n as number;

describe('server routes', () => {
  it('serves an OpenAPI document built from the request schemas, without a token', async () => {
    const r = await s.call('GET', '/openapi.json', undefined);
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    assert.ok(r.body.paths['/v1/datasets/{dataset}/query'].post.requestBody);
    assert.deepEqual(Object.keys(r.body.components.schemas.Query.properties).sort(), ['params', 'sql']);
    assert.ok(r.body.paths['/v1/datasets/{dataset}/stream'].get.parameters.some((p: { name: string }) => p.name === 'batchRows'));
  });

  it('lists and creates datasets, creating only with an admin token', async () => {
    assert.deepEqual((await s.call('GET', '/v1/datasets', s.read)).body.datasets, [{ name: 'gen' }]);
    assert.equal((await s.call('POST', '/v1/datasets', s.write, { name: 'other', schema: { t: 'text' } })).status, 403);
    const r = await s.call('POST', '/v1/datasets', s.admin, { name: 'other', schema: { t: 'text' } });
    assert.equal(r.status, 201);
    assert.equal((await s.call('POST', '/v1/datasets', s.admin, { name: 'other', schema: { t: 'text' } })).body.error.code, 'already_exists');
    assert.deepEqual((await s.call('GET', '/v1/datasets', s.read)).body.datasets.map((d: { name: string }) => d.name), ['gen', 'other']);
  });

  it('describes a dataset at its branch head', async () => {
    const r = await s.call('GET', '/v1/datasets/gen', s.read);
    assert.equal(r.status, 200);
    assert.equal(r.body.branch, 'main');
    assert.ok(r.body.rowCount >= 6);
    assert.deepEqual(r.body.schema.map((c: { name: string }) => c.name), ['prompt', 'image', 'rating', 'emb', 'big']);
  });

  it('appends JSON with base64 media and commits it at once with the token name as author', async () => {
    const rec = await genRecord(100);
    const before = await count();
    const r = await s.call('POST', '/v1/datasets/gen/append?message=one%20row', s.write, { records: [{ ...rec, image: b64(rec.image), emb: [...rec.emb], big: String(rec.big) }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rows, 1);
    assert.equal(typeof r.body.rowIds[0], 'string');
    assert.equal(r.body.commit.message, 'one row');
    assert.equal(r.body.commit.meta.author, 'writer-bob');
    assert.equal(await count(), before + 1);
    const q = await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 'select big, image from dataset where prompt = $1', params: ['p100'] });
    assert.equal(q.body.rows[0].big, String(2n ** 60n + 100n), '64-bit integers come back as strings');
    assert.deepEqual(q.body.types, { big: 'bigint', image: 'bytes' });
    assert.equal(q.body.rows[0].image, b64(rec.image));
  });

  it('appends an Arrow IPC stream', async () => {
    const table = arrow.tableFromArrays({ prompt: ['arrow-1', 'arrow-2'], rating: Int32Array.from([1, 2]) });
    const r = await s.call('POST', '/v1/datasets/gen/append', s.write, arrow.tableToIPC(table, 'stream'), { 'content-type': 'application/vnd.apache.arrow.stream' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rows, 2);
    assert.equal(await count("prompt like 'arrow-%'"), 2);
  });

  it('appends multipart records with image bytes as file parts', async () => {
    const png = (await genRecord(7)).image;
    const form = new FormData();
    form.set('records', JSON.stringify([{ prompt: 'multi-0', rating: 3 }, { prompt: 'multi-1' }]));
    form.set('1.image', new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }), 'x.png');
    const r = await s.call('POST', '/v1/datasets/gen/append', s.write, form);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const q = await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: "select prompt, image is not null as has from dataset where prompt like 'multi-%' order by prompt" });
    assert.deepEqual(q.body.rows, [{ prompt: 'multi-0', has: false }, { prompt: 'multi-1', has: true }]);
  });

  it('stages writes of a session until its commit, and commits nothing of another session', async () => {
    const h = { 'x-quiver-session': 'session-aaaaaaaa' };
    const before = await count();
    await s.call('POST', '/v1/datasets/gen/append', s.write, { records: [{ prompt: 'staged-0' }] }, h);
    await s.call('POST', '/v1/datasets/gen/append', s.write, { records: [{ prompt: 'staged-1' }] }, { 'x-quiver-session': 'session-bbbbbbbb' });
    assert.equal(await count(), before, 'staged rows are not visible');
    const c = await s.call('POST', '/v1/datasets/gen/commit', s.write, { message: 'two staged' }, h);
    assert.equal(c.status, 200);
    assert.equal(c.body.meta.author, 'writer-bob');
    assert.equal(await count("prompt like 'staged-%'"), 1, 'only the committing session\u2019s row');
    assert.equal((await s.call('POST', '/v1/datasets/gen/discard', s.write, undefined, { 'x-quiver-session': 'session-bbbbbbbb' })).status, 200);
  });

  it('answers a query as Arrow IPC when Accept asks for it', async () => {
    const r = await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 'select big from dataset where prompt = $1', params: ['p1'] }, { accept: 'application/vnd.apache.arrow.stream' });
    assert.equal(r.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    assert.equal(arrow.tableFromIPC(r.body).getChild('big')!.get(0), 2n ** 60n + 1n);
  });

  it('takes tagged parameters (bigint, float32 vectors) and explains a search', async () => {
    const r = await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 'select prompt from dataset where big = $1', params: [{ $bigint: String(2n ** 60n + 2n) }] });
    assert.deepEqual(r.body.rows, [{ prompt: 'p2' }]);
    const sql = 'select prompt from dataset order by cosine_similarity(emb, $1) desc limit 2';
    const e = await s.call('POST', '/v1/datasets/gen/explain', s.read, { sql, params: [{ $f32: [1, 5, 2, 0.5] }] });
    assert.equal(e.status, 200, JSON.stringify(e.body));
    assert.equal(e.body.shape, 'top-k');
  });

  it('lists versions and the log, newest first in the log', async () => {
    const v = await s.call('GET', '/v1/datasets/gen/versions', s.read);
    const log = await s.call('GET', '/v1/datasets/gen/log?limit=2', s.read);
    assert.equal(log.body.commits.length, 2);
    assert.equal(log.body.commits[0].id, v.body.versions.at(-1).id);
    assert.equal(v.body.versions[0].operation, 'create');
  });

  it('creates, lists and deletes branches and tags, merges a branch, and diffs it as NDJSON', async () => {
    assert.equal((await s.call('POST', '/v1/datasets/gen/branches', s.write, { name: 'exp' })).status, 201);
    await s.call('POST', '/v1/datasets/gen/append?branch=exp', s.write, { records: [{ prompt: 'on-exp' }] });
    assert.ok((await s.call('GET', '/v1/datasets/gen/branches', s.read)).body.branches.some((b: { name: string }) => b.name === 'exp'));
    const r = await fetch(`${s.server.url}/v1/datasets/gen/diff?from=main&to=exp`, { headers: { authorization: `Bearer ${s.read}` } });
    assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'summary');
    assert.equal(lines[0].counts.added, 1);
    assert.deepEqual(lines.slice(1).map((l) => l.type), ['row', 'end']);
    assert.equal(lines[1].row.prompt, 'on-exp');
    const m = await s.call('POST', '/v1/datasets/gen/merge', s.write, { source: 'exp' });
    assert.equal(m.body.kind, 'fast-forward');
    assert.equal((await s.call('POST', '/v1/datasets/gen/tags', s.write, { name: 'v1' })).status, 201);
    assert.deepEqual((await s.call('GET', '/v1/datasets/gen/tags', s.read)).body.tags.map((t: { name: string }) => t.name), ['v1']);
    assert.equal((await s.call('GET', '/v1/datasets/gen?tag=v1', s.read)).body.branch, null);
    assert.equal((await s.call('DELETE', '/v1/datasets/gen/tags/v1', s.write)).status, 200);
    assert.equal((await s.call('DELETE', '/v1/datasets/gen/branches/exp', s.write)).status, 200);
  });

  it('updates, deletes and curates rows, each as a commit', async () => {
    const u = await s.call('POST', '/v1/datasets/gen/update', s.write, { where: 'prompt = $1', params: ['p3'], set: { rating: 4 } });
    assert.equal(u.body.rows, 1);
    assert.equal(u.body.commit.meta.author, 'writer-bob');
    assert.equal(await count("prompt = 'p3' and rating = 4"), 1);
    const id = (await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: "select row_id from dataset where prompt = 'p4'" })).body.rows[0].row_id;
    await s.call('POST', '/v1/datasets/gen/update', s.write, { rows: [{ row_id: id, rating: 0 }] });
    assert.equal(await count("prompt = 'p4' and rating = 0"), 1);
    const d = await s.call('POST', '/v1/datasets/gen/delete', s.write, { rowIds: [id] });
    assert.equal(d.body.rows, 1);
    assert.equal(await count("prompt = 'p4'"), 0);
    await s.call('POST', '/v1/datasets/gen/branches', s.write, { name: 'cur' });
    const c = await s.call('POST', '/v1/datasets/gen/curate?branch=cur', s.write, { predicate: "prompt like 'p%'", message: 'only p rows' });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const left = await s.call('POST', '/v1/datasets/gen/query?branch=cur', s.read, { sql: "select count(*)::int as n from dataset where prompt not like 'p%'" });
    assert.equal(left.body.rows[0].n, 0);
  });

  it('builds an index as a commit', async () => {
    const r = await s.call('POST', '/v1/datasets/gen/indexes', s.write, { column: 'prompt', spec: { kind: 'fulltext' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok((await s.call('GET', '/v1/datasets/gen', s.read)).body.indexes.some((i: { column: string; kind: string }) => i.column === 'prompt' && i.kind === 'fulltext'));
  });

  it('serves a row\u2019s image with its content type, and a thumbnail on request', async () => {
    const id = (await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: "select row_id from dataset where prompt = 'p1'" })).body.rows[0].row_id;
    const full = await s.call('GET', `/v1/datasets/gen/rows/${id}/image`, s.read);
    assert.equal(full.headers.get('content-type'), 'image/png');
    assert.deepEqual(full.body, (await genRecord(1)).image);
    const thumb = await s.call('GET', `/v1/datasets/gen/rows/${id}/image?w=20`, s.read);
    const meta = await sharp(thumb.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 20, 15]);
    assert.equal((await s.call('GET', `/v1/datasets/gen/rows/999999/image`, s.read)).status, 404);
    assert.equal((await s.call('GET', `/v1/datasets/gen/rows/${id}/prompt`, s.read)).status, 400);
  });

  it('answers a bad body with invalid_input and names the field', async () => {
    const r = await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: 42 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_input');
    assert.match(r.body.error.message, /sql/);
  });
});

describe('server request bounds', () => {
  it('refuses a body over requestBytesMax with too_large (413) before reading it whole', async () => {
    const small = await served(1, { requestBytesMax: 1024 });
    try {
      const r = await small.call('POST', '/v1/datasets/gen/append', small.write, { records: [{ prompt: 'x'.repeat(4096) }] });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'too_large');
    } finally {
      await small.close();
    }
  });
});
