// The stream route over real HTTP: npy frames and Arrow IPC carry the same batches as
// ds.stream(), bad inputs are answered with the error table's status before any byte of a
// stream, and a client that stops reading early releases the stream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import * as quiver from '../../src/index.js';
import { join } from 'node:path';
import { createToken, serve, type BatchFrameHeader, type RunningServer } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drain, imageDataset, numbers } from '../stream/fixture.js';

let ds: quiver.Dataset;
let server: RunningServer;
let auth: { authorization: string };

before(async () => {
  const root = tempDir('quiver-server-');
  ds = await imageDataset(join(root, 'gen'), 2, 30);
  server = await serve({ root, port: 0, onBootstrapToken: false });
  auth = { authorization: `Bearer ${(await createToken(root, 'stream-tests', { role: 'read' })).token}` };
});
after(async () => {
  await server.close();
  await ds.close();
});

/** A minimal reader of npy frames: each frame's header and its arrays' raw bytes. */
function parseFrames(bytes: Uint8Array): { header: BatchFrameHeader | { type: string }; arrays: Uint8Array[] }[] {
  const out = [];
  let at = 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (at < bytes.length) {
    const len = dv.getUint32(at, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
    const arrays: Uint8Array[] = [];
    for (const a of header.arrays ?? []) {
      arrays.push(bytes.subarray(at, at + a.bytes));
      at += a.bytes;
    }
    out.push({ header, arrays });
  }
  return out;
}

/** The text values of column `name` in a frame (offsets .npy + data .npy). */
function textOf(f: { header: BatchFrameHeader; arrays: Uint8Array[] }, name: string): string[] {
  const i = f.header.arrays.findIndex((a) => a.column === name && a.part === 'offsets');
  const npyData = (b: Uint8Array) => b.subarray(10 + new DataView(b.buffer, b.byteOffset).getUint16(8, true));
  const offsets = new BigInt64Array(npyData(f.arrays[i]).slice().buffer);
  const data = npyData(f.arrays[i + 1]);
  return Array.from({ length: offsets.length - 1 }, (_, k) => new TextDecoder().decode(data.subarray(Number(offsets[k]), Number(offsets[k + 1]))));
}

const query = 'columns=image,prompt&batchRows=8&seed=7&blockRows=4&rank=1&worldSize=2&decode=' + encodeURIComponent(JSON.stringify({ image: { width: 4, height: 3 } }));
const same = { columns: ['image', 'prompt'], batchRows: 8, shuffle: { seed: 7, blockRows: 4 }, shard: { rank: 1, worldSize: 2 }, decode: { image: { width: 4, height: 3 } } };

describe('GET /v1/datasets/:dataset/stream', () => {
  it('streams npy frames holding the same batches as ds.stream, then an end frame', async () => {
    const r = await fetch(`${server.url}/v1/datasets/gen/stream?${query}`, { headers: auth });
    assert.equal(r.status, 200);
    const frames = parseFrames(new Uint8Array(await r.arrayBuffer()));
    const expected = await drain(ds.stream(same));
    assert.equal(frames.at(-1)!.header.type, 'end');
    const batches = frames.slice(0, -1) as { header: BatchFrameHeader; arrays: Uint8Array[] }[];
    assert.deepEqual(batches.map((f) => textOf(f, 'prompt')), expected.map((b) => (b.columns.prompt as { values: string[] }).values));
    const image = batches[0].header.arrays.find((a) => a.column === 'image')!;
    assert.equal(image.bytes, 128 + 8 * 3 * 4 * 3, 'an 8 × 3 × 4 × 3 uint8 .npy');
    assert.equal(batches.at(-1)!.header.cursor.nextBatch, expected.at(-1)!.index + 1);
  });

  it('streams one Arrow IPC stream with format=arrow', async () => {
    const r = await fetch(`${server.url}/v1/datasets/gen/stream?${query}&format=arrow`, { headers: auth });
    assert.equal(r.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    const table = arrow.tableFromIPC(new Uint8Array(await r.arrayBuffer()));
    const expected = await drain(ds.stream(same));
    assert.deepEqual([...table.getChild('prompt')!].map(String), expected.flatMap((b) => numbers(b).map((n) => `p${n}`)));
    assert.equal(table.schema.fields.find((f) => f.name === 'image')!.metadata.get('quiver:shape'), '[3,4,3]');
    assert.equal((table.getChild('image')!.get(0) as arrow.Vector).length, 36);
  });

  it('breaks an Arrow stream that fails midway, so a client sees an error and never a short, clean stream', async () => {
    const root = tempDir('quiver-server-bad-');
    (await imageDataset(join(root, 'bad'), 1, 12, new Set([10]))).close();
    const bad = await serve({ root, port: 0, onBootstrapToken: false });
    const auth = { authorization: `Bearer ${(await createToken(root, 'bad-tests', { role: 'read' })).token}` };
    try {
      const q = 'columns=image,prompt&batchRows=4&decode=' + encodeURIComponent(JSON.stringify({ image: { width: 4, height: 3 } }));
      for (const format of ['arrow', 'npy']) {
        const r = await fetch(`${bad.url}/v1/datasets/bad/stream?${q}&format=${format}`, { headers: auth });
        assert.equal(r.status, 200, 'the failure comes after the first batches were sent');
        if (format === 'npy') {
          const frames = parseFrames(new Uint8Array(await r.arrayBuffer()));
          assert.equal(frames.at(-1)!.header.type, 'error', 'npy ends with an error frame');
        } else {
          await assert.rejects(async () => arrow.tableFromIPC(new Uint8Array(await r.arrayBuffer())), 'the Arrow body is cut off, not ended cleanly');
        }
      }
      // The failed streams released their handles: the next request is served.
      const ok = await fetch(`${bad.url}/v1/datasets/bad/stream/info?columns=prompt`, { headers: auth });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    } finally {
      await bad.close();
    }
  });

  it('sends the schema of a stream that matches no row, in both formats', async () => {
    const none = `${query}&where=${encodeURIComponent("prompt = 'none'")}`;
    const table = arrow.tableFromIPC(new Uint8Array(await (await fetch(`${server.url}/v1/datasets/gen/stream?${none}&format=arrow`, { headers: auth })).arrayBuffer()));
    assert.equal(table.numRows, 0);
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['row_id', 'image', 'prompt']);
    assert.equal(table.schema.fields[1].metadata.get('quiver:shape'), '[3,4,3]');
    const frames = parseFrames(new Uint8Array(await (await fetch(`${server.url}/v1/datasets/gen/stream?${none}`, { headers: auth })).arrayBuffer()));
    assert.deepEqual(frames.map((f) => f.header.type), ['end']);
  });

  it('answers bad inputs with the error table status and code, before streaming', async () => {
    const status = async (q: string, dataset = 'gen') => {
      const r = await fetch(`${server.url}/v1/datasets/${dataset}/stream?${q}`, { headers: auth });
      return [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    };
    assert.deepEqual(await status('columns=nope'), [404, 'not_found']);
    assert.deepEqual(await status('rank=2&worldSize=2'), [400, 'invalid_input']);
    assert.deepEqual(await status('where=' + encodeURIComponent('rating >>>= 1')), [400, 'invalid_sql']);
    assert.deepEqual(await status('batchRows=many'), [400, 'invalid_input']);
    assert.deepEqual(await status('', 'other'), [404, 'not_found']);
    assert.deepEqual(await status('branch=nope'), [404, 'not_found']);
    assert.deepEqual(await status('format=csv'), [400, 'invalid_input']);
  });

  it('answers the epoch size on /stream/info', async () => {
    const r = await fetch(`${server.url}/v1/datasets/gen/stream/info?${query}`, { headers: auth });
    const info = (await r.json()) as { rows: number; batches: number; consumerBatches: number; version: string };
    assert.deepEqual([info.rows, info.batches, info.consumerBatches, info.version], [60, 8, 4, ds.version.id]);
  });

  it('lets a client stop reading midway and still serves the next request', async () => {
    const r = await fetch(`${server.url}/v1/datasets/gen/stream?columns=prompt&batchRows=1`, { headers: auth });
    const reader = r.body!.getReader();
    await reader.read();
    await reader.cancel();
    const again = await fetch(`${server.url}/v1/datasets/gen/stream/info?columns=prompt`, { headers: auth });
    assert.equal(again.status, 200);
  });
});
