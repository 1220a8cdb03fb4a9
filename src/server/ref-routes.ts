// Routes over refs: list, create and delete branches and tags. Creating or deleting a branch
// needs write on that branch's name; tags name versions of any branch, so changing them needs a
// write token for every branch (`branches: ['*']`). Lists show only the branches a token may read.
// Refs are the whole dataset's, so a tenant token can neither list nor change them.

import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ServerContext, ServerEnv } from './app.js';
import { authorize, matchesPattern } from './auth/index.js';
import { unscoped, withDataset } from './scope.js';
import { AtQuery, DatasetPath, input, requestOf, route, wireJson, z } from './route-kit.js';

const RefName = z.string().min(1).max(256);
const BranchBody = z.object({ name: RefName, from: RefName.optional() }).openapi('CreateBranch');
const TagBody = z.object({ name: RefName, at: RefName.optional() }).openapi('CreateTag');
const RefPath = DatasetPath.extend({ name: RefName.openapi({ param: { name: 'name', in: 'path' } }) });

const json = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });

export function addRefRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  const params = (c: Context<ServerEnv>) => input<{ dataset: string; name?: string }>(c, 'param');
  const read = (c: Context<ServerEnv>) => requestOf(c, 'read');

  route(app, { method: 'get', path: '/v1/datasets/{dataset}/branches', summary: 'Branches (those the token may read)', request: { params: DatasetPath, query: AtQuery } }, async (c) =>
    withDataset(sx.pool, c.get('token'), params(c).dataset, read(c), async (lease) => {
      const token = c.get('token');
      return c.json({ branches: (await unscoped(lease, token, 'listing branches').branches()).filter((b) => token.branches.some((p) => matchesPattern(p, b.name))) });
    }),
  );

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/branches', summary: 'Create a branch at the version read (or `from`)', request: { params: DatasetPath, query: AtQuery, ...json(BranchBody) }, responses: { 201: { description: 'created' } } }, async (c) => {
    const b = input<z.infer<typeof BranchBody>>(c, 'json');
    const { dataset } = params(c);
    authorize(c.get('token'), { need: 'write', dataset, branch: b.name });
    // `from` may be a branch (checked against the patterns) or a commit id (needs every branch).
    if (b.from !== undefined) authorize(c.get('token'), { need: 'read', dataset, branch: b.from });
    return withDataset(sx.pool, c.get('token'), dataset, read(c), async (lease) => {
      const created = await unscoped(lease, c.get('token'), 'branching').branch(b.name, b.from !== undefined ? { from: b.from } : {});
      try {
        return wireJson(c, { name: b.name, commit: created.version.id }, 201);
      } finally {
        await created.close();
      }
    });
  });

  route(app, { method: 'delete', path: '/v1/datasets/{dataset}/branches/{name}', summary: 'Delete a branch (not main)', request: { params: RefPath } }, async (c) => {
    const { dataset, name } = params(c);
    authorize(c.get('token'), { need: 'write', dataset, branch: name! });
    return withDataset(sx.pool, c.get('token'), dataset, { need: 'read' }, async (lease) => (await unscoped(lease, c.get('token'), 'deleting a branch').deleteBranch(name!), c.json({ deleted: name })));
  });

  route(app, { method: 'get', path: '/v1/datasets/{dataset}/tags', summary: 'Tags', request: { params: DatasetPath, query: AtQuery } }, async (c) =>
    withDataset(sx.pool, c.get('token'), params(c).dataset, read(c), async (lease) => c.json({ tags: await unscoped(lease, c.get('token'), 'listing tags').tags() })),
  );

  route(app, { method: 'post', path: '/v1/datasets/{dataset}/tags', summary: 'Tag the version read (or `at`)', request: { params: DatasetPath, query: AtQuery, ...json(TagBody) }, responses: { 201: { description: 'created' } } }, async (c) => {
    const b = input<z.infer<typeof TagBody>>(c, 'json');
    const { dataset } = params(c);
    authorize(c.get('token'), { need: 'write', dataset, branch: null });
    return withDataset(sx.pool, c.get('token'), dataset, read(c), async (lease) => wireJson(c, { name: b.name, commit: await unscoped(lease, c.get('token'), 'tagging').tag(b.name, b.at !== undefined ? { at: b.at } : {}) }, 201));
  });

  route(app, { method: 'delete', path: '/v1/datasets/{dataset}/tags/{name}', summary: 'Delete a tag', request: { params: RefPath } }, async (c) => {
    const { dataset, name } = params(c);
    authorize(c.get('token'), { need: 'write', dataset, branch: null });
    return withDataset(sx.pool, c.get('token'), dataset, { need: 'read' }, async (lease) => (await unscoped(lease, c.get('token'), 'deleting a tag').deleteTag(name!), c.json({ deleted: name })));
  });
}
