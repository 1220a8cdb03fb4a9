// `quiver log` (every commit reachable, newest first, merges' second parents included) and
// `quiver versions` (the first-parent line, oldest first): commit metadata only, no data read.

import type { Commit } from '../../format/index.js';
import { intFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { commitLine, printResult } from '../output.js';
import { withDataset } from '../../io/index.js';

function summary(c: Commit) {
  return { id: c.id, time: c.time, operation: c.operation, message: c.message, parents: c.parents, stats: c.stats };
}

export const logCommand: Command = {
  summary: 'list the commits reachable from a version, newest first',
  usage: 'usage: quiver log <url[@branch|tag|version]> [--limit N] [--json]',
  examples: ['quiver log ./gen', 'quiver log ./gen@ft-v12 --limit 5 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('log', args, { limit: { type: 'string' } }, ['dataset']);
    const limit = intFlag('limit', values.limit, undefined);
    await withDataset(positionals[0], async (ds) => {
      const commits: Commit[] = [];
      for await (const c of ds.log(limit === undefined ? {} : { limit })) commits.push(c);
      printResult(values.json, { commits: commits.map(summary) }, () => commits.map(commitLine));
    });
    return 0;
  },
};

export const versionsCommand: Command = {
  summary: 'list the versions of a branch\'s line (first parents), oldest first',
  usage: 'usage: quiver versions <url[@branch|tag|version]> [--json]',
  examples: ['quiver versions ./gen', 'quiver versions ./gen@ft-v12 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('versions', args, {}, ['dataset']);
    await withDataset(positionals[0], async (ds) => {
      const vs = await ds.versions();
      printResult(values.json, { versions: vs.map(summary) }, () => vs.map((c) => `${commitLine(c)}  (${c.stats.rows} rows)`));
    });
    return 0;
  },
};
