// The `quiver` command line: one entry per subcommand in `commands`, each parsing its own
// arguments with node:util parseArgs (args.ts); one table maps an error's code to the exit status.
// Invariant: a failed command prints exactly one line on stderr (with --json, one JSON object)
// and exits with the table's status.

import pc from 'picocolors';
import { toJsonValue } from '../dataset/index.js';
import { QuiverError, isQuiverError, type ErrorCode } from '../errors.js';
import { createCommand } from './commands/create.js';
import { diffCommand, mergeCommand } from './commands/diff-merge.js';
import { logCommand, versionsCommand } from './commands/history.js';
import { indexCommand } from './commands/indexes.js';
import { infoCommand, schemaCommand } from './commands/info.js';
import { compactCommand, vacuumCommand } from './commands/maintenance.js';
import { queryCommand } from './commands/query.js';
import { branchCommand, tagCommand } from './commands/refs.js';
import { curateCommand, deleteCommand, updateCommand } from './commands/rows.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { workerCommand } from './worker-command.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { verifyCommand } from './commands/verify.js';

export interface Command {
  /** One line for `quiver --help`. */
  summary: string;
  usage: string;
  /** Command lines a user can copy, shown by `quiver <command> --help`. */
  examples: string[];
  /** Runs the command; resolves with the exit status once it is done (a worker: once stopped). */
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  create: createCommand,
  query: queryCommand,
  schema: schemaCommand,
  info: infoCommand,
  log: logCommand,
  versions: versionsCommand,
  branch: branchCommand,
  tag: tagCommand,
  diff: diffCommand,
  merge: mergeCommand,
  update: updateCommand,
  delete: deleteCommand,
  curate: curateCommand,
  compact: compactCommand,
  vacuum: vacuumCommand,
  index: indexCommand,
  serve: serveCommand,
  token: tokenCommand,
  worker: workerCommand,
  import: importCommand,
  export: exportCommand,
  verify: verifyCommand,
};

/**
 * The exit status of each error code; any other failure (a bug) exits 1. Every code is listed,
 * so a new code does not compile until it has a status. docs/cli.md shows this table.
 */
export const EXIT_STATUS: Record<ErrorCode, number> = {
  invalid_input: 2,
  schema_mismatch: 2,
  invalid_sql: 2,
  io: 3,
  unsupported: 4,
  udf_failed: 5,
  not_found: 6,
  already_exists: 7,
  conflict: 8,
  read_only: 9,
  corrupt: 10,
  unauthorized: 11,
  forbidden: 12,
  timeout: 13,
  too_many_requests: 14,
  too_large: 15,
  closed: 1,
};

function help(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return ['usage: quiver <command> [options]   (quiver <command> --help for its options and examples)', '',
    'a dataset is addressed as url, url@branch, url@tag or url@version (a commit id)', '', 'commands:', ...lines].join('\n');
}

function commandHelp(name: string, c: Command): string {
  return [c.usage, '', `${name}: ${c.summary}`, '', 'examples:', ...c.examples.map((e) => `  ${e}`)].join('\n');
}

/** Whether `args` hold one of `flags` before any `--` (what follows `--` is a value, not a flag). */
function hasFlag(args: string[], ...flags: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => flags.includes(a));
}

/** The one line a failure prints: the command, then the message with its line breaks folded. */
function errorLine(name: string, e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
  const hint = isQuiverError(e, 'invalid_input') && Object.hasOwn(commands, name) ? ` (see quiver ${name} --help)` : '';
  const prefix = `quiver ${name}:`;
  return `${process.stderr.isTTY ? pc.red(prefix) : prefix} ${message}${hint}`;
}

/**
 * A failure as one JSON object for scripts (`--json`): the code (`internal` for a bug, which is
 * no QuiverError), the message, the error's details and the exit status.
 */
export function errorJson(e: unknown): { code: ErrorCode | 'internal'; message: string; details: unknown; status: number } {
  const message = e instanceof Error ? e.message : String(e);
  if (!isQuiverError(e)) return { code: 'internal', message, details: {}, status: 1 };
  return { code: e.code, message, details: toJsonValue(e.details), status: EXIT_STATUS[e.code] };
}

/** Runs `quiver <argv…>` and returns its exit status; errors print one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
  try {
    if (!cmd) throw new QuiverError('invalid_input', `cli: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}`);
    if (hasFlag(rest, '--help', '-h')) {
      console.log(commandHelp(name, cmd));
      return 0;
    }
    return await cmd.run(rest);
  } catch (e) {
    const failure = errorJson(e);
    // stderr, like the one-line form: stdout carries only results, so a pipe never reads an error as one.
    if (hasFlag(rest, '--json')) process.stderr.write(`${JSON.stringify(failure)}\n`);
    else console.error(errorLine(name, e));
    return failure.status;
  }
}
