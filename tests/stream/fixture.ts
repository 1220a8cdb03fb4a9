// Datasets for the stream tests: rows whose image colour encodes their number (red = n mod 256,
// green = n div 256), so a decoded batch can be checked pixel by pixel, and optionally images
// that pass the append's structure check yet do not decode (an IDAT of garbage with a good CRC).
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { crc32Of } from '../../src/format/index.js';

export const schema = { image: 'image', prompt: 'text', rating: 'int32', score: 'float64' } as const;

export async function pngOf(n: number, width = 12, height = 8): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width, height, channels: 3, background: { r: n % 256, g: Math.floor(n / 256) % 256, b: 200 } } }).png().toBuffer());
}

/** A PNG whose chunks and CRCs are whole but whose pixel data is not zlib: it cannot decode. */
export async function undecodablePng(): Promise<Uint8Array> {
  const b = new Uint8Array(await pngOf(0));
  const dv = new DataView(b.buffer);
  let o = 8;
  while (o < b.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
    if (type === 'IDAT') {
      for (let i = 0; i < len; i++) b[o + 8 + i] = (i * 37 + 11) & 0xff;
      dv.setUint32(o + 8 + len, crc32Of([b.subarray(o + 4, o + 8 + len)]));
    }
    o += 12 + len;
  }
  return b;
}

/** Row n of the fixture: rating n mod 5, prompt `p<n>`. */
export async function recordOf(n: number, bad: ReadonlySet<number>) {
  return { image: bad.has(n) ? await undecodablePng() : await pngOf(n), prompt: `p${n}`, rating: n % 5, score: n / 2 };
}

/** A dataset of `fragments` commits of `rows` rows each, numbered 0.. in append order. */
export async function imageDataset(target: string | quiver.ObjectStore, fragments: number, rows: number, bad: ReadonlySet<number> = new Set()): Promise<quiver.Dataset> {
  const ds = await quiver.create(target, { schema: { ...schema } });
  for (let f = 0; f < fragments; f++) {
    const recs = [];
    for (let i = 0; i < rows; i++) recs.push(await recordOf(f * rows + i, bad));
    await ds.append(recs);
    await ds.commit(`fragment ${f}`);
  }
  return ds;
}

/** Every batch of a stream, drained. */
export async function drain(s: AsyncIterable<quiver.StreamBatch>): Promise<quiver.StreamBatch[]> {
  const out: quiver.StreamBatch[] = [];
  for await (const b of s) out.push(b);
  return out;
}

/** The prompts' row numbers of a batch (`p12` → 12). */
export function numbers(b: quiver.StreamBatch): number[] {
  const c = b.columns.prompt;
  if (c.kind !== 'text') throw new Error('prompt is not text');
  return c.values.map((v) => Number(v!.slice(1)));
}
