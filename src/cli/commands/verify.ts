// `quiver verify <url>`: checks every object the dataset's refs reach (src/io/verify.ts) and
// exits 1 when anything is missing or corrupt, listing each by key.

import { verify } from '../../io/index.js';
import type { Command } from '../commands.js';
import { withBar } from '../progress.js';
import { printResult } from '../output.js';
import { parseCommand } from '../args.js';

/** The exit status when verify finds a problem (the check itself ran). */
export const VERIFY_FAILED_STATUS = 1;

const usage = `usage: quiver verify <url> [--json]`;

export const verifyCommand: Command = {
  summary: 'check every checksum and row count of every object the refs reach',
  usage,
  examples: ['quiver verify ./gen', 'quiver verify s3://bucket/gen --json'],
  async run(args) {
    const { values, positionals } = parseCommand('verify', args, {}, ['url']);
    const report = await withBar('verify', 'files', (onProgress) => verify(positionals[0], { onProgress }));
    printResult(values.json, report, () => [
      `verify: ${report.url}: ${report.refs} refs, ${report.commits} commits, ${report.manifests} manifests, ${report.files} files (${report.bytes} bytes): ${report.ok ? 'ok' : `${report.problems.length} problems`}`,
      ...report.problems.map((p) => `  ${p.problem} ${p.key}: ${p.reason} (via ${p.via})`),
    ]);
    return report.ok ? 0 : VERIFY_FAILED_STATUS;
  },
};
