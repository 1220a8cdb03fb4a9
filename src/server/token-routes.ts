// Admin routes over the root's tokens: create (the secret is in this one response only), list
// (never a secret or hash), revoke by id or name. Each needs an admin token; an admin token
// limited to some datasets can only hand out tokens within those patterns.

import type { OpenAPIHono } from '@hono/zod-openapi';
import { QuiverError } from '../errors.js';
import type { ServerContext, ServerEnv } from './app.js';
import { authorize, createToken, listTokens, revokeToken } from './auth/index.js';
import { input, route, z } from './route-kit.js';

const TokenBody = z
  .object({
    name: z.string().min(1).max(128),
    role: z.enum(['read', 'write', 'admin']),
    datasets: z.array(z.string().min(1).max(128)).min(1).max(64).optional(),
    branches: z.array(z.string().min(1).max(128)).min(1).max(64).optional(),
    tenant: z.string().min(1).max(256).optional(),
    expiresAt: z.string().max(64).optional().openapi({ example: '2027-01-01T00:00:00Z' }),
  })
  .openapi('CreateToken');
const IdPath = z.object({ id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' } }) });

export function addTokenRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  route(app, { method: 'get', path: '/v1/tokens', summary: 'List tokens (admin)' }, async (c) => {
    authorize(c.get('token'), { need: 'admin' });
    return c.json({ tokens: await listTokens(sx.root.store) });
  });

  route(app, { method: 'post', path: '/v1/tokens', summary: 'Create a token (admin); the secret is shown once', request: { body: { required: true, content: { 'application/json': { schema: TokenBody } } } }, responses: { 201: { description: '{ token, info }' } } }, async (c) => {
    const admin = c.get('token');
    authorize(admin, { need: 'admin' });
    const { name, ...scopes } = input<z.infer<typeof TokenBody>>(c, 'json');
    // An admin cannot grant what it lacks: a limited admin's grants stay inside its own patterns.
    if (!admin.datasets.includes('*') && (scopes.datasets ?? ['*']).some((d) => !admin.datasets.includes(d))) {
      throw new QuiverError('forbidden', `auth: token "${admin.name}" may only grant its own dataset patterns ${admin.datasets.join(', ')}`);
    }
    if (admin.tenant !== undefined && scopes.tenant !== admin.tenant) throw new QuiverError('forbidden', `auth: token "${admin.name}" may only grant tokens of tenant ${JSON.stringify(admin.tenant)}`);
    return c.json(await createToken(sx.root.store, name, scopes), 201);
  });

  route(app, { method: 'delete', path: '/v1/tokens/{id}', summary: 'Revoke a token by id, or every live token of a name (admin)', request: { params: IdPath } }, async (c) => {
    authorize(c.get('token'), { need: 'admin' });
    return c.json({ revoked: await revokeToken(sx.root.store, input<{ id: string }>(c, 'param').id) });
  });
}
