// What commands print. Results go to stdout: with `--json` one JSON document (or JSON lines for
// rows) made JSON-safe by toJsonValue, so `JSON.parse` reads every output back; without it a short
// human form. Messages and progress go to stderr, so a pipe carries only the result.

import pc from 'picocolors';
import { toJsonValue } from '../dataset/index.js';
import type { Commit } from '../format/index.js';

/** Characters a table cell shows before it is cut with an ellipsis. */
const cellCharsMax = 48;

/** Prints `value` as one line of JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toJsonValue(value))}\n`);
}

/** Prints the result: `value` as JSON with --json, else the lines `human` gives. */
export function printResult(json: unknown, value: unknown, human: () => string | string[]): void {
  if (json) return printJson(value);
  const text = human();
  process.stdout.write(`${Array.isArray(text) ? text.join('\n') : text}\n`);
}

/** One cell as a person reads it: bytes and vectors summarised, long text cut. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (v instanceof Float32Array || v instanceof Float64Array) return `<${v.length}-dim vector>`;
  const s = typeof v === 'string' ? v : typeof v === 'bigint' ? String(v) : v instanceof Date ? v.toISOString() : JSON.stringify(toJsonValue(v));
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > cellCharsMax ? `${flat.slice(0, cellCharsMax - 1)}…` : flat;
}

/** Rows as an aligned text table with a header, and a row count line. */
export function table(rows: readonly Record<string, unknown>[], columns = rows.length ? Object.keys(rows[0]) : []): string[] {
  const cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (parts: string[]) => parts.map((p, i) => p.padEnd(widths[i])).join('  ').trimEnd();
  const header = process.stdout.isTTY ? pc.bold(line(columns)) : line(columns);
  return [header, ...cells.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`];
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  const j = toJsonValue(v);
  if (j === null) return '';
  const s = typeof j === 'string' ? j : typeof j === 'object' ? JSON.stringify(j) : String(j);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows as CSV lines, the first naming the columns. */
export function csvLines(rows: readonly Record<string, unknown>[], columns: string[]): string[] {
  return [columns.map(csvField).join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))];
}

/** A commit as one line: short id, time, operation, message. */
export function commitLine(c: Commit): string {
  return `${c.id.slice(0, 12)}  ${c.time}  ${c.operation.padEnd(8)}  ${c.message}`;
}
