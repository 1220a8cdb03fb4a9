// `quiver index create|list|drop`: the search indexes of a branch (vector, fulltext, scalar).
// A vector build draws a progress bar from createIndex's onProgress when stderr is a terminal.

import type { IndexSpec } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { choiceFlag, dispatch, intFlag, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult, table } from '../output.js';
import { progress } from '../progress.js';
import { withDataset } from '../../io/index.js';

const kinds = ['vector', 'fulltext', 'scalar'] as const;

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('index create', args, {
    kind: { type: 'string' }, metric: { type: 'string' }, rebuild: { type: 'boolean' }, 'build-batch-vectors': { type: 'string' },
  }, ['dataset', 'column']);
  const kind = choiceFlag('kind', values.kind, kinds, 'vector');
  if (kind !== 'vector' && (values.metric !== undefined || values.rebuild || values['build-batch-vectors'] !== undefined)) {
    throw new QuiverError('invalid_input', `cli: --metric, --rebuild and --build-batch-vectors are for vector indexes, not ${kind}`);
  }
  const spec: IndexSpec = kind === 'vector'
    ? {
      kind,
      metric: choiceFlag('metric', values.metric, ['cosine', 'l2', 'ip'] as const, 'cosine'),
      ...(values.rebuild ? { rebuild: true } : {}),
      ...(values['build-batch-vectors'] !== undefined ? { buildBatchVectors: intFlag('build-batch-vectors', values['build-batch-vectors'], undefined) } : {}),
    }
    : { kind };
  const [address, column] = positionals;
  await withDataset(address, async (ds) => {
    const bar = progress(`index ${column}`, { unit: 'vectors' });
    let done = 0;
    try {
      const c = await ds.createIndex(column, spec, {
        onProgress: (p) => {
          if (p.phase !== 'graph') return;
          if (done === 0 || p.done < done) bar.setTotal(p.total);
          bar.tick(p.done - done);
          done = p.done;
        },
      });
      bar.stop();
      printResult(values.json, { column, kind, commit: c.id }, () => `${kind} index on ${column}, version ${c.id}`);
    } finally {
      bar.stop();
    }
  });
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('index list', args, {}, ['dataset']);
  await withDataset(positionals[0], async (ds) => {
    const indexes = ds.indexes;
    printResult(values.json, { indexes }, () => table(indexes.map((i) => ({ column: i.column, kind: i.kind, options: i.options }))));
  });
  return 0;
}

async function drop(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('index drop', args, { kind: { type: 'string' } }, ['dataset', 'column']);
  if (values.kind === undefined) throw new QuiverError('invalid_input', 'cli: index drop needs --kind vector|fulltext|scalar');
  const kind = choiceFlag('kind', values.kind, kinds, 'vector');
  const [address, column] = positionals;
  await withDataset(address, async (ds) => {
    const c = await ds.dropIndex(column, kind);
    printResult(values.json, { column, kind, commit: c.id }, () => `dropped the ${kind} index on ${column}, version ${c.id}`);
  });
  return 0;
}

export const indexCommand: Command = {
  summary: 'create, list or drop search indexes (vector, fulltext, scalar)',
  usage: [
    'usage: quiver index create <url[@branch]> <column> [--kind vector|fulltext|scalar] [--metric cosine|l2|ip] [--rebuild] [--build-batch-vectors N] [--json]',
    '       quiver index list <url[@branch|tag|version]> [--json]',
    '       quiver index drop <url[@branch]> <column> --kind vector|fulltext|scalar [--json]',
  ].join('\n'),
  examples: ['quiver index create ./gen image_emb --kind vector --metric cosine', 'quiver index create ./gen prompt --kind fulltext', 'quiver index list ./gen --json', 'quiver index drop ./gen prompt --kind fulltext'],
  run: dispatch('index', { create, list, drop }),
};
