// Argument parsing shared by every `quiver` command: node:util parseArgs in strict mode, with its
// errors turned into `invalid_input` (exit status 2), and the few value syntaxes commands share
// (counts, `$n` parameters, `column=value` pairs, `--schema name=type,…`). Invariant: a flag a command does not declare is
// refused, never ignored.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { QuiverError } from '../errors.js';
import type { Param } from '../query/index.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes: `--json` (one JSON document, or JSON lines, on stdout). */
const common: Options = { json: { type: 'boolean' } };

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parses `args` against `options` plus the common flags; `names` are the positionals the command
 * needs, in order (a trailing `?` marks an optional one). Too few or too many is `invalid_input`.
 */
export function parseCommand(command: string, args: string[], options: Options, names: string[]): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    throw new QuiverError('invalid_input', `cli: ${(e as Error).message.split('\n')[0]}`);
  }
  const required = names.filter((n) => !n.endsWith('?'));
  const n = parsed.positionals.length;
  if (n < required.length) throw new QuiverError('invalid_input', `cli: ${command} needs <${required[n]}>`);
  if (n > names.length) throw new QuiverError('invalid_input', `cli: ${command} takes ${names.length} argument${names.length === 1 ? '' : 's'}, got ${n}: ${JSON.stringify(parsed.positionals[names.length])} is one too many`);
  return parsed;
}

/** A `type: 'string'` flag's value, or undefined when absent (narrows Parsed's union). */
export function textFlag(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A flag's value as an integer in [min, ∞), or `dflt` when absent. */
export function intFlag(flag: string, v: unknown, dflt: number, min?: number): number;
export function intFlag(flag: string, v: unknown, dflt: undefined, min?: number): number | undefined;
export function intFlag(flag: string, v: unknown, dflt: number | undefined, min = 1): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < min) throw new QuiverError('invalid_input', `cli: --${flag} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** A flag's value as a finite number, or undefined when absent. */
export function numberFlag(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new QuiverError('invalid_input', `cli: --${flag} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A flag that must be one of `allowed`. */
export function choiceFlag<T extends string>(flag: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new QuiverError('invalid_input', `cli: --${flag} must be ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/**
 * A command-line value as JSON when it parses as JSON (`4`, `true`, `null`, `"4"`, `["a"]`), else
 * the text itself; so `--param 4` is a number and `--param u1` a string.
 */
export function cliValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `--param` values for `$1`, `$2`…: JSON or text (cliValue); integers beyond 2^53 become bigints, number arrays Float32Array (vectors). */
export function cliParams(list: unknown): Param[] {
  return ((list as string[] | undefined) ?? []).map((text) => {
    if (/^-?\d{16,}$/.test(text)) return BigInt(text);
    const v = cliValue(text);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) return Float32Array.from(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) throw new QuiverError('invalid_input', `cli: --param takes a number, string, boolean, null or array, got ${text}`);
    return v as Param;
  });
}

/** `name=value` pairs (repeated `--set` flags) as an object; values by cliValue. */
export function assignments(flag: string, list: unknown): Record<string, unknown> {
  return Object.fromEntries(((list as string[] | undefined) ?? []).map((pair) => {
    const i = pair.indexOf('=');
    if (i < 1) throw new QuiverError('invalid_input', `cli: --${flag} takes column=value, got ${JSON.stringify(pair)}`);
    return [pair.slice(0, i).trim(), cliValue(pair.slice(i + 1))];
  }));
}

/**
 * `prompt=text,tags=list<text>,rating=int?` → { prompt: 'text', tags: 'list<text>', rating: 'int?' };
 * commas inside `<…>` belong to the type. Types are checked by `create` (create, and import into a new dataset), which names the column.
 */
export function parseSchemaSpec(text: string): Record<string, string> {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = text[i];
    if (ch === '<') depth++;
    else if (ch === '>') depth--;
    else if ((ch === ',' && depth === 0) || i === text.length) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const schema: Record<string, string> = {};
  for (const part of parts) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S.*?)\s*$/.exec(part);
    if (!m) throw new QuiverError('invalid_input', `cli: --schema takes name=type pairs separated by commas, got ${JSON.stringify(part)}`);
    if (Object.hasOwn(schema, m[1])) throw new QuiverError('invalid_input', `cli: --schema names column "${m[1]}" twice`);
    schema[m[1]] = m[2];
  }
  return schema;
}

/** A command made of subcommands (`quiver index create …`): runs the one `args[0]` names. */
export function dispatch(command: string, subcommands: Record<string, (args: string[]) => Promise<number>>): (args: string[]) => Promise<number> {
  return async ([sub, ...rest]) => {
    if (sub === undefined || !Object.hasOwn(subcommands, sub)) {
      throw new QuiverError('invalid_input', `cli: ${command} takes ${Object.keys(subcommands).join(', ')}, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
    }
    return subcommands[sub](rest);
  };
}
