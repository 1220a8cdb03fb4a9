// The `quiver` command line: one entry per subcommand in `commands`, each parsing its own
// arguments with node:util parseArgs; one table maps an error's code to the exit status.

import { QuiverError, isQuiverError, type ErrorCode } from '../errors.js';
import { workerCommand } from './worker-command.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { verifyCommand } from './commands/verify.js';

export interface Command {
  /** One line for `quiver --help`. */
  summary: string;
  usage: string;
  /** Runs the command; resolves with the exit status once it is done (a worker: once stopped). */
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = { worker: workerCommand, import: importCommand, export: exportCommand, verify: verifyCommand };

const exitStatus: Partial<Record<ErrorCode, number>> = { invalid_input: 2, io: 3, unsupported: 4, udf_failed: 5 };

function help(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return ['usage: quiver <command> [options]', '', 'commands:', ...lines].join('\n');
}

/** Runs `quiver <argv…>` and returns its exit status; errors print one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  try {
    if (!cmd) throw new QuiverError('invalid_input', `cli: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}`);
    return await cmd.run(rest);
  } catch (e) {
    console.error(`quiver ${name}: ${(e as Error).message}`);
    if (cmd && isQuiverError(e, 'invalid_input')) console.error(cmd.usage);
    return isQuiverError(e) ? (exitStatus[e.code] ?? 1) : 1;
  }
}
