// Argument helpers the io commands (import, export, verify) share: parseArgs' usage errors
// as `invalid_input`, positive counts, the `--schema name=type,…` list, and the result printer
// (one JSON object with --json, lines for a person otherwise).

import { QuiverError } from '../../errors.js';
import type { SchemaInput } from '../../format/index.js';

/** Runs node:util's parseArgs, turning its refusal into a usage error (exit status 2, usage printed). */
export function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new QuiverError('invalid_input', `cli: ${(e as Error).message}`);
  }
}

export function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QuiverError('invalid_input', `cli: --${flag} must be an integer >= 1, got ${v}`);
  return n;
}

/** `prompt=text,image=image,rating=int` → { prompt: 'text', image: 'image', rating: 'int' }. */
export function parseSchemaFlag(text: string): SchemaInput {
  const out: SchemaInput = {};
  for (const part of text.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw new QuiverError('invalid_input', `cli: --schema takes name=type pairs separated by commas, got ${JSON.stringify(part)}`);
    out[m[1]] = m[2];
  }
  return out;
}

/** Prints a command's result: the object as JSON with --json, else the lines. */
export function printResult(json: boolean | undefined, result: object, lines: () => string[]): void {
  if (json) console.log(JSON.stringify(result));
  else for (const l of lines()) console.log(l);
}
