// `quiver query URL SQL`: runs DuckDB SQL over a version (the table `dataset`) and prints the
// rows as a table, JSON lines, CSV or an Arrow IPC stream. `$1`, `$2`… come from `--param`.

import * as arrow from 'apache-arrow';
import type { Dataset } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import type { Param } from '../../query/index.js';
import { choiceFlag, cliParams, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { csvLines, printJson, table } from '../output.js';
import { withDataset } from '../../io/index.js';

const formats = ['table', 'jsonl', 'csv', 'arrow'] as const;

/**
 * The column names of a query that returned no rows, for the header of a csv or table: rows
 * cannot tell them, so the query runs once more as Arrow, whose schema names them. Only an
 * empty result pays this second run.
 */
async function resultColumns(ds: Dataset, sql: string, params: Param[]): Promise<string[]> {
  return (await ds.queryArrow(sql, params)).schema.fields.map((f) => f.name);
}

export const queryCommand: Command = {
  summary: 'run SQL over a version; rows as a table, JSON lines, CSV or Arrow',
  usage: 'usage: quiver query <url[@branch|tag|version]> <sql> [--param VALUE]... [--format table|jsonl|csv|arrow] [--json]',
  examples: [
    'quiver query ./gen "select prompt, rating from dataset where rating >= 4 limit 10"',
    'quiver query ./gen@ft-v12 "select count(*) as n from dataset where user_id = $1" --param u1 --json',
    'quiver query ./gen "select * exclude (image) from dataset" --format csv > rows.csv',
    'quiver query ./gen "select row_id, prompt_emb from dataset" --format arrow > rows.arrows',
  ],
  async run(args) {
    const { values, positionals } = parseCommand('query', args, { param: { type: 'string', multiple: true }, format: { type: 'string' } }, ['dataset', 'sql']);
    const format = values.json ? 'jsonl' : choiceFlag('format', values.format, formats, 'table');
    if (values.json && values.format !== undefined && values.format !== 'jsonl') throw new QuiverError('invalid_input', `cli: --json prints JSON lines; it cannot go with --format ${values.format}`);
    if (format === 'arrow' && process.stdout.isTTY) throw new QuiverError('invalid_input', 'cli: --format arrow writes binary; redirect stdout to a file or a pipe');
    const params = cliParams(values.param);
    const [address, sql] = positionals;
    await withDataset(address, async (ds) => {
      if (format === 'arrow') {
        process.stdout.write(arrow.tableToIPC(await ds.queryArrow(sql, params), 'stream'));
        return;
      }
      const rows = await ds.query(sql, params);
      if (format === 'jsonl') {
        for (const r of rows) printJson(r);
        return;
      }
      const columns = rows.length ? Object.keys(rows[0]) : await resultColumns(ds, sql, params);
      const lines = format === 'csv' ? csvLines(rows, columns) : table(rows, columns);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
    return 0;
  },
};
