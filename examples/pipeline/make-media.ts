// Test and example data for the seed guide: real PNG and JPEG files made with sharp, and a
// Parquet index of them (`media_index/part-0.parquet`) with rows the SQL must filter out
// (a text file, a null path) and a row whose file is missing.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { connect } from '../../src/pipeline/index.js';

export interface MediaRow {
  id: number;
  path: string | null;
  media_type: string;
}

/** Writes `n` images (alternating PNG and JPEG, `sizePx` square) and their index under `dir`. */
export async function makeMedia(dir: string, n: number, sizePx = 32): Promise<MediaRow[]> {
  await mkdir(join(dir, 'media'), { recursive: true });
  await mkdir(join(dir, 'data', 'media_index'), { recursive: true });
  const rows: MediaRow[] = [];
  for (let i = 0; i < n; i++) {
    const png = i % 2 === 0;
    const path = join(dir, 'media', `img-${i}.${png ? 'png' : 'jpg'}`);
    const img = sharp({ create: { width: sizePx, height: sizePx, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 128 } } });
    await (png ? img.png() : img.jpeg()).toFile(path);
    rows.push({ id: i + 1, path, media_type: png ? 'image/png' : 'image/jpeg' });
  }
  rows.push({ id: n + 1, path: join(dir, 'media', 'notes.txt'), media_type: 'text/plain' });
  rows.push({ id: n + 2, path: null, media_type: 'image/png' });
  rows.push({ id: n + 3, path: join(dir, 'media', 'missing.png'), media_type: 'image/png' });
  const con = await connect();
  try {
    const values = rows.map((r) => `(${r.id}, ${r.path === null ? 'null' : `'${r.path.replace(/'/g, "''")}'`}, '${r.media_type}')`).join(', ');
    await con.run(`copy (select id::BIGINT as id, path, media_type from (values ${values}) v(id, path, media_type)) to '${join(dir, 'data', 'media_index', 'part-0.parquet')}' (format parquet)`);
  } finally {
    await con.close();
  }
  return rows;
}
