// `quiver import <url> <source>`: files into a dataset (src/io/import-files.ts does the work).
// A bar counts source files on a terminal; --json prints the report for scripts.

import { parseArgs } from 'node:util';
import { QuiverError } from '../../errors.js';
import { importFiles, type OnError, type SourceFormat } from '../../io/index.js';
import type { Command } from '../commands.js';
import { progress } from '../progress.js';
import { intFlag } from '../args.js';
import { printResult } from '../output.js';
import { parsed, parseSchemaFlag } from './io-args.js';

const usage = `usage: quiver import <url> <source> [--format parquet|jsonl|csv|images|webdataset] [--metadata FILE] [--join-on file_name]
                     [--schema name=type,...] [--branch main] [--message TEXT] [--on-error fail|skip] [--commit-rows 50000]
                     [--image-column NAME] [--restart] [--json]`;

export const importCommand: Command = {
  summary: 'import Parquet, JSON lines, CSV, an image folder or WebDataset shards (resumable)',
  usage,
  examples: ['quiver import ./gen ./photos/ --metadata photos.jsonl --message "first import"', 'quiver import ./gen rows.parquet --on-error skip --json', 'quiver import ./gen ./shards/ --format webdataset'],
  async run(args) {
    const { values, positionals } = parsed(() =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          format: { type: 'string' }, metadata: { type: 'string' }, 'join-on': { type: 'string' }, schema: { type: 'string' },
          branch: { type: 'string' }, message: { type: 'string' }, 'on-error': { type: 'string' }, 'commit-rows': { type: 'string' },
          'image-column': { type: 'string' }, restart: { type: 'boolean' },
          json: { type: 'boolean' },
        },
      }),
    );
    if (positionals.length !== 2) throw new QuiverError('invalid_input', `cli: import takes a dataset URL and a source path, got ${positionals.length} arguments`);
    const [url, source] = positionals;
    const bar = progress('import', { unit: 'files' });
    let report;
    try {
      report = await importFiles(url, source, {
        ...(values.format ? { format: values.format as SourceFormat } : {}),
        ...(values.metadata ? { metadata: values.metadata } : {}),
        ...(values['join-on'] ? { joinOn: values['join-on'] } : {}),
        ...(values.schema ? { schema: parseSchemaFlag(values.schema) } : {}),
        ...(values.branch ? { branch: values.branch } : {}),
        ...(values.message ? { message: values.message } : {}),
        ...(values['on-error'] ? { onError: values['on-error'] as OnError } : {}),
        ...(values['commit-rows'] ? { commitRows: intFlag('commit-rows', values['commit-rows'], undefined) } : {}),
        ...(values['image-column'] ? { imageColumn: values['image-column'] } : {}),
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
