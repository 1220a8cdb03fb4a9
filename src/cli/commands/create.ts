// `quiver create URL --schema name=type,…`: makes an empty dataset with one main branch.

import { create } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { parseCommand, parseSchemaSpec } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';

export const createCommand: Command = {
  summary: 'create an empty dataset with a schema',
  usage: 'usage: quiver create <url> --schema name=type,... [--json]',
  examples: [
    'quiver create ./gen --schema prompt=text,image=image,prompt_emb=emb-768,rating=int',
    "quiver create s3://bucket/gen --schema 'tags=list<text>,user_id=text!'",
  ],
  async run(args) {
    const { values, positionals } = parseCommand('create', args, { schema: { type: 'string' } }, ['url']);
    if (typeof values.schema !== 'string') throw new QuiverError('invalid_input', 'cli: create needs --schema name=type,...');
    const ds = await create(positionals[0], { schema: parseSchemaSpec(values.schema) });
    try {
      const result = { url: ds.url, version: ds.version.id, schema: ds.schema };
      printResult(values.json, result, () => `created ${ds.url} (${ds.schema.length} columns, version ${ds.version.id.slice(0, 12)})`);
    } finally {
      await ds.close();
    }
    return 0;
  },
};
