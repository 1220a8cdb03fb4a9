// How a UDF module travels to workers on other machines: not as the coordinator's file path but
// as a path inside a package (the nearest package.json), which each worker resolves from its own
// install, plus the module file's sha256 so a worker with another version refuses, by name.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QuiverError } from '../../../errors.js';

export interface ModuleDescriptor {
  /** The module as the coordinator loads it. */
  url: string;
  /** The package it belongs to and its path inside that package ('/'-separated). */
  package?: { name: string; subpath: string };
  /** sha256 of the module file, when it is a file. */
  sha256?: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The nearest folder at or above `dir` whose package.json has a name. */
function packageRoot(dir: string): { root: string; name: string } | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name;
      if (typeof name === 'string') return { root: d, name };
    }
    if (dirname(d) === d) return undefined;
  }
}

export function describeModule(url: string): ModuleDescriptor {
  if (!url.startsWith('file:')) return { url };
  const file = fileURLToPath(url);
  const pkg = packageRoot(dirname(file));
  return {
    url,
    ...(pkg ? { package: { name: pkg.name, subpath: relative(pkg.root, file).split(sep).join('/') } } : {}),
    ...(existsSync(file) ? { sha256: sha256(readFileSync(file)) } : {}),
  };
}

/** Where this install has the package: the project at or above `cwd` itself, or its node_modules. */
function packageDirs(name: string, cwd: string): string[] {
  const dirs: string[] = [];
  const own = packageRoot(cwd);
  if (own?.name === name) dirs.push(own.root);
  try {
    dirs.push(dirname(createRequire(join(cwd, 'noop.js')).resolve(`${name}/package.json`)));
  } catch {
    dirs.push(join(cwd, 'node_modules', name));
  }
  return dirs;
}

/**
 * The URL this worker loads a module from. Throws `udf_failed` naming the worker when no
 * candidate exists or when the file differs from the coordinator's.
 */
export function resolveModule(d: ModuleDescriptor, cwd: string, worker: string): string {
  if (!d.url.startsWith('file:')) return d.url;
  // Inside a package: only this install's copy, never the coordinator's path (another machine's disk).
  const candidates = d.package ? packageDirs(d.package.name, cwd).map((dir) => join(dir, d.package!.subpath)) : [fileURLToPath(d.url)];
  const file = candidates.find((c) => existsSync(c));
  const what = d.package ? `${d.package.subpath} of package ${d.package.name}` : d.url;
  if (!file) {
    throw new QuiverError('udf_failed', `pipeline: worker ${worker} cannot find UDF module ${what} (tried ${[...new Set(candidates)].join(', ')})`, { worker, module: d.url });
  }
  const mine = sha256(readFileSync(file));
  if (d.sha256 && mine !== d.sha256) {
    throw new QuiverError('udf_failed', `pipeline: worker ${worker} has a different version of UDF module ${what} (${file}: sha256 ${mine.slice(0, 12)}, the coordinator's: ${d.sha256.slice(0, 12)})`, { worker, module: d.url });
  }
  return pathToFileURL(file).href;
}
