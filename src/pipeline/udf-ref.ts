// How a UDF is named so that another thread or process can load it: a `{ module, export }`
// reference. A function or class passed directly is located through V8's inspector (the
// function's source script) and verified by identity against that module's exports.
// Invariant: a module reference resolved here names an export whose value is the caller's UDF.

import * as inspector from 'node:inspector';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { QuiverError } from '../errors.js';

/** A UDF given by location: `module` is a file URL (`import.meta.url`) or a path; `export` a named export. */
export interface UdfModuleRef {
  module: string;
  export: string;
}

/** A UDF: a function, a class with a `call(batch)` method, or a module reference to either. */
export type Udf = ((...args: never[]) => unknown) | (abstract new (...args: never[]) => unknown) | UdfModuleRef;

/** How a plan names a UDF: a loadable module export, or an in-process value (inline backend only). */
export type UdfPlanRef = { kind: 'module'; module: string; export: string } | { kind: 'inline'; name: string };

export function isModuleRef(u: unknown): u is UdfModuleRef {
  return typeof u === 'object' && u !== null && typeof (u as UdfModuleRef).module === 'string' && typeof (u as UdfModuleRef).export === 'string';
}

/** A class (as opposed to a plain or arrow function): its source starts with `class`. */
export function isClass(v: unknown): v is new (...args: unknown[]) => unknown {
  return typeof v === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

export function udfName(u: unknown): string {
  if (isModuleRef(u)) return u.export;
  if (typeof u === 'function' && u.name) return u.name;
  return 'udf';
}

/** Normalises a module string (URL or path, relative to the working directory) to a file URL. */
export function moduleUrl(module: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

const located = new WeakMap<object, UdfModuleRef>();

/** The module file a function's source comes from, via the in-process inspector (synchronous). */
function scriptUrlOf(fn: object): string | undefined {
  const session = new inspector.Session();
  session.connect();
  const g = globalThis as Record<string, unknown>;
  const key = '__quiverLocateProbe';
  try {
    const urls = new Map<string, string>();
    session.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));
    g[key] = fn;
    let objectId: string | undefined;
    session.post('Runtime.evaluate', { expression: `globalThis.${key}` }, (_e, r) => (objectId = r?.result.objectId));
    let scriptId: string | undefined;
    session.post('Runtime.getProperties', { objectId: objectId! }, (_e, r) => {
      const loc = r?.internalProperties?.find((p) => p.name === '[[FunctionLocation]]');
      scriptId = (loc?.value?.value as { scriptId?: string } | undefined)?.scriptId;
    });
    // Enabling the debugger replays scriptParsed for every loaded script, synchronously.
    session.post('Debugger.enable', () => undefined);
    session.post('Debugger.disable', () => undefined);
    return scriptId === undefined ? undefined : urls.get(scriptId);
  } finally {
    delete g[key];
    session.disconnect();
  }
}

/** True when a module URL is the program's entry script: loading it elsewhere would re-run the program. */
function isEntryModule(url: string): boolean {
  const entry = process.argv[1];
  if (!entry || !url.startsWith('file:')) return false;
  const path = fileURLToPath(url);
  return path === resolve(entry) || path.replace(/\.[cm]?[jt]s$/, '') === resolve(entry).replace(/\.[cm]?[jt]s$/, '');
}

/**
 * Finds the `{ module, export }` for a function or class passed directly. Throws `invalid_input`
 * when it is not a named export of a module other than the entry script.
 */
export async function locateUdf(fn: object): Promise<UdfModuleRef> {
  const hit = located.get(fn);
  if (hit) return hit;
  const name = (fn as { name?: string }).name || 'the UDF';
  const raw = scriptUrlOf(fn);
  const hint = `pass { module: import.meta.url, export: '${name}' } from the module that exports it`;
  if (!raw || !/^(file:|\/)/.test(raw)) {
    throw new QuiverError('invalid_input', `pipeline: cannot locate the module of ${name}; ${hint}`, { udf: name });
  }
  const url = moduleUrl(raw.replace(/\?.*$/, ''));
  if (isEntryModule(url)) {
    throw new QuiverError('invalid_input', `pipeline: ${name} is defined in the entry script, which other processes cannot load without re-running it; move it to its own module`, { udf: name, module: url });
  }
  let exports: Record<string, unknown>;
  try {
    exports = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new QuiverError('invalid_input', `pipeline: cannot load the module of ${name} (${url}); ${hint}`, { udf: name, module: url }, { cause: e });
  }
  const exportName = Object.keys(exports).find((k) => exports[k] === fn) ?? (exports.default === fn ? 'default' : undefined);
  if (!exportName) {
    throw new QuiverError('invalid_input', `pipeline: ${name} is not exported by ${url}; export it, or ${hint}`, { udf: name, module: url });
  }
  const ref = { module: url, export: exportName };
  located.set(fn, ref);
  return ref;
}

/** Loads a module reference's export. Throws `udf_failed` when the module or the export is missing. */
export async function loadUdf(ref: UdfModuleRef): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl(ref.module))) as Record<string, unknown>;
  } catch (e) {
    throw new QuiverError('udf_failed', `pipeline: cannot load UDF module ${ref.module}: ${(e as Error).message}`, { module: ref.module }, { cause: e });
  }
  const v = mod[ref.export];
  if (typeof v !== 'function') {
    throw new QuiverError('udf_failed', `pipeline: module ${ref.module} has no function or class export "${ref.export}"`, { module: ref.module, export: ref.export });
  }
  return v;
}
