// The web UI's files: `GET /` and `GET /<file>` answer from the built UI folder (dist/web, made by
// `npm run build:web`) with a content type by extension. Invariant: only regular files inside
// that folder are served — a path with `..`, a backslash, a NUL or an encoded slash is refused
// before the file system is touched, and the resolved path is checked to stay inside it.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Env, Hono } from 'hono';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The package's root: the nearest folder above this file holding quiver's package.json (src/server or dist/src/server). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'quiver') return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The folder `vite build` writes the UI to. */
export function defaultWebDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** The file under `root` that URL path `path` names, or null when the path may not be served. */
export function staticFileOf(root: string, path: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const parts = rel.split('/').slice(1);
  if (parts.some((p) => p === '..' || p === '.' || p === '' || p.includes('\\') || p.includes('\0'))) return null;
  const base = resolve(root);
  const file = resolve(base, ...parts);
  if (!file.startsWith(base + sep)) return null;
  return file;
}

const notBuilt = (dir: string) =>
  `quiver web ui: not built (no ${join(dir, 'index.html')}). Build it with \`npm run build:web\` (or \`npm run build\`) and reload.\n`;

async function answer(c: Context, root: string): Promise<Response> {
  const file = staticFileOf(root, c.req.path);
  if (file === null) return c.text('web ui: no such file\n', 404);
  if (!existsSync(join(root, 'index.html'))) return c.text(notBuilt(root), 404);
  let st;
  try {
    st = statSync(file);
  } catch {
    return c.text('web ui: no such file\n', 404);
  }
  if (!st.isFile()) return c.text('web ui: no such file\n', 404);
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  // Built assets carry a content hash in their name; index.html must be re-read after a rebuild.
  const cache = c.req.path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  return new Response(new Uint8Array(await readFile(file)), { headers: { 'content-type': type, 'cache-control': cache } });
}

/**
 * Serves the built UI at `/`: `index.html` at `/`, other files by name. Registered after the API
 * routes: Hono answers with the first route that matches, so these never shadow them.
 */
export function addStaticRoutes<E extends Env>(app: Hono<E>, root: string = defaultWebDir()): void {
  app.get('/', (c) => answer(c, root));
  app.get('/:file{[^/]+}', (c) => answer(c, root));
  app.get('/assets/*', (c) => answer(c, root));
}
