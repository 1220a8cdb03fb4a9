// Which version `open` (and `checkout`, and a pipeline's `con.dataset`) reads: one table of the
// option combinations that are allowed, checked before any object is read. Invariant: an option
// is never silently dropped; a combination the table does not list is an `invalid_input` error.

import { QuiverError } from '../errors.js';

/** The options that pick a version; `storage` and `write` are not about which version. */
export interface OpenTargetOptions {
  /** Open this version (a commit id) read-only. */
  version?: string;
  /** Open this branch: its head read-write, or with `asOf` a past version read-only. Default 'main'. */
  branch?: string;
  /** Open the version a tag names, read-only. */
  tag?: string;
  /**
   * Open the branch's last version committed at or before this time, read-only: a Date or an
   * ISO 8601 string (`'2026-11-30T00:00:00Z'`).
   */
  asOf?: Date | string;
}

/** What `open` reads, once the options are checked. */
export type OpenTarget =
  | { kind: 'branch'; branch: string; asOf?: Date }
  | { kind: 'version'; version: string }
  | { kind: 'tag'; tag: string };

type TargetKey = keyof OpenTargetOptions;

/** Every allowed set of version-picking options (sorted names); anything else is refused. */
const ALLOWED: readonly (readonly TargetKey[])[] = [[], ['branch'], ['version'], ['tag'], ['asOf'], ['asOf', 'branch']];

const TARGET_KEYS: readonly TargetKey[] = ['version', 'branch', 'tag', 'asOf'];

/**
 * Checks the version-picking options and says what to open. `other` lists the option names
 * allowed besides them (e.g. `storage`, `write`); any other name is refused, so a typo such as
 * `tags` cannot open main by surprise.
 */
export function openTarget(options: OpenTargetOptions & Record<string, unknown>, other: readonly string[], defaultBranch: string): OpenTarget {
  if (options === null || typeof options !== 'object') throw new QuiverError('invalid_input', `dataset: open options must be an object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((k) => !TARGET_KEYS.includes(k as TargetKey) && !other.includes(k) && options[k] !== undefined);
  if (unknown.length) throw new QuiverError('invalid_input', `dataset: unknown open option ${unknown.map((k) => JSON.stringify(k)).join(', ')}`, { options: unknown });
  const given = TARGET_KEYS.filter((k) => options[k] !== undefined).sort();
  if (!ALLOWED.some((a) => a.length === given.length && a.every((k, i) => k === given[i]))) {
    throw new QuiverError('invalid_input', `dataset: open takes one of version, tag or branch (a branch may add asOf), got ${given.join(' and ')}`, { options: given });
  }
  for (const k of ['version', 'branch', 'tag'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw new QuiverError('invalid_input', `dataset: open option ${k} must be a non-empty string, got ${JSON.stringify(v) ?? String(v)}`, { [k]: v });
  }
  if (options.version !== undefined) return { kind: 'version', version: options.version };
  if (options.tag !== undefined) return { kind: 'tag', tag: options.tag };
  const branch = options.branch ?? defaultBranch;
  return options.asOf === undefined ? { kind: 'branch', branch } : { kind: 'branch', branch, asOf: parseAsOf(options.asOf) };
}

/** A Date or an ISO 8601 string as a valid Date; anything else is `invalid_input`. */
export function parseAsOf(value: unknown): Date {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  const d = value instanceof Date ? value : typeof value === 'string' && iso.test(value.trim()) ? new Date(value.trim()) : null;
  if (!d || Number.isNaN(d.getTime())) {
    const shown = value instanceof Date ? 'an invalid Date' : typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new QuiverError('invalid_input', `dataset: asOf must be a Date or an ISO 8601 time, got ${shown}`, { asOf: shown });
  }
  return d;
}
