// The image-generation rows bench/append.ts and bench/objstore.ts write: one PNG, a prompt and an
// image embedding, rating, tags, user_id, from the seeded request generator; with the Quiver
// schema and the Arrow schema (LanceDB's input) for given embedding sizes. Invariant: the same
// (count, dims, pool) give the same rows, so both benchmarks write the same data.

import * as arrow from 'apache-arrow';
import { generateRequests, type ImagePool } from './records.js';

export interface BenchRecord {
  prompt: string;
  image: Uint8Array;
  prompt_emb: Float32Array;
  image_emb: Float32Array;
  rating: number | null;
  tags: string[];
  user_id: string;
}

export interface RowDims {
  promptDim: number;
  imageDim: number;
}

/** `count` rows from the request generator (seed 7, 200 users, one image per request). */
export function benchRows(count: number, dims: RowDims, pool: ImagePool): BenchRecord[] {
  return generateRequests({ seed: 7, count, promptDim: dims.promptDim, imageDim: dims.imageDim, imagesMax: 1, users: 200 }, pool).map((r) => ({
    prompt: r.prompt,
    image: r.images[0]!,
    prompt_emb: r.prompt_emb,
    image_emb: r.image_embs[0]!,
    rating: r.rating,
    tags: r.tags,
    user_id: r.user_id,
  }));
}

export function quiverSchema(dims: RowDims) {
  return { prompt: 'text', image: 'image', prompt_emb: `emb-${dims.promptDim}`, image_emb: `emb-${dims.imageDim}`, rating: 'int', tags: 'list<text>', user_id: 'text' };
}

const item = (t: arrow.DataType) => new arrow.Field('item', t, true);

/** The rows' Arrow schema, vectors as fixed-size lists of float32. */
export function arrowSchema(dims: RowDims): arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('prompt', new arrow.Utf8(), true),
    new arrow.Field('image', new arrow.Binary(), true),
    new arrow.Field('prompt_emb', new arrow.FixedSizeList(dims.promptDim, item(new arrow.Float32())), true),
    new arrow.Field('image_emb', new arrow.FixedSizeList(dims.imageDim, item(new arrow.Float32())), true),
    new arrow.Field('rating', new arrow.Int32(), true),
    new arrow.Field('tags', new arrow.List(item(new arrow.Utf8())), true),
    new arrow.Field('user_id', new arrow.Utf8(), true),
  ]);
}

/** The bytes a row hands to a writer (image, vectors, strings as UTF-16 code units, rating). */
export function inputBytes(r: BenchRecord): number {
  return r.image.length + r.prompt_emb.byteLength + r.image_emb.byteLength + r.prompt.length + r.user_id.length + 4 + r.tags.reduce((n, t) => n + t.length, 0);
}
