// `quiver branch` and `quiver tag`: list, create (at the addressed version) and delete refs.
// Both are one small ref object each; no data is copied.

import type { Dataset } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';
import { withDataset } from '../../io/index.js';

type Kind = 'branch' | 'tag';

const ops = {
  branch: {
    list: (ds: Dataset) => ds.branches(),
    make: async (ds: Dataset, name: string) => (await ds.branch(name)).version.id,
    drop: (ds: Dataset, name: string) => ds.deleteBranch(name),
  },
  tag: {
    list: (ds: Dataset) => ds.tags(),
    make: async (ds: Dataset, name: string) => (await ds.tag(name)).id,
    drop: (ds: Dataset, name: string) => ds.deleteTag(name),
  },
};

function refCommand(kind: Kind, summary: string, examples: string[]): Command {
  return {
    summary,
    usage: `usage: quiver ${kind} <url[@branch|tag|version]> [name] [--delete] [--json]`,
    examples,
    async run(args) {
      const { values, positionals } = parseCommand(kind, args, { delete: { type: 'boolean' } }, ['dataset', 'name?']);
      const [address, name] = positionals;
      if (values.delete && name === undefined) throw new QuiverError('invalid_input', `cli: ${kind} --delete needs the ${kind}'s name`);
      await withDataset(address, async (ds) => {
        if (name === undefined) {
          const refs = await ops[kind].list(ds);
          printResult(values.json, { [`${kind === 'branch' ? 'branches' : 'tags'}`]: refs }, () => refs.map((r) => `${r.name.padEnd(24)} ${r.commit}`));
        } else if (values.delete) {
          await ops[kind].drop(ds, name);
          printResult(values.json, { deleted: name }, () => `deleted ${kind} ${name}`);
        } else {
          const commit = await ops[kind].make(ds, name);
          printResult(values.json, { name, commit }, () => `${kind} ${name} at ${commit}`);
        }
      });
      return 0;
    },
  };
}

export const branchCommand = refCommand('branch', 'list branches, or create one at the addressed version, or --delete one', [
  'quiver branch ./gen',
  'quiver branch ./gen ft-v12',
  'quiver branch ./gen@release-3 hotfix',
  'quiver branch ./gen --delete hotfix',
]);

export const tagCommand = refCommand('tag', 'list tags, or tag the addressed version, or --delete one', [
  'quiver tag ./gen',
  'quiver tag ./gen release-3',
  'quiver tag ./gen@ft-v12 ft-v12-final --json',
]);
