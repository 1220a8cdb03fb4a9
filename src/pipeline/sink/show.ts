// Formats rows as a boxed text table for `show()`, the way SQL shells print results.
// Long values are cut to `cellCharsMax`; BLOBs print as their size.

const cellCharsMax = 40;

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (v instanceof Date) return v.toISOString();
  const s = typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
  return s.length > cellCharsMax ? `${s.slice(0, cellCharsMax - 1)}…` : s;
}

export function formatTable(columns: { name: string; type: string }[], rows: Record<string, unknown>[], more: boolean): string {
  const head = columns.map((c) => c.name);
  const types = columns.map((c) => c.type.toLowerCase());
  const body = rows.map((r) => columns.map((c) => cell(r[c.name])));
  const width = head.map((h, i) => Math.max(h.length, types[i].length, ...body.map((b) => b[i].length)));
  const line = (l: string, m: string, r: string) => l + width.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const row = (cells: string[]) => '│' + cells.map((c, i) => ` ${c.padEnd(width[i])} `).join('│') + '│';
  const out = [line('┌', '┬', '┐'), row(head), row(types), line('├', '┼', '┤'), ...body.map(row)];
  if (more) out.push(row(width.map((w) => '…'.padEnd(w))));
  out.push(line('└', '┴', '┘'));
  out.push(`${rows.length}${more ? '+' : ''} row${rows.length === 1 ? '' : 's'}`);
  return out.join('\n');
}
