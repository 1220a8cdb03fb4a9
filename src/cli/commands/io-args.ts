// Argument helpers the io commands (import, export, verify) share: parseArgs' usage errors
// as `invalid_input` and the `--schema name=type,…` list (counts and the result printer are
// args.ts's intFlag and output.ts's printResult, shared with every command).

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

