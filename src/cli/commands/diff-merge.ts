// `quiver diff URL FROM [TO]` (row counts by change and column, schema changes, and with --rows
// the first differing rows) and `quiver merge URL@BRANCH SOURCE` (fast-forward or three-way by
// row id; on a conflict nothing is written and the exit status says so, unless a side is chosen).

import type { DiffRow } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { choiceFlag, intFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { cellText, printResult } from '../output.js';
import { withDataset } from '../../io/index.js';

function rowLine(r: DiffRow): string {
  const sign = r.change === 'added' ? '+' : r.change === 'removed' ? '-' : '~';
  const cells = r.row
    ? Object.entries(r.row).map(([c, v]) => `${c}=${cellText(v)}`)
    : Object.entries(r.columns ?? {}).map(([c, v]) => (v.large ? `${c}: (large value changed)` : `${c}: ${cellText(v.old)} -> ${cellText(v.new)}`));
  return `${sign} ${r.rowId}  ${cells.join('  ')}`;
}

export const diffCommand: Command = {
  summary: 'count (and with --rows list) the rows added, removed and changed between two versions',
  usage: 'usage: quiver diff <url> <from> [to] [--since-base] [--rows N] [--json]',
  examples: ['quiver diff ./gen main ft-v12', 'quiver diff ./gen main ft-v12 --since-base --rows 20 --json'],
  async run(args) {
    const { values, positionals } = parseCommand('diff', args, { 'since-base': { type: 'boolean' }, rows: { type: 'string' } }, ['dataset', 'from', 'to?']);
    const [address, from, to] = positionals;
    const rowsMax = intFlag('rows', values.rows, 0, 0);
    await withDataset(address, async (ds) => {
      const d = await ds.diff(from, to, { sinceBase: Boolean(values['since-base']) });
      const rows: DiffRow[] = [];
      if (rowsMax > 0) for await (const r of d.rows()) if (rows.push(r) >= rowsMax) break;
      const result = { from: d.from, to: d.to, base: d.base, counts: d.counts, schema: d.schema, ...(rowsMax > 0 ? { rows } : {}) };
      printResult(values.json, result, () => [
        `${d.from.slice(0, 12)} -> ${d.to.slice(0, 12)}: ${d.counts.added} added, ${d.counts.removed} removed, ${d.counts.changed} changed`,
        ...Object.entries(d.counts.byColumn).map(([c, n]) => `  ${c}: ${n} changed`),
        ...(['added', 'dropped', 'changed'] as const).filter((k) => d.schema[k].length).map((k) => `  columns ${k}: ${d.schema[k].join(', ')}`),
        ...rows.map(rowLine),
      ]);
    });
    return 0;
  },
};

export const mergeCommand: Command = {
  summary: 'merge a branch, tag or version into the addressed branch',
  usage: 'usage: quiver merge <url[@branch]> <source> [--on-conflict fail|ours|theirs] [--dry-run] [--message TEXT] [--json]',
  examples: ['quiver merge ./gen experiment', 'quiver merge ./gen@ft-v12 main --on-conflict theirs', 'quiver merge ./gen experiment --dry-run --json'],
  async run(args) {
    const { values, positionals } = parseCommand('merge', args, { 'on-conflict': { type: 'string' }, 'dry-run': { type: 'boolean' }, message: { type: 'string' } }, ['dataset', 'source']);
    const onConflict = choiceFlag('on-conflict', values['on-conflict'], ['fail', 'ours', 'theirs'] as const, 'fail');
    const [address, source] = positionals;
    await withDataset(address, async (ds) => {
      const m = await ds.merge(source, { onConflict, dryRun: Boolean(values['dry-run']), ...(typeof values.message === 'string' ? { message: values.message } : {}) });
      const result = { kind: m.kind, commit: m.commit?.id ?? null, base: m.base, counts: m.counts, conflicts: m.conflicts, dryRun: m.dryRun };
      printResult(values.json, result, () => [
        `${m.dryRun ? 'would ' : ''}${m.kind}${m.commit ? ` -> ${m.commit.id}` : ''}: ${m.counts.added} added, ${m.counts.removed} removed, ${m.counts.changed} changed`,
        ...(m.conflicts.length ? [`${m.conflicts.length} conflicts`] : []),
      ]);
    });
    return 0;
  },
};
