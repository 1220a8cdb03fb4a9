// `quiver schema` and `quiver info`: what a version holds, read from its manifest (no data read).

import type { Dataset } from '../../dataset/index.js';
import { typeName } from '../../format/index.js';
import { parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult, table } from '../output.js';
import { withDataset } from '../../io/index.js';

function columns(ds: Dataset) {
  return ds.schema.map((c) => ({ name: c.name, type: typeName(c.type), nullable: c.nullable }));
}

export const schemaCommand: Command = {
  summary: 'print the columns of a version: name, type, nullable',
  usage: 'usage: quiver schema <url[@branch|tag|version]> [--json]',
  examples: ['quiver schema ./gen', 'quiver schema ./gen@release-3 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('schema', args, {}, ['dataset']);
    await withDataset(positionals[0], async (ds) => {
      const cols = columns(ds);
      printResult(values.json, { columns: cols }, () => table(cols));
    });
    return 0;
  },
};

export const infoCommand: Command = {
  summary: 'print a version\'s summary: rows, columns, indexes, branches and tags',
  usage: 'usage: quiver info <url[@branch|tag|version]> [--json]',
  examples: ['quiver info ./gen', 'quiver info ./gen@ft-v12 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('info', args, {}, ['dataset']);
    await withDataset(positionals[0], async (ds) => {
      const info = {
        url: ds.url,
        branch: ds.branchName,
        readOnly: ds.readOnly,
        version: ds.version.id,
        message: ds.version.message,
        time: ds.version.time,
        rows: ds.rowCount,
        columns: columns(ds),
        indexes: ds.indexes.map((i) => ({ column: i.column, kind: i.kind })),
        branches: (await ds.branches()).map((b) => b.name),
        tags: (await ds.tags()).map((t) => t.name),
      };
      printResult(values.json, info, () => [
        `dataset   ${info.url}`,
        `version   ${info.version}${info.branch ? ` (branch ${info.branch})` : ' (read-only)'}  ${info.time}  ${info.message}`,
        `rows      ${info.rows}`,
        `columns   ${info.columns.map((c) => `${c.name} ${c.type}${c.nullable ? '' : '!'}`).join(', ')}`,
        `indexes   ${info.indexes.map((i) => `${i.column} (${i.kind})`).join(', ') || 'none'}`,
        `branches  ${info.branches.join(', ')}`,
        `tags      ${info.tags.join(', ') || 'none'}`,
      ]);
    });
    return 0;
  },
};
