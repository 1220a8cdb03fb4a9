// The package as a user gets it: `npm pack` (its prepack builds dist/), installed from the tarball
// into an empty folder, then a plain-JS ESM script (create, append, commit, index, query) and the
// installed `quiver` binary run under plain node, no tsx. Also: the runtime dependencies are
// exactly the packages src/ imports (and their peers), so an install neither misses one nor drags in a
// dev tool.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';

const root = resolve('.');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The npm packages src/ imports, by package name. Type-only imports count too: the published
 * .d.ts files import the same names, so a user's type check needs them installed.
 */
function importedPackages(): Set<string> {
  const names = new Set<string>();
  for (const f of sources(join(root, 'src'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^'.][^']*)'|import\(\s*'([^'.][^']*)'\s*\)/gm)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('node:')) continue;
      names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  return names;
}

/** The smoke script a user might write, in plain JavaScript. */
const script = `
import * as quiver from 'quiver-db';
const ds = await quiver.create('./ds', { schema: { prompt: 'text', emb: 'emb-4', rating: 'int' } });
await ds.append([
  { prompt: 'a red car', emb: Float32Array.of(1, 0, 0, 0), rating: 5 },
  { prompt: 'a blue boat', emb: Float32Array.of(0, 1, 0, 0), rating: 2 },
  { prompt: 'a red boat', emb: Float32Array.of(0.9, 0.1, 0, 0), rating: 4 },
]);
await ds.commit('first');
await ds.createIndex('emb', { kind: 'vector' });
const rows = await ds.query('select prompt from dataset where rating >= $1 order by cosine_similarity(emb, $2) desc', [4, Float32Array.of(1, 0, 0, 0)]);
console.log(JSON.stringify(rows));
await ds.close();
`;

describe('the npm package', () => {
  it('depends at run time on exactly the packages src/ imports and their peers', () => {
    const imported = importedPackages();
    // A peer dependency (zod for @hono/zod-openapi) is the installer's to provide: ours to declare.
    const peers = [...imported].flatMap((n) => {
      const p = JSON.parse(readFileSync(join(root, 'node_modules', n, 'package.json'), 'utf8'));
      return Object.keys(p.peerDependencies ?? {}).filter((peer) => !p.peerDependenciesMeta?.[peer]?.optional);
    });
    const declared = Object.keys(pkg.dependencies).sort();
    assert.deepEqual(declared, [...new Set([...imported, ...peers])].sort(), 'package.json "dependencies" vs the imports of src/ and their peer dependencies');
  });

  it('installs from its tarball and runs a plain-JS script and the quiver binary under node', { timeout: 600_000 }, () => {
    const packDir = tempDir('quiver-pack-');
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
    assert.match(tarball, /^quiver-db-\d+\.\d+\.\d+\.tgz$/);
    const listed = execFileSync('tar', ['tzf', join(packDir, tarball)], { encoding: 'utf8' }).split('\n');
    assert.ok(listed.includes('package/dist/src/index.js') && listed.includes('package/bin/quiver.mjs'), 'dist/ and bin/ are packed');
    assert.equal(listed.filter((f) => /^package\/(src|tests|bench|demo)\//.test(f)).length, 0, 'no sources, tests, benchmarks or demo are packed');

    const app = tempDir('quiver-install-');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(packDir, tarball)], { cwd: app, stdio: ['ignore', 'inherit', 'inherit'] });

    writeFileSync(join(app, 'smoke.mjs'), script);
    const run = spawnSync(process.execPath, ['smoke.mjs'], { cwd: app, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [{ prompt: 'a red car' }, { prompt: 'a red boat' }]);

    const bin = join(app, 'node_modules/.bin/quiver');
    const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: quiver <command>/);
    const q = spawnSync(bin, ['query', './ds', 'select count(*) as n from dataset', '--json'], { cwd: app, encoding: 'utf8' });
    assert.equal(q.status, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout), { n: 3 });
  });
});
