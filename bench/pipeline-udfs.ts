// UDF modules for bench/pipeline.ts: every backend loads them from here.

import { readFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import sharp from 'sharp';

// One libvips thread per worker, so throughput scales with workers, not with libvips' own pool.
sharp.concurrency(1);

/** Returns its input: measures pure per-batch overhead. */
export function identity(batch: arrow.Table): arrow.Table {
  return batch;
}

/** A "model" that takes 1 s to load, then labels rows by id parity. */
export class SlowModel {
  constructor() {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  call(batch: arrow.Table): Record<string, unknown>[] {
    return Array.from(batch.getChild('id')!.toArray() as BigInt64Array, (id) => ({ id, label: id % 2n === 0n ? 'even' : 'odd', pid: process.pid }));
  }
}

/** CPU-bound: reads each image file and resizes it to 64×64 PNG with sharp. */
export async function resize(batch: arrow.Table): Promise<arrow.Table> {
  const paths = batch.getChild('path')!.toArray() as string[];
  const thumbs: Uint8Array[] = [];
  for (const p of paths) thumbs.push(await sharp(await readFile(p)).resize(64, 64).png().toBuffer());
  return new arrow.Table({ id: batch.getChild('id')!, thumb: arrow.vectorFromArray(thumbs, new arrow.Binary()) });
}

/** (id, image bytes) -> (id, 64 px thumbnail): resize from bytes a dataset holds, not from a path. */
export async function resizeBytes(batch: arrow.Table): Promise<arrow.Table> {
  const images = batch.getChild('image')!.toArray() as Uint8Array[];
  const thumbs: Uint8Array[] = [];
  for (const b of images) thumbs.push(await sharp(b).resize(64, 64).png().toBuffer());
  return new arrow.Table({ id: batch.getChild('id')!, thumb: arrow.vectorFromArray(thumbs, new arrow.Binary()) });
}

/** (row_id, image bytes) -> (row_id, 64 px thumbnail): issue 15's backfill, written back by row id. */
export async function resizeBackfill(batch: arrow.Table): Promise<arrow.Table> {
  const images = batch.getChild('image')!.toArray() as Uint8Array[];
  const thumbs: Uint8Array[] = [];
  for (const b of images) thumbs.push(await sharp(b).resize(64, 64).png().toBuffer());
  return new arrow.Table({ row_id: batch.getChild('row_id')!, thumb: arrow.vectorFromArray(thumbs, new arrow.Binary()) });
}

/** Makes `bytes` bytes of image-like data per row (a PNG signature, then a pseudo-random fill). */
export function fakeImageBytes(batch: arrow.Table): arrow.Table {
  const ids = batch.getChild('id')!.toArray() as BigInt64Array;
  const sizes = batch.getChild('bytes')!.toArray() as Int32Array;
  const blobs = Array.from(ids, (id, i) => {
    const b = new Uint8Array(sizes[i]);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    let x = Number(id) | 1;
    for (let k = 8; k < b.length; k += 4096) b[k] = x = (x * 1103515245 + 12345) & 0xff;
    return b;
  });
  return new arrow.Table({ id: batch.getChild('id')!, image_bytes: arrow.vectorFromArray(blobs, new arrow.Binary()) });
}

/** An actor that reduces each image to its size and a checksum. */
export class Fingerprint {
  call(batch: arrow.Table): Record<string, unknown>[] {
    const ids = batch.getChild('id')!;
    const bytes = batch.getChild('image_bytes')!;
    return Array.from({ length: batch.numRows }, (_, i) => {
      const b = bytes.get(i) as Uint8Array;
      let h = 0;
      for (let k = 0; k < b.length; k += 4096) h = (h * 31 + b[k]) >>> 0;
      return { id: ids.get(i), size: b.length, hash: h };
    });
  }
}
