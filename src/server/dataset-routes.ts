// Routes over the datasets of a root: list (those the token may see), create (admin), and one
// dataset's description at a version (schema, version, row count, indexes, branch).

import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ServerContext, ServerEnv } from './app.js';
import { authorize, matchesPattern } from './auth/index.js';
import { checkDatasetName } from './root.js';
import { withDataset } from './scope.js';
import { AtQuery, DatasetPath, input, requestOf, route, wireJson, z } from './route-kit.js';

const CreateBody = z
  .object({
    name: z.string().min(1).max(128).openapi({ example: 'gen' }),
    schema: z.record(z.string(), z.string()).openapi({ example: { prompt: 'text', image: 'image', rating: 'int32?', user_id: 'text' } }),
    tenant: z.string().min(1).max(256).optional().openapi({ description: 'the tenant column: tenant tokens see and write only their rows', example: 'user_id' }),
  })
  .openapi('CreateDataset');

export function addDatasetRoutes(app: OpenAPIHono<ServerEnv>, sx: ServerContext): void {
  route(app, { method: 'get', path: '/v1/datasets', summary: 'List the datasets the token may read', ok: '{ datasets: [{ name }] }' }, async (c) => {
    const token = c.get('token');
    const names = (await sx.root.list()).filter((n) => token.datasets.some((p) => matchesPattern(p, n)));
    return c.json({ datasets: names.map((name) => ({ name })) });
  });

  route(app, { method: 'post', path: '/v1/datasets', summary: 'Create a dataset (admin)', request: { body: { required: true, content: { 'application/json': { schema: CreateBody } } } }, responses: { 201: { description: 'created' } } }, async (c) => {
    const body = input<z.infer<typeof CreateBody>>(c, 'json');
    authorize(c.get('token'), { need: 'admin', dataset: checkDatasetName(body.name) });
    const ds = await sx.root.create(body.name, body.schema, body.tenant);
    try {
      return wireJson(c, { name: body.name, version: ds.version, schema: ds.schema }, 201);
    } finally {
      await ds.close();
    }
  });

  route(app, { method: 'get', path: '/v1/datasets/{dataset}', summary: 'Describe a dataset at a version', request: { params: DatasetPath, query: AtQuery } }, async (c) => {
    const { dataset } = input<{ dataset: string }>(c, 'param');
    return withDataset(sx.pool, c.get('token'), dataset, requestOf(c, 'read'), async ({ ds, branch }) => {
      await ds.refresh();
      return wireJson(c, { name: dataset, branch, version: ds.version, schema: ds.schema, rowCount: ds.rowCount, tenantColumn: ds.tenantColumn, indexes: 'indexes' in ds ? ds.indexes : [] });
    });
  });
}
