// `quiver update`, `quiver delete` and `quiver curate`: row changes on the addressed branch,
// each committed as one version (`--message`, or a default naming the predicate).

import type { Dataset } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { assignments, cliParams, parseCommand, type Parsed } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';
import { withDataset } from '../../io/index.js';

const selectOptions = { where: { type: 'string' }, param: { type: 'string', multiple: true }, message: { type: 'string' } } as const;

/** Runs a staged row change on the addressed branch and commits it; prints rows and commit. */
async function changeRows(verb: string, { values, positionals }: Parsed, change: (ds: Dataset, where: string) => Promise<{ rows: number }>): Promise<number> {
  if (typeof values.where !== 'string') throw new QuiverError('invalid_input', `cli: ${verb} needs --where SQL (use --where true for every row)`);
  const where = values.where;
  await withDataset(positionals[0], async (ds) => {
    const { rows } = await change(ds, where);
    const c = await ds.commit(typeof values.message === 'string' ? values.message : `${verb} where ${where}`);
    printResult(values.json, { rows, commit: c.id }, () => `${verb}d ${rows} row${rows === 1 ? '' : 's'}, version ${c.id}`);
  });
  return 0;
}

export const updateCommand: Command = {
  summary: 'set columns of the rows a predicate selects, and commit',
  usage: 'usage: quiver update <url[@branch]> --where SQL --set column=value... [--param VALUE]... [--message TEXT] [--json]',
  examples: [
    'quiver update ./gen --where "row_id = $1" --param 42 --set rating=5 --message "feedback"',
    `quiver update ./gen@experiment --where "user_id = 'u1'" --set 'tags=["safe","reviewed"]'`,
  ],
  async run(args) {
    const parsed = parseCommand('update', args, { ...selectOptions, set: { type: 'string', multiple: true } }, ['dataset']);
    const set = assignments('set', parsed.values.set);
    if (!Object.keys(set).length) throw new QuiverError('invalid_input', 'cli: update needs at least one --set column=value');
    return changeRows('update', parsed, (ds, where) => ds.update({ where, params: cliParams(parsed.values.param), set }));
  },
};

export const deleteCommand: Command = {
  summary: 'delete the rows a predicate selects, and commit',
  usage: 'usage: quiver delete <url[@branch]> --where SQL [--param VALUE]... [--message TEXT] [--json]',
  examples: [`quiver delete ./gen --where "user_id = 'u9'" --message takedown`, 'quiver delete ./gen --where "rating < $1" --param 2 --json'],
  async run(args) {
    const parsed = parseCommand('delete', args, selectOptions, ['dataset']);
    return changeRows('delete', parsed, (ds, where) => ds.delete({ where, params: cliParams(parsed.values.param) }));
  },
};

export const curateCommand: Command = {
  summary: 'keep only the rows a predicate selects, as one commit that records the rule',
  usage: 'usage: quiver curate <url[@branch]> <predicate> --message TEXT [--param VALUE]... [--json]',
  examples: [`quiver curate ./gen@ft-v12 "rating >= 4 and not list_contains(tags, 'unsafe')" --message "curated for fine-tune"`],
  async run(args) {
    const { values, positionals } = parseCommand('curate', args, { param: selectOptions.param, message: selectOptions.message }, ['dataset', 'predicate']);
    if (typeof values.message !== 'string') throw new QuiverError('invalid_input', 'cli: curate needs --message TEXT');
    const message = values.message;
    await withDataset(positionals[0], async (ds) => {
      const before = ds.rowCount;
      const c = await ds.curate(positionals[1], message, cliParams(values.param));
      printResult(values.json, { kept: ds.rowCount, removed: before - ds.rowCount, commit: c.id }, () => `kept ${ds.rowCount} rows, removed ${before - ds.rowCount}, version ${c.id}`);
    });
    return 0;
  },
};
