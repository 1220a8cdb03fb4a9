// Seed guide step 2: a task UDF that loads each row's file into an `image_bytes` BLOB column,
// passing id, path and media_type through. A missing file gives a null BLOB, not an error, and
// so does a NULL path: UDFs receive SQL NULLs as null (here, when the SQL does not filter them).

import { readFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';

export async function loadImageBytes(batch: arrow.Table): Promise<arrow.Table> {
  const paths = batch.getChild('path')!.toArray() as (string | null)[];
  const bytes = await Promise.all(
    paths.map((p) => (p === null ? null : readFile(p).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength), () => null))),
  );
  return new arrow.Table({
    id: batch.getChild('id')!,
    path: batch.getChild('path')!,
    media_type: batch.getChild('media_type')!,
    image_bytes: arrow.vectorFromArray(bytes, new arrow.Binary()),
  });
}
