// Shared fixtures of the io tests: a seeded dataset of small real images (sharp) with text,
// integer, embedding and JSON columns, and a reader of a dataset's rows without row ids.
import sharp from 'sharp';
import { create, open, type Dataset } from '../../src/index.js';
import { prng } from '../helpers/tmp.js';

export const SCHEMA = { image: 'image', prompt: 'text', rating: 'int64?', emb: 'emb-4', meta: 'json?' } as const;

/** `n` records from `seed`: PNG or JPEG images of 8–15 px, unique prompts. */
export async function records(n: number, seed = 17): Promise<Record<string, unknown>[]> {
  const rand = prng(seed);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const size = 8 + Math.floor(rand() * 8);
    const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: Math.floor(rand() * 255), g: i % 255, b: 7 } } });
    const image = i % 2 ? await img.jpeg().toBuffer() : await img.png().toBuffer();
    out.push({ image, prompt: `prompt ${i}`, rating: i % 3 === 0 ? null : BigInt(i % 5), emb: [rand(), rand(), rand(), i], meta: { i, tag: `t${i % 4}` } });
  }
  return out;
}

export async function datasetWith(url: string, recs: readonly Record<string, unknown>[]): Promise<Dataset> {
  const ds = await create(url, { schema: { ...SCHEMA } });
  if (recs.length) {
    await ds.append(recs);
    await ds.commit('seed');
  }
  return ds;
}

/** A dataset's rows in prompt order, as comparable plain values (images as hex, embeddings as arrays). */
export async function contents(url: string, at: { tag?: string } = {}): Promise<unknown[]> {
  const ds = await open(url, at);
  try {
    const rows = await ds.query('select image, prompt, rating, emb, meta from dataset order by prompt');
    return rows.map((r) => ({ ...r, image: Buffer.from(r.image as Uint8Array).toString('hex'), emb: Array.from(r.emb as Float32Array), meta: r.meta === null ? null : JSON.parse(r.meta as string) }));
  } finally {
    await ds.close();
  }
}
