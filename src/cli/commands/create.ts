// `quiver create URL --schema name=type,…`: makes an empty dataset with one main branch.

import { create } from '../../dataset/index.js';
import { QuiverError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult } from '../output.js';

/**
 * `prompt=text,tags=list<text>,rating=int?` → { prompt: 'text', tags: 'list<text>', rating: 'int?' };
 * commas inside `<…>` belong to the type. Types are checked by `create`, which names the column.
 */
export function parseSchemaSpec(text: string): Record<string, string> {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = text[i];
    if (ch === '<') depth++;
    else if (ch === '>') depth--;
    else if ((ch === ',' && depth === 0) || i === text.length) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const schema: Record<string, string> = {};
  for (const part of parts) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S.*?)\s*$/.exec(part);
    if (!m) throw new QuiverError('invalid_input', `cli: --schema takes name=type pairs separated by commas, got ${JSON.stringify(part)}`);
    if (Object.hasOwn(schema, m[1])) throw new QuiverError('invalid_input', `cli: --schema names column "${m[1]}" twice`);
    schema[m[1]] = m[2];
  }
  return schema;
}

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
