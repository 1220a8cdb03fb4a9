// A small text-table printer for the demo's query results: one line per row, columns padded,
// numbers right-aligned, long values (vectors, blobs, long text) shortened to fit a terminal.

const CELL_CHARS_MAX = 48;

/** A readable, one-line form of a value Quiver's query returns. */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '·';
  if (v instanceof Float32Array) {
    const head = Array.from(v.subarray(0, 3), (x) => x.toFixed(3)).join(', ');
    return `[${head}, …] (${v.length})`;
  }
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof Date) return v.toISOString().replace('T', ' ').slice(0, 16);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatCell).join(', ')}]`;
  return String(v);
}

function clip(s: string): string {
  return s.length > CELL_CHARS_MAX ? s.slice(0, CELL_CHARS_MAX - 1) + '…' : s;
}

/** Prints rows as an aligned table under a title; an empty result prints "(no rows)". */
export function printTable(title: string, rows: Record<string, unknown>[]): void {
  console.log(`\n== ${title} ==`);
  if (rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  const names = Object.keys(rows[0]);
  const cells = rows.map((r) => names.map((n) => clip(formatCell(r[n]))));
  const numeric = names.map((n) => rows.every((r) => r[n] === null || typeof r[n] === 'number' || typeof r[n] === 'bigint'));
  const widths = names.map((n, c) => Math.max(n.length, ...cells.map((row) => row[c].length)));
  const line = (vals: string[]) => vals.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ');
  console.log(line(names));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}
