// `quiver compact` (rewrite small or delete-heavy fragments of a branch into large ones, as one
// commit) and `quiver vacuum` (delete objects no branch or tag reaches; `--dry-run` only counts).
// On a terminal each draws a bar from the library's onProgress: rows written, objects decided.

import { intFlag, numberFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';
import { withBar } from '../progress.js';
import { withDataset } from '../../io/index.js';

export const compactCommand: Command = {
  summary: 'rewrite a branch\'s small or delete-heavy fragments into large ones (one commit)',
  usage: 'usage: quiver compact <url[@branch]> [--fragment-rows-min N] [--deleted-share-max F] [--fragment-rows-max N] [--json]',
  examples: ['quiver compact ./gen', 'quiver compact ./gen@ft-v12 --fragment-rows-min 50000 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('compact', args, {
      'fragment-rows-min': { type: 'string' }, 'deleted-share-max': { type: 'string' }, 'fragment-rows-max': { type: 'string' },
    }, ['dataset']);
    const options = {
      fragmentRowsMin: intFlag('fragment-rows-min', values['fragment-rows-min'], undefined),
      deletedShareMax: numberFlag('deleted-share-max', values['deleted-share-max']),
      fragmentRowsMax: intFlag('fragment-rows-max', values['fragment-rows-max'], undefined),
    };
    await withDataset(positionals[0], async (ds) => {
      const policy = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
      const c = await withBar('compact', 'rows', (onProgress) => ds.compact({ ...policy, onProgress }));
      printResult(values.json, { commit: c?.id ?? null }, () => (c ? `compacted, version ${c.id}` : 'nothing to compact'));
    });
    return 0;
  },
};

export const vacuumCommand: Command = {
  summary: 'delete objects no branch or tag reaches (older than an hour by default)',
  usage: 'usage: quiver vacuum <url> [--dry-run] [--older-than-ms N] [--json]',
  examples: ['quiver vacuum ./gen --dry-run', 'quiver vacuum ./gen --older-than-ms 0 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('vacuum', args, { 'dry-run': { type: 'boolean' }, 'older-than-ms': { type: 'string' } }, ['dataset']);
    const olderThan = intFlag('older-than-ms', values['older-than-ms'], undefined, 0);
    const dryRun = Boolean(values['dry-run']);
    await withDataset(positionals[0], async (ds) => {
      const r = await withBar('vacuum', 'objects', (onProgress) => ds.vacuum({ dryRun, ...(olderThan === undefined ? {} : { olderThan }), onProgress }));
      printResult(values.json, { ...r, dryRun }, () => [
        `${dryRun ? 'would delete' : 'deleted'} ${r.deleted} objects (${r.bytes} bytes); kept ${r.reachable} reachable, ${r.pending} pending, ${r.young} younger than the grace period`,
      ]);
    });
    return 0;
  },
};
