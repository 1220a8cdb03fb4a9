// `quiver export <url[@version]> --to FORMAT <dest>`: one version out to files
// (src/io/export-version.ts does the work). A bar counts rows on a terminal.

import { QuiverError } from '../../errors.js';
import { exportVersion, type ExportFormat } from '../../io/index.js';
import type { Command } from '../commands.js';
import { withBar } from '../progress.js';
import { intFlag, parseCommand, textFlag } from '../args.js';
import { printResult } from '../output.js';

const usage = `usage: quiver export <url[@branch|@tag|@version]> --to parquet|jsonl|webdataset|images <dest>
                     [--shard-rows 10000] [--shard-bytes 1073741824] [--image-column NAME] [--json]`;

export const exportCommand: Command = {
  summary: 'export a version to Parquet, JSON lines, WebDataset shards or an image folder',
  usage,
  examples: ['quiver export ./gen@ft-v12 --to webdataset ./shards/ --shard-rows 10000', 'quiver export ./gen@v1 --to parquet gen-v1.parquet', 'quiver export ./gen --to images ./photos-out/'],
  async run(args) {
    const { values, positionals } = parseCommand('export', args, {
      to: { type: 'string' }, 'shard-rows': { type: 'string' }, 'shard-bytes': { type: 'string' }, 'image-column': { type: 'string' },
    }, ['dataset', 'dest']);
    if (!values.to) throw new QuiverError('invalid_input', 'cli: export needs --to parquet|jsonl|webdataset|images');
    const [address, dest] = positionals;
    const report = await withBar('export', 'rows', (onProgress) => exportVersion(address, dest, {
        to: values.to as ExportFormat,
        shardRows: intFlag('shard-rows', values['shard-rows'], undefined),
        shardBytes: intFlag('shard-bytes', values['shard-bytes'], undefined),
        imageColumn: textFlag(values['image-column']),
        onProgress,
      }));
    printResult(values.json, report, () => [`export: ${report.rows} rows of version ${report.version} to ${dest} as ${report.to} (${report.files.length} files, ${report.bytes} bytes)`]);
    return 0;
  },
};
