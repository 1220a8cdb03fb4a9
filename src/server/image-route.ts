// A row's image (or other bytes) by row id: `GET /v1/datasets/:dataset/rows/:rowId/:column`,
// with the content type its header says, and a thumbnail on request (`?w=256`, optional `h`),
// resized by sharp without enlarging. Invariant: only image and binary columns are served, and a
// row the handle cannot see is `not_found`, whatever the reason.

import type { OpenAPIHono } from '@hono/zod-openapi';
import sharp from 'sharp';
import { QuiverError } from '../errors.js';
import { readImageHeader } from '../format/index.js';
import { quoteIdent } from '../query/index.js';
import type { ServerContext, ServerEnv } from './app.js';
import { withDataset } from './scope.js';
import { AtQuery, DatasetPath, input, requestOf, route, z } from './route-kit.js';

/** Widest and tallest thumbnail served, in pixels. */
const THUMB_PIXELS_MAX = 4096;

const TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' } as const;
const CellPath = DatasetPath.extend({
  rowId: z.string().regex(/^\d{1,20}$/).openapi({ param: { name: 'rowId', in: 'path' }, example: '42' }),
  column: z.string().min(1).max(256).openapi({ param: { name: 'column', in: 'path' }, example: 'image' }),
});
const ThumbQuery = AtQuery.extend({ w: z.coerce.number().int().min(1).max(THUMB_PIXELS_MAX).optional(), h: z.coerce.number().int().min(1).max(THUMB_PIXELS_MAX).optional() });

/** A thumbnail of `bytes` within w × h, in its own format (gif becomes png). */
async function thumbnail(bytes: Uint8Array, format: keyof typeof TYPES, w?: number, h?: number): Promise<{ bytes: Uint8Array; type: string }> {
  const img = sharp(bytes).resize({ width: w, height: h, fit: 'inside', withoutEnlargement: true });
  const out = format === 'jpeg' ? img.jpeg() : format === 'webp' ? img.webp() : img.png();
  const buf = await out.toBuffer();
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), type: format === 'gif' ? TYPES.png : TYPES[format] };
}

export function addImageRoute(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  route(app, { method: 'get', path: '/v1/datasets/{dataset}/rows/{rowId}/{column}', summary: 'One cell of an image or binary column, as bytes (thumbnail with ?w= / ?h=)', request: { params: CellPath, query: ThumbQuery }, ok: 'the bytes, typed by their header' }, async (c) => {
    const p = input<z.infer<typeof CellPath>>(c, 'param');
    const q = input<z.infer<typeof ThumbQuery>>(c, 'query');
    return withDataset(sx.pool, c.get('token'), p.dataset, requestOf(c, 'read'), async ({ ds }) => {
      const col = ds.schema.find((x) => x.name === p.column);
      if (!col) throw new QuiverError('not_found', `server: no column ${JSON.stringify(p.column)}`, { column: p.column });
      if (col.type.kind !== 'image' && col.type.kind !== 'binary') throw new QuiverError('invalid_input', `server: column ${JSON.stringify(p.column)} holds ${col.type.kind}, not image or binary bytes`, { column: p.column });
      const rows = await ds.query(`select ${quoteIdent(col.name)} as v from dataset where row_id = $1`, [BigInt(p.rowId)]);
      const v = rows[0]?.v;
      if (!(v instanceof Uint8Array)) throw new QuiverError('not_found', `server: no ${p.column} for row ${p.rowId}`, { rowId: p.rowId, column: p.column });
      const info = readImageHeader(v);
      if ((q.w !== undefined || q.h !== undefined) && info) {
        const t = await thumbnail(v, info.format, q.w, q.h);
        return new Response(t.bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': t.type, 'cache-control': 'private, max-age=60' } });
      }
      if (q.w !== undefined || q.h !== undefined) throw new QuiverError('invalid_input', `server: row ${p.rowId}'s ${p.column} is not an image sharp can resize`);
      return new Response(v as Uint8Array<ArrayBuffer>, { headers: { 'content-type': info ? TYPES[info.format] : 'application/octet-stream' } });
    });
  });
}
