// Re-cuts a stream of Arrow tables into tables of exactly `rows` rows (the last may be
// smaller). Slices are zero-copy views; at most one output batch of rows is held at a time.

import * as arrow from 'apache-arrow';

export async function* rebatch(input: AsyncIterable<arrow.Table>, rows: number): AsyncGenerator<arrow.Table> {
  let parts: arrow.RecordBatch[] = [];
  let held = 0;
  let schema: arrow.Schema | undefined;
  const take = (): arrow.Table => {
    const t = new arrow.Table(schema!, parts);
    parts = [];
    held = 0;
    return t;
  };
  for await (const t of input) {
    schema ??= t.schema;
    for (const b of t.batches) {
      let at = 0;
      while (at < b.numRows) {
        const n = Math.min(rows - held, b.numRows - at);
        parts.push(at === 0 && n === b.numRows ? b : b.slice(at, at + n));
        held += n;
        at += n;
        if (held === rows) yield take();
      }
    }
  }
  if (held > 0) yield take();
}
