// `quiver token create|list|revoke --root DIR|URL`: the server's access tokens, stored (as hashes)
// under the root, so every server on that root agrees at once. A new token is printed once.

import { QuiverError } from '../../errors.js';
import { choiceFlag, dispatch, parseCommand } from '../args.js';
import type { Command } from '../commands.js';
import { printResult, table } from '../output.js';

const rootOption = { root: { type: 'string' } } as const;

function rootOf(values: Record<string, unknown>, sub: string): string {
  if (typeof values.root !== 'string') throw new QuiverError('invalid_input', `cli: token ${sub} needs --root DIR|URL`);
  return values.root;
}

/** `a,b` → ['a', 'b'] for the pattern lists, or undefined (the library's default, `*`). */
function patterns(v: unknown): string[] | undefined {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('token create', args, {
    ...rootOption, role: { type: 'string' }, datasets: { type: 'string' }, branches: { type: 'string' }, tenant: { type: 'string' }, 'expires-at': { type: 'string' },
  }, ['name']);
  const root = rootOf(values, 'create');
  const { createToken } = await import('../../server/index.js');
  const { token, info } = await createToken(root, positionals[0], {
    role: choiceFlag('role', values.role, ['read', 'write', 'admin'] as const, 'read'),
    ...(patterns(values.datasets) ? { datasets: patterns(values.datasets) } : {}),
    ...(patterns(values.branches) ? { branches: patterns(values.branches) } : {}),
    ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
    ...(typeof values['expires-at'] === 'string' ? { expiresAt: values['expires-at'] } : {}),
  });
  printResult(values.json, { token, info }, () => [token, `(token ${info.id} for ${info.name}, role ${info.role}; shown once, only its hash is stored)`]);
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseCommand('token list', args, rootOption, []);
  const { listTokens } = await import('../../server/index.js');
  const tokens = await listTokens(rootOf(values, 'list'));
  printResult(values.json, { tokens }, () => table(tokens.map((t) => ({
    id: t.id, name: t.name, role: t.role, datasets: t.datasets.join(','), branches: t.branches.join(','), tenant: t.tenant ?? '', expires: t.expiresAt ?? '', revoked: t.revokedAt ?? '',
  }))));
  return 0;
}

async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('token revoke', args, rootOption, ['id-or-name']);
  const { revokeToken } = await import('../../server/index.js');
  const revoked = await revokeToken(rootOf(values, 'revoke'), positionals[0]);
  printResult(values.json, { revoked }, () => `revoked ${revoked.map((t) => `${t.id} (${t.name})`).join(', ')}`);
  return 0;
}

export const tokenCommand: Command = {
  summary: 'create, list or revoke the server\'s access tokens under a root',
  usage: [
    'usage: quiver token create <name> --root DIR|URL [--role read|write|admin] [--datasets PATTERNS] [--branches PATTERNS] [--tenant ID] [--expires-at ISO-TIME] [--json]',
    '       quiver token list --root DIR|URL [--json]',
    '       quiver token revoke <id-or-name> --root DIR|URL [--json]',
  ].join('\n'),
  examples: ['quiver token create trainer --root ./ --role read --datasets gen --branches main,ft-*', 'quiver token list --root ./ --json', 'quiver token revoke trainer --root ./'],
  run: dispatch('token', { create, list, revoke }),
};
