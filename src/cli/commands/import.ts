// `quiver import <url> <source>`: files into a dataset (src/io/import-files.ts does the work).
// A bar counts source files on a terminal; --json prints the report for scripts.

import { importFiles, type OnError, type SourceFormat } from '../../io/index.js';
import type { Command } from '../commands.js';
import { progress } from '../progress.js';
import { intFlag, parseCommand, parseSchemaSpec, textFlag } from '../args.js';
import { printResult } from '../output.js';

const usage = `usage: quiver import <url> <source> [--format parquet|jsonl|csv|images|webdataset] [--metadata FILE] [--join-on file_name]
                     [--schema name=type,...] [--branch main] [--message TEXT] [--on-error fail|skip] [--commit-rows 50000]
                     [--image-column NAME] [--restart] [--json]`;

export const importCommand: Command = {
  summary: 'import Parquet, JSON lines, CSV, an image folder or WebDataset shards (resumable)',
  usage,
  examples: ['quiver import ./gen ./photos/ --metadata photos.jsonl --message "first import"', 'quiver import ./gen rows.parquet --on-error skip --json', 'quiver import ./gen ./shards/ --format webdataset'],
  async run(args) {
    const { values, positionals } = parseCommand('import', args, {
      format: { type: 'string' }, metadata: { type: 'string' }, 'join-on': { type: 'string' }, schema: { type: 'string' },
      branch: { type: 'string' }, message: { type: 'string' }, 'on-error': { type: 'string' }, 'commit-rows': { type: 'string' },
      'image-column': { type: 'string' }, restart: { type: 'boolean' },
    }, ['url', 'source']);
    const [url, source] = positionals;
    const v = (name: string) => textFlag(values[name]);
    const bar = progress('import', { unit: 'files' });
    let report;
    try {
      report = await importFiles(url, source, {
        format: v('format') as SourceFormat | undefined,
        metadata: v('metadata'),
        joinOn: v('join-on'),
        schema: values.schema === undefined ? undefined : parseSchemaSpec(v('schema')!),
        branch: v('branch'),
        message: v('message'),
        onError: v('on-error') as OnError | undefined,
        commitRows: intFlag('commit-rows', values['commit-rows'], undefined),
        imageColumn: v('image-column'),
        restart: values.restart === true,
        onProgress: (p) => {
          bar.setTotal(p.filesTotal);
          bar.tick();
        },
      });
    } finally {
      bar.stop();
    }
    printResult(values.json, report, () => [
      report.alreadyDone
        ? `import: ${source} was already imported into ${url} (${report.rowsTotal} rows); pass --restart to import it again`
        : `import: ${report.rows} rows from ${report.files} files into ${url}@${report.branch} in ${report.commits.length} commits${report.resumedFrom ? ` (resumed after ${report.resumedFrom.file})` : ''}`,
      ...(report.skipped.length ? [`skipped ${report.skipped.length}:`, ...report.skipped.map((s) => `  ${s.at}: ${s.reason}`)] : []),
    ]);
    return 0;
  },
};
