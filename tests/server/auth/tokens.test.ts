// Tokens of a root: shown once and stored only as a hash, verified against the store on every
// check (so a revocation is seen by every server on the root), refused when forged, expired or
// revoked; and the scope check over roles, dataset and branch patterns.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { authorize, createToken, listTokens, matchesPattern, revokeToken, verifyToken } from '../../../src/server/index.js';
import { isQuiverError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/tmp.js';

const rejectsWith = (code: string) => (e: unknown) => isQuiverError(e) && e.code === code;

describe('server/auth tokens', () => {
  it('makes a prefixed random token and stores only its sha256, never the secret', async () => {
    const root = tempDir('quiver-tokens-');
    const { token, info } = await createToken(root, 'worker-1', { role: 'write', datasets: ['gen'] });
    assert.match(token, /^qv_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const files = readdirSync(join(root, '_server', 'tokens'));
    assert.deepEqual(files, [`${info.id}.json`]);
    const stored = readFileSync(join(root, '_server', 'tokens', files[0]), 'utf8');
    assert.ok(!stored.includes(token.split('_')[2]), 'the secret is not stored');
    assert.match(stored, /"hash":"[0-9a-f]{64}"/);
    const listed = await listTokens(root);
    assert.deepEqual(listed.map((t) => [t.name, t.role, t.datasets, t.branches]), [['worker-1', 'write', ['gen'], ['*']]]);
    assert.ok(!('hash' in listed[0]));
  });

  it('verifies a genuine token and refuses a forged one with the right id', async () => {
    const root = tempDir('quiver-tokens-');
    const { token } = await createToken(root, 'a', { role: 'read' });
    assert.equal((await verifyToken(root, token)).name, 'a');
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await assert.rejects(verifyToken(root, forged), rejectsWith('unauthorized'));
    await assert.rejects(verifyToken(root, 'qv_0000000000000000_' + 'A'.repeat(43)), rejectsWith('unauthorized'));
    await assert.rejects(verifyToken(root, 'Bearer nonsense'), rejectsWith('unauthorized'));
    await assert.rejects(verifyToken(root, undefined), rejectsWith('unauthorized'));
  });

  it('refuses a token past its expiry and after revocation', async () => {
    const root = tempDir('quiver-tokens-');
    const { token } = await createToken(root, 'short', { role: 'read', expiresAt: '2030-01-01T00:00:00Z' });
    assert.equal((await verifyToken(root, token, new Date('2029-12-31T23:59:59Z'))).name, 'short');
    await assert.rejects(verifyToken(root, token, new Date('2030-01-01T00:00:00Z')), /expired/);
    const other = await createToken(root, 'gone', { role: 'admin' });
    const revoked = await revokeToken(root, 'gone');
    assert.deepEqual(revoked.map((t) => t.id), [other.info.id]);
    await assert.rejects(verifyToken(root, other.token), /revoked/);
    await assert.rejects(revokeToken(root, 'gone'), rejectsWith('not_found'));
  });

  it('checks names, roles, patterns and expiry when creating', async () => {
    const root = tempDir('quiver-tokens-');
    await assert.rejects(createToken(root, '', { role: 'read' }), rejectsWith('invalid_input'));
    await assert.rejects(createToken(root, 'x', { role: 'root' as 'read' }), rejectsWith('invalid_input'));
    await assert.rejects(createToken(root, 'x', { role: 'read', datasets: ['../*'] }), rejectsWith('invalid_input'));
    await assert.rejects(createToken(root, 'x', { role: 'read', expiresAt: 'tomorrow' }), rejectsWith('invalid_input'));
  });
});

describe('server/auth authorize', () => {
  const token = { id: '0', name: 't', role: 'write' as const, datasets: ['gen', 'team-*'], branches: ['main', 'ft-*'], createdAt: '' };

  it('allows what the role and patterns cover and forbids the rest', () => {
    authorize(token, { need: 'write', dataset: 'gen', branch: 'main' });
    authorize(token, { need: 'read', dataset: 'team-a', branch: 'ft-v12' });
    const forbidden = (a: Parameters<typeof authorize>[1]) => assert.throws(() => authorize(token, a), rejectsWith('forbidden'));
    forbidden({ need: 'admin' });
    forbidden({ need: 'read', dataset: 'other', branch: 'main' });
    forbidden({ need: 'write', dataset: 'gen', branch: 'exp' });
    forbidden({ need: 'read', dataset: 'gen', branch: null });
  });

  it('matches * as any run of characters and everything else literally', () => {
    assert.ok(matchesPattern('ft-*', 'ft-v12'));
    assert.ok(matchesPattern('*', 'a/b'));
    assert.ok(!matchesPattern('ft-*', 'xft-v1'));
    assert.ok(!matchesPattern('a.b', 'axb'), '. is literal');
  });
});
